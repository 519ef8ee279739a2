package b2

import (
	"testing"

	"github.com/coffer-project/coffer/services/errs"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		path string
		want Route
		kind errs.Kind // for refusals
	}{
		{"/b2api/v1/b2_authorize_account", Route{Kind: KindAPI, Version: 1, Call: "b2_authorize_account"}, 0},
		{"/b2api/v4/b2_list_buckets", Route{Kind: KindAPI, Version: 4, Call: "b2_list_buckets"}, 0},
		{"/b2api/v2/b2_download_file_by_id", Route{Kind: KindAPI, Version: 2, Call: "b2_download_file_by_id"}, 0},
		{"/b2api/v3/b2_upload_file/0123456789abcdef01234567/abc", Route{Kind: KindUpload, Version: 3, Call: "b2_upload_file", Target: "0123456789abcdef01234567"}, 0},
		{"/b2api/v2/b2_upload_file/bucket", Route{Kind: KindUpload, Version: 2, Call: "b2_upload_file", Target: "bucket"}, 0},
		{"/b2api/v2/b2_upload_part/4_zabc_f1/n", Route{Kind: KindUploadPart, Version: 2, Call: "b2_upload_part", Target: "4_zabc_f1"}, 0},
		{"/file/bucket/a/b.txt", Route{Kind: KindDownload, Version: 4, Call: "b2_download_file_by_name", Bucket: "bucket", Name: "a/b.txt"}, 0},
		// Names are decoded once, '+' as a space (as blazer encodes them),
		// %2B as '+'; slashes and dots are kept.
		{"/file/bucket/a%20b+c%2Fd%2B", Route{Kind: KindDownload, Version: 4, Call: "b2_download_file_by_name", Bucket: "bucket", Name: "a b c/d+"}, 0},
		{"/file/bucket/a//../b", Route{Kind: KindDownload, Version: 4, Call: "b2_download_file_by_name", Bucket: "bucket", Name: "a//../b"}, 0},
		{"/file/bucket/%C3%A4", Route{Kind: KindDownload, Version: 4, Call: "b2_download_file_by_name", Bucket: "bucket", Name: "ä"}, 0},
		{"/file/bucket/%zz", Route{}, errs.InvalidArgument},
		{"/file/bucket", Route{}, errs.ObjectNotFound},
		{"/file/bucket/", Route{}, errs.ObjectNotFound},
		{"/file//name", Route{}, errs.ObjectNotFound},
		{"/b2api/v5/b2_list_buckets", Route{}, errs.ObjectNotFound},
		{"/b2api/v0/b2_list_buckets", Route{}, errs.ObjectNotFound},
		{"/b2api/vx/b2_list_buckets", Route{}, errs.ObjectNotFound},
		{"/b2api/v10/b2_list_buckets", Route{}, errs.ObjectNotFound},
		{"/b2api/v2/", Route{}, errs.ObjectNotFound},
		{"/b2api/v2/list_buckets", Route{}, errs.ObjectNotFound},
		{"/b2api/v2/b2_list_buckets/extra", Route{}, errs.ObjectNotFound},
		{"/b2api/v2/b2_upload_file", Route{}, errs.ObjectNotFound},
		{"/b2api/v2/b2_upload_file//n", Route{}, errs.ObjectNotFound},
		{"/b2api/v2/b2_upload_file/a/b/c", Route{}, errs.ObjectNotFound},
		{"/other", Route{}, errs.ObjectNotFound},
	}
	for _, tt := range tests {
		got, err := Classify(tt.path)
		if tt.kind != 0 {
			if !errs.Is(err, tt.kind) {
				t.Errorf("Classify(%q) = %+v, %v; want %v", tt.path, got, err, tt.kind)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Classify(%q) = %+v, %v; want %+v", tt.path, got, err, tt.want)
		}
	}
}

// TestCallTable checks that every call is reachable where it is served and
// that JSON calls take POST and GET.
func TestCallTable(t *testing.T) {
	for name, spec := range calls {
		if spec.kind == KindAPI && (!spec.allows("POST") || !spec.allows("GET") && name != "b2_download_file_by_id") {
			t.Errorf("%s: JSON calls accept POST and GET", name)
		}
		if spec.kind == KindUpload && name != "b2_upload_file" || spec.kind == KindUploadPart && name != "b2_upload_part" {
			t.Errorf("%s: wrong kind", name)
		}
	}
	for _, name := range []string{"b2_authorize_account", "b2_copy_file", "b2_copy_part", "b2_update_file_retention", "b2_list_keys"} {
		if calls[name].handler == nil {
			t.Errorf("%s has no handler", name)
		}
	}
}
