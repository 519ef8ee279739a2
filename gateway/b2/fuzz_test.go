package b2

import (
	"sort"
	"strings"
	"testing"

	"github.com/coffer-project/coffer/services/errs"
)

// requestTypes builds the parameters of every JSON call that takes any
// (b2_authorize_account takes Basic credentials only).
var requestTypes = map[string]func() request{
	"b2_create_bucket":               func() request { return &createBucketRequest{} },
	"b2_update_bucket":               func() request { return &updateBucketRequest{} },
	"b2_list_buckets":                func() request { return &listBucketsRequest{} },
	"b2_delete_bucket":               func() request { return &deleteBucketRequest{} },
	"b2_get_upload_url":              func() request { return &getUploadURLRequest{} },
	"b2_list_file_names":             func() request { return &listFileNamesRequest{} },
	"b2_list_file_versions":          func() request { return &listFileVersionsRequest{} },
	"b2_get_file_info":               func() request { return &getFileInfoRequest{} },
	"b2_hide_file":                   func() request { return &hideFileRequest{} },
	"b2_delete_file_version":         func() request { return &deleteFileVersionRequest{} },
	"b2_copy_file":                   func() request { return &copyFileRequest{} },
	"b2_download_file_by_id":         func() request { return &downloadByIDRequest{} },
	"b2_start_large_file":            func() request { return &startLargeFileRequest{} },
	"b2_get_upload_part_url":         func() request { return &fileIDRequest{} },
	"b2_copy_part":                   func() request { return &copyPartRequest{} },
	"b2_list_parts":                  func() request { return &listPartsRequest{} },
	"b2_finish_large_file":           func() request { return &finishLargeFileRequest{} },
	"b2_cancel_large_file":           func() request { return &fileIDRequest{} },
	"b2_list_unfinished_large_files": func() request { return &listUnfinishedRequest{} },
	"b2_create_key":                  func() request { return &createKeyRequest{} },
	"b2_list_keys":                   func() request { return &listKeysRequest{} },
	"b2_delete_key":                  func() request { return &deleteKeyRequest{} },
	"b2_get_download_authorization":  func() request { return &getDownloadAuthorizationRequest{} },
	"b2_update_file_retention":       func() request { return &updateFileRetentionRequest{} },
	"b2_update_file_legal_hold":      func() request { return &updateFileLegalHoldRequest{} },
}

// TestEveryCallHasARequestType keeps requestTypes (and so the fuzz target)
// in step with the call table.
func TestEveryCallHasARequestType(t *testing.T) {
	for name, spec := range calls {
		if spec.kind != KindAPI || spec.handler == nil || name == "b2_authorize_account" {
			continue
		}
		if _, ok := requestTypes[name]; !ok {
			t.Errorf("%s has no entry in requestTypes", name)
		}
	}
}

var fuzzCalls = func() []string {
	var names []string
	for n := range requestTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}()

func callIndex(name string) uint8 {
	for i, n := range fuzzCalls {
		if n == name {
			return uint8(i)
		}
	}
	panic(name)
}

// checkRefusal asserts a refused request is a client error in B2's terms:
// a domain error that renders as 4xx with a code and a message.
func checkRefusal(t *testing.T, call string, err error) {
	t.Helper()
	if errs.As(err) == nil {
		t.Fatalf("%s: refusal is not a domain error: %v", call, err)
	}
	ae := toAPIError(call, err)
	if ae.Status < 400 || ae.Status >= 500 || ae.Code == "" || ae.Message == "" {
		t.Fatalf("%s: refusal renders as %+v (%v)", call, ae, err)
	}
}

// FuzzB2RequestJSON feeds arbitrary bodies (and the same bytes as a GET
// query string) to every call's parameter parsing, exactly as handlers run
// it before asking any other role (spec/reliability.md §8): wrong types,
// huge numbers, duplicate keys, unknown fields, deep nesting. It must never
// panic, and every refusal must be a 4xx B2 error — never a 5xx, which
// clients would retry.
func FuzzB2RequestJSON(f *testing.F) {
	bucket := "0123456789abcdef01234567"
	file := "4_z" + bucket + "_f1000000000000001_d20250101_m120000_c001_v0001001_t0001"
	seeds := map[string][]string{
		"b2_create_bucket": {
			`{"accountId":"a","bucketName":"my-bucket","bucketType":"allPrivate","bucketInfo":{"Cache-Control":"max-age=1"},` +
				`"lifecycleRules":[{"fileNamePrefix":"logs/","daysFromUploadingToHiding":1}],"fileLockEnabled":true,` +
				`"defaultRetention":{"mode":"governance","period":{"duration":1,"unit":"days"}},` +
				`"corsRules":[{"corsRuleName":"rule-one","allowedOrigins":["*"],"allowedOperations":["s3_get"],"maxAgeSeconds":5}]}`,
			`{"accountId":"a","bucketName":"x","bucketType":"allPrivate","accountId":"b"}`,
			`{"accountId":"a","bucketName":"my-bucket","bucketType":"allPrivate","lifecycleRules":[{"fileNamePrefix":"","daysFromHidingToDeleting":1e999}]}`,
		},
		"b2_update_bucket": {
			`{"accountId":"a","bucketId":"` + bucket + `","ifRevisionIs":3,"bucketType":"allPublic","defaultServerSideEncryption":{"mode":"SSE-B2","algorithm":"AES256"}}`,
			`{"accountId":"a","bucketId":"b","replicationConfiguration":{"asReplicationSource":{}}}`,
			`{"accountId":"a","bucketId":"b","ifRevisionIs":-1,"bucketInfo":{"b2-x":"y"}}`,
		},
		"b2_list_buckets":       {`{"accountId":"a","bucketTypes":["all"]}`, `{"accountId":"a","bucketTypes":"all"}`},
		"b2_list_file_names":    {`{"bucketId":"b","maxFileCount":99999999999999999999,"prefix":"\ud800"}`, `{"bucketId":"b","maxFileCount":"1"}`},
		"b2_list_file_versions": {`{"bucketId":"` + bucket + `","startFileName":"a","startFileId":"` + file + `","maxFileCount":0}`},
		"b2_copy_file": {
			`{"sourceFileId":"` + file + `","fileName":"n","metadataDirective":"REPLACE","contentType":"text/plain","fileInfo":{"k":"v"},` +
				`"range":"bytes=0-1","destinationServerSideEncryption":{"mode":"SSE-C","algorithm":"AES256","customerKey":"AAAA"}}`,
		},
		"b2_copy_part":         {`{"sourceFileId":"s","largeFileId":"l","partNumber":10001}`},
		"b2_start_large_file":  {`{"bucketId":"b","fileName":"n","contentType":"b2/x-auto","fileInfo":{"large_file_sha1":"x"},"legalHold":"on","fileRetention":{"mode":"compliance","retainUntilTimestamp":1}}`},
		"b2_finish_large_file": {`{"fileId":"f","partSha1Array":["` + strings.Repeat("a", 40) + `",7]}`},
		"b2_create_key": {
			`{"accountId":"a","capabilities":["listFiles"],"keyName":"k","validDurationInSeconds":86400001,"bucketId":"b","bucketIds":["c"]}`,
			`{"accountId":"a","capabilities":["listFiles"],"capabilities":["writeKeys"],"keyName":"k"}`,
		},
		"b2_get_download_authorization": {`{"bucketId":"b","fileNamePrefix":"","validDurationInSeconds":604801}`},
		"b2_update_file_retention":      {`{"fileName":"n","fileId":"f","fileRetention":{"mode":null,"retainUntilTimestamp":5}}`},
		"b2_update_file_legal_hold":     {`{"fileName":"n","fileId":"f","legalHold":true}`},
	}
	for call, bodies := range seeds {
		for _, b := range bodies {
			f.Add(callIndex(call), []byte(b))
		}
	}
	for i := range fuzzCalls {
		f.Add(uint8(i), []byte(`{}`))
		f.Add(uint8(i), []byte(`{"x":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`))
		f.Add(uint8(i), []byte(`bucketId=b&maxFileCount=5&fileId=f`))
	}
	f.Fuzz(func(t *testing.T, call uint8, body []byte) {
		name := fuzzCalls[int(call)%len(fuzzCalls)]
		if err := parseRequest(body, requestTypes[name]()); err != nil {
			checkRefusal(t, name, err)
		}
		q := requestTypes[name]()
		data, err := queryJSON(string(body), q)
		if err == nil {
			err = parseRequest(data, q)
		}
		if err != nil {
			checkRefusal(t, name, err)
		}
	})
}
