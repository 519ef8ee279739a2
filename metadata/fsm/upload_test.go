package fsm

import (
	"fmt"
	"testing"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// Hex MD5s of "aaaaa", "bb" and "" (golden values, computed elsewhere).
const (
	md5A     = "594f803b380a41396ed63dca39503542"
	md5B     = "21ad0bd836b90d08f4cf640b4c298e7c"
	md5Empty = "d41d8cd98f00b204e9800998ecf8427e"
)

func cmdPart(bucket, upload string, n int32, blob, md5 string, size int64) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_CommitPart{CommitPart: &fsmv1.CommitPart{BucketId: bucket, Part: &metadatav1.Part{
		UploadId: upload, PartNumber: n,
		Segment: &metadatav1.Segment{Size: size, Md5: md5, Sha1: fmt.Sprintf("%040d", n), Placement: &metadatav1.BlobPlacement{BlobId: blob, DataShards: 1}},
	}}}}
}

func cmdComplete(bucket, upload string, minPart int64, parts ...*metadatav1.PartRef) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_CompleteUpload{CompleteUpload: &fsmv1.CompleteUpload{BucketId: bucket, Request: &metadatav1.CompleteUploadRequest{
		UploadId: upload, Parts: parts, MinPartSize: minPart,
	}}}}
}

func cmdAbort(bucket, upload string) *fsmv1.Command {
	return &fsmv1.Command{Op: &fsmv1.Command_AbortUpload{AbortUpload: &fsmv1.AbortUpload{BucketId: bucket, UploadId: upload}}}
}

func crc(v string) *metadatav1.Checksum {
	return &metadatav1.Checksum{Algorithm: metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32, Value: v}
}

func ref(n int32, md5 string) *metadatav1.PartRef {
	return &metadatav1.PartRef{PartNumber: n, Md5: md5}
}

// uploadFixture is fixture plus upload vS1 of "s" with parts 1 (blob-p1,
// 5 bytes), 2 (blob-p2, 2 bytes) and 3 (blob-p3, 0 bytes, CRC32 AAAAAQ==), and upload vU1
// of "a" (which has a current version) with part 1.
func uploadFixture(t *testing.T) *harness {
	h := fixture(t)
	h.must(cmdPart(bkt, "vS1", 1, "blob-p1", md5A, 5))
	h.must(cmdPart(bkt, "vS1", 2, "blob-p2", md5B, 2))
	p3 := cmdPart(bkt, "vS1", 3, "blob-p3", md5Empty, 0)
	p3.GetCommitPart().Part.Segment.Checksums = []*metadatav1.Checksum{crc("AAAAAQ==")}
	h.must(p3)
	h.must(cmdStart(bkt, "a", "vU1"))
	h.must(cmdPart(bkt, "vU1", 1, "blob-u1", md5A, 5))
	return h
}

func referenced(r *Reader, blobs ...string) []string { return r.BlobsReferenced(blobs) }

func TestUploadCommands(t *testing.T) {
	type check func(t *testing.T, res *Result, r *Reader)
	uploads := func(want ...string) check {
		return func(t *testing.T, _ *Result, r *Reader) {
			resp, err := r.ListUploads(&metadatav1.ListUploadsRequest{BucketId: bkt, PageSize: 100})
			var got []string
			for _, u := range resp.GetUploads() {
				got = append(got, u.VersionId)
			}
			if err != nil || !equalStrings(got, want) {
				t.Fatalf("uploads = %v, %v; want %v", got, err, want)
			}
		}
	}
	withLock := func(c *fsmv1.Command, mode metadatav1.RetentionMode, until int64, hold metadatav1.LegalHold) *fsmv1.Command {
		u := c.GetStartUpload().Upload
		u.Retention, u.LegalHold = &metadatav1.Retention{Mode: mode, RetainUntilUnixMillis: until}, hold
		c.RequestTimeUnixNanos = 1e15
		return c
	}
	cases := []struct {
		name  string
		cmd   *fsmv1.Command
		want  errs.Kind
		check check
	}{
		{"start", cmdStart(bkt, "n", "vN1"), 0, uploads("vU1", "vN1", "vS1")},
		{"start: bucket missing", cmdStart("nope", "n", "vN1"), errs.BucketNotFound, nil},
		{"start: id taken", cmdStart(bkt, "n", "vA1"), errs.Conflict, nil},
		{"start: retention needs file lock", withLock(cmdStart(empty, "n", "vN1"), modeGovernance, 2e9, 0), errs.InvalidRequest, nil},
		{"start: retention in the past", withLock(cmdStart(bkt, "n", "vN1"), modeGovernance, 1e8, 0), errs.InvalidArgument, nil},
		{"start: with retention and hold", withLock(cmdStart(bkt, "n", "vN1"), modeCompliance, 2e9, metadatav1.LegalHold_LEGAL_HOLD_ON), 0, func(t *testing.T, res *Result, r *Reader) {
			if res.Version.GetRetention().GetMode() != modeCompliance || res.Version.LegalHold != metadatav1.LegalHold_LEGAL_HOLD_ON {
				t.Fatalf("upload = %v", res.Version)
			}
		}},
		{"part: new", cmdPart(bkt, "vS1", 4, "blob-p4", md5A, 5), 0, func(t *testing.T, res *Result, r *Reader) {
			if res.Part.PartNumber != 4 || res.Part.Segment.PartNumber != 4 || res.Replaced != nil || res.Part.CreateIndex == 0 {
				t.Fatalf("result %v", res)
			}
			if got := referenced(r, "blob-p4"); len(got) != 1 {
				t.Fatal("new part's blob not referenced")
			}
		}},
		{"part: replace", cmdPart(bkt, "vS1", 2, "blob-p2b", md5A, 5), 0, func(t *testing.T, res *Result, r *Reader) {
			if res.Replaced.GetSegment().GetPlacement().GetBlobId() != "blob-p2" {
				t.Fatalf("replaced %v", res.Replaced)
			}
			if got := referenced(r, "blob-p2", "blob-p2b"); !equalStrings(got, []string{"blob-p2b"}) {
				t.Fatalf("referenced %v", got)
			}
			parts, next, err := r.ListParts(bkt, "vS1", 0, 10)
			if err != nil || len(parts) != 3 || next != 0 || parts[1].Segment.Md5 != md5A {
				t.Fatalf("parts %v %d %v", parts, next, err)
			}
		}},
		{"part: replace with the same blob keeps it referenced", cmdPart(bkt, "vS1", 2, "blob-p2", md5B, 2), 0, func(t *testing.T, res *Result, r *Reader) {
			if got := referenced(r, "blob-p2"); len(got) != 1 {
				t.Fatal("blob lost its reference")
			}
		}},
		{"part: no such upload", cmdPart(bkt, "vX", 1, "b", md5A, 1), errs.UploadNotFound, nil},
		{"part: a finished version is no upload", cmdPart(bkt, "vA1", 1, "b", md5A, 1), errs.UploadNotFound, nil},
		{"part: bucket missing", cmdPart("nope", "vS1", 1, "b", md5A, 1), errs.UploadNotFound, nil},
		{"part: number 0", cmdPart(bkt, "vS1", 0, "b", md5A, 1), errs.InvalidArgument, nil},
		{"part: number 10001", cmdPart(bkt, "vS1", 10001, "b", md5A, 1), errs.InvalidArgument, nil},
		{"complete a subset", cmdComplete(bkt, "vS1", 2, ref(1, `"`+md5A+`"`), ref(3, "")), 0, func(t *testing.T, res *Result, r *Reader) {
			v := res.Version
			if v.VersionId != "vS1" || v.Action != metadatav1.VersionAction_VERSION_ACTION_UPLOAD || !v.IsLatest || v.Size != 5 ||
				len(v.Segments) != 2 || v.Segments[0].PartNumber != 1 || v.Segments[1].PartNumber != 3 || v.ContentSha1 != "none" {
				t.Fatalf("version %v", v)
			}
			if len(res.Parts) != 1 || res.Parts[0].PartNumber != 2 {
				t.Fatalf("discarded %v", res.Parts)
			}
			if got := referenced(r, "blob-p1", "blob-p2", "blob-p3"); !equalStrings(got, []string{"blob-p1", "blob-p3"}) {
				t.Fatalf("referenced %v", got)
			}
			cur, err := r.Object(bkt, "s")
			if err != nil || cur.VersionId != "vS1" {
				t.Fatalf("current %v %v", cur, err)
			}
			if _, err := r.Upload(bkt, "vS1"); errs.KindOf(err) != errs.UploadNotFound {
				t.Fatalf("upload after completion: %v", err)
			}
			if _, _, err := r.ListParts(bkt, "vS1", 0, 10); errs.KindOf(err) != errs.UploadNotFound {
				t.Fatalf("parts after completion: %v", err)
			}
			uploads("vU1")(t, res, r)
			pl, err := r.Placement("blob-p3")
			if err != nil || pl.GetBlobId() != "blob-p3" {
				t.Fatalf("placement %v %v", pl, err)
			}
		}},
		{"complete becomes current over a version committed meanwhile", cmdComplete(bkt, "vU1", 0, ref(1, md5A)), 0, func(t *testing.T, res *Result, r *Reader) {
			cur, err := r.Object(bkt, "a")
			if err != nil || cur.VersionId != "vU1" {
				t.Fatalf("current %v %v", cur, err)
			}
			resp, _ := r.ListObjectVersions(&metadatav1.ListObjectVersionsRequest{BucketId: bkt, Prefix: "a", PageSize: 10})
			if len(resp.Versions) != 2 || resp.Versions[0].VersionId != "vU1" || !resp.Versions[0].IsLatest || resp.Versions[1].VersionId != "vA1" {
				t.Fatalf("versions %v", resp.Versions)
			}
		}},
		{"complete: a checksum the part lacks is not compared", cmdComplete(bkt, "vU1", 0, &metadatav1.PartRef{PartNumber: 1, Checksums: []*metadatav1.Checksum{crc("AAAAAA==")}}), 0, nil},
		{"complete: checksum mismatch", cmdComplete(bkt, "vS1", 0, &metadatav1.PartRef{PartNumber: 3, Checksums: []*metadatav1.Checksum{crc("AAAAAA==")}}), errs.InvalidPart, nil},
		{"complete: checksum matches", cmdComplete(bkt, "vS1", 0, &metadatav1.PartRef{PartNumber: 3, Checksums: []*metadatav1.Checksum{crc("AAAAAQ==")}}), 0, nil},
		{"complete: part too small", cmdComplete(bkt, "vS1", 5, ref(1, ""), ref(2, ""), ref(3, "")), errs.EntityTooSmall, nil},
		{"complete: only the last part may be small", cmdComplete(bkt, "vS1", 5, ref(1, ""), ref(2, "")), 0, nil},
		{"complete: no parts", cmdComplete(bkt, "vS1", 0), errs.InvalidArgument, nil},
		{"complete: if-none-match on an existing key", func() *fsmv1.Command {
			c := cmdComplete(bkt, "vU1", 0, ref(1, ""))
			c.GetCompleteUpload().Request.Precondition = &metadatav1.Precondition{IfNoneMatchAny: true}
			return c
		}(), errs.PreconditionFailed, nil},
		{"complete: no such upload", cmdComplete(bkt, "vA1", 0, ref(1, "")), errs.UploadNotFound, nil},
		{"abort", cmdAbort(bkt, "vS1"), 0, func(t *testing.T, res *Result, r *Reader) {
			if res.Version.VersionId != "vS1" || len(res.Parts) != 3 {
				t.Fatalf("result %v", res)
			}
			if got := referenced(r, "blob-p1", "blob-p2", "blob-p3"); len(got) != 0 {
				t.Fatalf("still referenced %v", got)
			}
			if _, err := r.Version(bkt, "", "vS1"); errs.KindOf(err) != errs.VersionNotFound {
				t.Fatalf("version after abort: %v", err)
			}
			uploads("vU1")(t, res, r)
		}},
		{"abort: unknown", cmdAbort(bkt, "vA1"), errs.UploadNotFound, nil},
		{"delete the START version aborts", cmdDeleteVersion(bkt, "s", "vS1"), 0, func(t *testing.T, res *Result, r *Reader) {
			if len(res.Parts) != 3 || len(referenced(r, "blob-p1")) != 0 {
				t.Fatalf("result %v", res)
			}
			uploads("vU1")(t, res, r)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := uploadFixture(t)
			before := h.digest()
			res := h.apply(tc.cmd)
			if got := errs.KindOf(res.Err); tc.want != 0 && got != tc.want || tc.want == 0 && res.Err != nil {
				t.Fatalf("result error %v (kind %v), want kind %v", res.Err, got, tc.want)
			}
			if tc.want != 0 {
				if !equalDigests(before, h.digest()) {
					t.Fatal("a refused command changed the state")
				}
				return
			}
			if tc.check != nil {
				h.view(func(r *Reader) error { tc.check(t, res, r); return nil })
			}
		})
	}
}

// TestInvalidPartDetails: the B2 front-end tells missing_part from
// part_sha1_mismatch by the reason detail.
func TestInvalidPartDetails(t *testing.T) {
	h := uploadFixture(t)
	for reason, c := range map[string]*fsmv1.Command{
		"missing":       cmdComplete(bkt, "vS1", 0, ref(1, ""), ref(4, "")),
		"md5_mismatch":  cmdComplete(bkt, "vS1", 0, ref(1, md5B)),
		"sha1_mismatch": cmdComplete(bkt, "vS1", 0, &metadatav1.PartRef{PartNumber: 2, Sha1: "ff"}),
	} {
		e := errs.As(h.apply(c).Err)
		if e == nil || e.Kind != errs.InvalidPart || e.Details["reason"] != reason {
			t.Errorf("%s: %v", reason, e)
		}
	}
}

func TestMultipartETagGolden(t *testing.T) {
	part := func(md5 string) *metadatav1.Part { return &metadatav1.Part{Segment: &metadatav1.Segment{Md5: md5}} }
	if got, want := MultipartETag([]*metadatav1.Part{part(md5A), part(md5B), part(md5Empty)}), "1964ea9f74b8e6fbe2727de50e0d7ee3-3"; got != want {
		t.Errorf("three parts: %s, want %s", got, want)
	}
	if got, want := MultipartETag([]*metadatav1.Part{part(`"` + md5A + `"`)}), "3f39a134e77e08c106b9726a8ae7cc0c-1"; got != want {
		t.Errorf("one part: %s, want %s", got, want)
	}
	h := uploadFixture(t)
	res := h.must(cmdComplete(bkt, "vS1", 0, ref(1, ""), ref(2, ""), ref(3, "")))
	if res.Version.Etag != "1964ea9f74b8e6fbe2727de50e0d7ee3-3" {
		t.Errorf("completed etag %s", res.Version.Etag)
	}
}

// TestCompleteKeepsStartAttributes: what a completed upload keeps from its
// start (times, info, lock) and what it gets (commit time, SHA-1 info).
func TestCompleteKeepsStartAttributes(t *testing.T) {
	h := fixture(t)
	start := cmdStart(bkt, "big", "vBig")
	start.RequestTimeUnixNanos = 1_000_000_000_000
	u := start.GetStartUpload().Upload
	u.CreateTimeUnixNanos, u.ContentType = 1_000_000_000_000, "text/plain"
	u.Info = map[string]string{"large_file_sha1": "0123456789012345678901234567890123456789", "k": "v"}
	u.Retention = &metadatav1.Retention{Mode: modeGovernance, RetainUntilUnixMillis: 5_000_000}
	u.LegalHold = metadatav1.LegalHold_LEGAL_HOLD_ON
	h.must(start)
	h.must(cmdPart(bkt, "vBig", 1, "blob-big", md5A, 5))
	c := cmdComplete(bkt, "vBig", 0, ref(1, ""))
	c.RequestTimeUnixNanos = 2_000_000_000_000
	c.GetCompleteUpload().Request.Checksums = []*metadatav1.Checksum{{Algorithm: metadatav1.ChecksumAlgorithm_CHECKSUM_ALGORITHM_CRC32, Value: "AAAAAA==-1"}}
	v := h.must(c).Version
	if v.CreateTimeUnixNanos != 1_000_000_000_000 || v.CommitTimeUnixNanos != 2_000_000_000_000 || v.ContentType != "text/plain" ||
		v.Info["k"] != "v" || v.ContentSha1 != u.Info["large_file_sha1"] || v.GetRetention().GetMode() != modeGovernance ||
		v.LegalHold != metadatav1.LegalHold_LEGAL_HOLD_ON || len(v.Checksums) != 1 {
		t.Fatalf("completed %v", v)
	}
	// The lock came along: the version cannot be deleted.
	del := cmdDeleteVersion(bkt, "big", "vBig")
	del.RequestTimeUnixNanos = 3_000_000_000_000
	if err := h.apply(del).Err; errs.KindOf(err) != errs.ObjectLocked {
		t.Fatalf("delete of a held version: %v", err)
	}
}

// TestDefaultRetention: a bucket default stamps new uploads and starts (not
// hide markers), computed from the command's stamped time.
func TestDefaultRetention(t *testing.T) {
	h := newHarness(t)
	b := cmdCreateBucket(bkt, "locked-bucket")
	b.GetCreateBucket().Bucket.FileLock = &metadatav1.FileLockConfiguration{
		Enabled: true, DefaultMode: modeCompliance, DefaultPeriod: 2, DefaultPeriodUnit: metadatav1.PeriodUnit_PERIOD_UNIT_DAYS,
	}
	h.must(b)
	const t0 = int64(1_700_000_000) * 1e9
	c := cmdCommit(bkt, "k", "v1", "e", nil)
	c.RequestTimeUnixNanos = t0
	v := h.must(c).Version
	if r := v.GetRetention(); r.GetMode() != modeCompliance || r.GetRetainUntilUnixMillis() != t0/1e6+2*86400*1000 {
		t.Fatalf("retention %v", r)
	}
	explicit := cmdCommit(bkt, "k", "v2", "e", nil)
	explicit.RequestTimeUnixNanos = t0
	explicit.GetCommitObject().Version.Retention = &metadatav1.Retention{Mode: modeGovernance, RetainUntilUnixMillis: t0/1e6 + 1000}
	if r := h.must(explicit).Version.GetRetention(); r.GetMode() != modeGovernance {
		t.Fatalf("explicit retention replaced: %v", r)
	}
	s := cmdStart(bkt, "k", "v3")
	s.RequestTimeUnixNanos = t0
	if r := h.must(s).Version.GetRetention(); r.GetMode() != modeCompliance {
		t.Fatalf("start retention %v", r)
	}
	hide := cmdHide(bkt, "k", "v4", false)
	hide.RequestTimeUnixNanos = t0
	if m := h.must(hide).Version; m.Retention != nil {
		t.Fatalf("hide marker got retention %v", m.Retention)
	}
	years := DefaultRetention(&metadatav1.FileLockConfiguration{Enabled: true, DefaultMode: modeGovernance, DefaultPeriod: 1, DefaultPeriodUnit: metadatav1.PeriodUnit_PERIOD_UNIT_YEARS}, 0)
	if years.GetRetainUntilUnixMillis() != 365*86400*1000 {
		t.Fatalf("one year from 1970: %v", years)
	}
	// Disabling the lock is refused, with the state unchanged.
	before := h.digest()
	res := h.apply(updateBucket(&metadatav1.UpdateBucketRequest{BucketId: bkt, FileLock: &metadatav1.FileLockConfiguration{}}))
	if errs.KindOf(res.Err) != errs.InvalidBucketState || !equalDigests(before, h.digest()) {
		t.Fatalf("disable: %v", res.Err)
	}
}

// TestUploadReplayIsIdempotent: upload, part, completion, abort and lock
// entries replayed over the state change nothing, and in other batch
// shapes give the same state.
func TestUploadReplayIsIdempotent(t *testing.T) {
	h := uploadFixture(t)
	h.must(cmdPart(bkt, "vS1", 2, "blob-p2b", md5A, 5))
	h.must(cmdComplete(bkt, "vS1", 0, ref(1, ""), ref(2, "")))
	h.must(cmdAbort(bkt, "vU1"))
	h.must(cmdStart(bkt, "k", "vK"))
	h.must(cmdLegalHold(bkt, "vK", metadatav1.LegalHold_LEGAL_HOLD_ON))
	h.must(cmdRetention("vS1", modeGovernance, lockNow/1e6+1, false))
	want := h.digest()
	h.f.ApplyBatch(h.log)
	if !equalDigests(h.digest(), want) {
		t.Fatal("replay changed the state")
	}
	for _, batch := range []int{1, 4, 100} {
		other := newHarness(t)
		for i := 0; i < len(h.log); i += batch {
			other.f.ApplyBatch(h.log[i:min(i+batch, len(h.log))])
		}
		other.f.ApplyBatch(h.log[len(h.log)/3:])
		if !equalDigests(other.digest(), want) {
			t.Fatalf("batch size %d: different state", batch)
		}
	}
}
