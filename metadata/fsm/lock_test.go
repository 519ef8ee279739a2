package fsm

import (
	"testing"

	fsmv1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/fsm/v1"
	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
	"github.com/coffer-project/coffer/services/errs"
)

// now is the stamped time of the lock tests' commands (ms 1,000,000,000).
const lockNow = int64(1_000_000_000) * 1e6

func cmdRetention(vid string, mode metadatav1.RetentionMode, untilMillis int64, bypass bool) *fsmv1.Command {
	return &fsmv1.Command{RequestTimeUnixNanos: lockNow, Op: &fsmv1.Command_UpdateObjectRetention{UpdateObjectRetention: &fsmv1.UpdateObjectRetention{
		BucketId: bkt, VersionId: vid, Retention: &metadatav1.Retention{Mode: mode, RetainUntilUnixMillis: untilMillis}, BypassGovernance: bypass,
	}}}
}

func cmdLegalHold(bucket, vid string, h metadatav1.LegalHold) *fsmv1.Command {
	return &fsmv1.Command{RequestTimeUnixNanos: lockNow, Op: &fsmv1.Command_UpdateObjectLegalHold{UpdateObjectLegalHold: &fsmv1.UpdateObjectLegalHold{
		BucketId: bucket, VersionId: vid, LegalHold: h,
	}}}
}

// TestRetentionRules: which retention changes are allowed, for each
// current retention, with and without bypass; and which deletions.
func TestRetentionRules(t *testing.T) {
	const ms = lockNow / 1e6
	future, later, past := ms+1000, ms+2000, ms-1000
	type start struct {
		mode  metadatav1.RetentionMode
		until int64
	}
	none, gov, comp, expired := start{}, start{modeGovernance, later}, start{modeCompliance, later}, start{modeCompliance, past}
	cases := []struct {
		name   string
		from   start
		mode   metadatav1.RetentionMode
		until  int64
		bypass bool
		want   errs.Kind
	}{
		{"set governance", none, modeGovernance, future, false, 0},
		{"set compliance", none, modeCompliance, future, false, 0},
		{"set in the past", none, modeGovernance, past, false, errs.InvalidArgument},
		{"remove when none", none, modeNone, 0, false, 0},
		{"compliance: extend", comp, modeCompliance, later + 1, false, 0},
		{"compliance: same", comp, modeCompliance, later, false, 0},
		{"compliance: shorten", comp, modeCompliance, future, false, errs.ObjectLocked},
		{"compliance: shorten with bypass", comp, modeCompliance, future, true, errs.ObjectLocked},
		{"compliance: to governance", comp, modeGovernance, later + 1, true, errs.ObjectLocked},
		{"compliance: remove", comp, modeNone, 0, true, errs.ObjectLocked},
		{"compliance expired: remove", expired, modeNone, 0, false, 0},
		{"compliance expired: governance", expired, modeGovernance, future, false, 0},
		{"governance: extend", gov, modeGovernance, later + 1, false, 0},
		{"governance: to compliance", gov, modeCompliance, later, false, 0},
		{"governance: shorten", gov, modeGovernance, future, false, errs.ObjectLocked},
		{"governance: shorten with bypass", gov, modeGovernance, future, true, 0},
		{"governance: remove", gov, modeNone, 0, false, errs.ObjectLocked},
		{"governance: remove with bypass", gov, modeNone, 0, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := fixture(t)
			c := cmdCommit(bkt, "r", "vR", "e", nil)
			if tc.from.mode != modeNone {
				c.GetCommitObject().Version.Retention = &metadatav1.Retention{Mode: tc.from.mode, RetainUntilUnixMillis: tc.from.until}
			}
			h.must(c)
			before := h.digest()
			res := h.apply(cmdRetention("vR", tc.mode, tc.until, tc.bypass))
			if got := errs.KindOf(res.Err); tc.want != 0 && got != tc.want || tc.want == 0 && res.Err != nil {
				t.Fatalf("error %v, want kind %v", res.Err, tc.want)
			}
			if tc.want != 0 {
				if !equalDigests(before, h.digest()) {
					t.Fatal("a refused update changed the state")
				}
				return
			}
			h.view(func(r *Reader) error {
				cur, err := r.Object(bkt, "r")
				if err != nil || cur.GetRetention().GetMode() != tc.mode || (tc.mode != modeNone && cur.GetRetention().GetRetainUntilUnixMillis() != tc.until) {
					t.Fatalf("current copy %v, %v", cur.GetRetention(), err)
				}
				return nil
			})
		})
	}
}

func TestDeleteLockRules(t *testing.T) {
	const ms = lockNow / 1e6
	cases := []struct {
		name   string
		ret    *metadatav1.Retention
		hold   metadatav1.LegalHold
		bypass bool
		want   errs.Kind
	}{
		{"no lock", nil, 0, false, 0},
		{"governance", &metadatav1.Retention{Mode: modeGovernance, RetainUntilUnixMillis: ms + 1}, 0, false, errs.ObjectLocked},
		{"governance bypassed", &metadatav1.Retention{Mode: modeGovernance, RetainUntilUnixMillis: ms + 1}, 0, true, 0},
		{"compliance", &metadatav1.Retention{Mode: modeCompliance, RetainUntilUnixMillis: ms + 1}, 0, true, errs.ObjectLocked},
		{"compliance expired", &metadatav1.Retention{Mode: modeCompliance, RetainUntilUnixMillis: ms}, 0, false, 0},
		{"legal hold", nil, metadatav1.LegalHold_LEGAL_HOLD_ON, true, errs.ObjectLocked},
		{"legal hold off", nil, metadatav1.LegalHold_LEGAL_HOLD_OFF, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := fixture(t)
			c := cmdCommit(bkt, "r", "vR", "e", nil, "blob-r")
			c.GetCommitObject().Version.Retention, c.GetCommitObject().Version.LegalHold = tc.ret, tc.hold
			h.must(c)
			// Hiding is always allowed.
			h.must(cmdHide(bkt, "r", "vRh", false))
			d := cmdDeleteVersion(bkt, "r", "vR")
			d.RequestTimeUnixNanos = lockNow
			d.GetDeleteObjectVersion().BypassGovernance = tc.bypass
			if got := errs.KindOf(h.apply(d).Err); got != tc.want && !(tc.want == 0 && got == errs.Other) {
				t.Fatalf("delete: kind %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLegalHoldAndLockTargets(t *testing.T) {
	h := fixture(t)
	res := h.must(cmdLegalHold(bkt, "vL1", metadatav1.LegalHold_LEGAL_HOLD_OFF))
	if res.Version.LegalHold != metadatav1.LegalHold_LEGAL_HOLD_OFF || !res.Version.IsLatest {
		t.Fatalf("result %v", res.Version)
	}
	d := cmdDeleteVersion(bkt, "locked", "vL1")
	d.RequestTimeUnixNanos = lockNow
	h.must(d)

	h.must(cmdCommit(empty, "x", "vX", "e", nil))
	for name, tc := range map[string]struct {
		cmd  *fsmv1.Command
		want errs.Kind
	}{
		"hold: no file lock":       {cmdLegalHold(empty, "vX", metadatav1.LegalHold_LEGAL_HOLD_ON), errs.InvalidRequest},
		"hold: hide marker":        {cmdLegalHold(bkt, "vH2", metadatav1.LegalHold_LEGAL_HOLD_ON), errs.MethodNotAllowed},
		"hold: unknown version":    {cmdLegalHold(bkt, "nope", metadatav1.LegalHold_LEGAL_HOLD_ON), errs.VersionNotFound},
		"hold: unspecified":        {cmdLegalHold(bkt, "vA1", metadatav1.LegalHold_LEGAL_HOLD_UNSPECIFIED), errs.InvalidArgument},
		"retention: hide marker":   {cmdRetention("vH2", modeGovernance, lockNow/1e6+5, false), errs.MethodNotAllowed},
		"retention: unknown mode":  {cmdRetention("vA1", 7, lockNow/1e6+5, false), errs.InvalidArgument},
		"retention: bucket absent": {&fsmv1.Command{Op: &fsmv1.Command_UpdateObjectRetention{UpdateObjectRetention: &fsmv1.UpdateObjectRetention{BucketId: "nope", VersionId: "v"}}}, errs.BucketNotFound},
	} {
		before := h.digest()
		if got := errs.KindOf(h.apply(tc.cmd).Err); got != tc.want {
			t.Errorf("%s: kind %v, want %v", name, got, tc.want)
		}
		if !equalDigests(before, h.digest()) {
			t.Errorf("%s: a refusal changed the state", name)
		}
	}
	// A START version can be held; the hold carries over to the result.
	h.must(cmdLegalHold(bkt, "vS1", metadatav1.LegalHold_LEGAL_HOLD_ON))
	h.must(cmdPart(bkt, "vS1", 1, "blob-s", md5A, 5))
	if v := h.must(cmdComplete(bkt, "vS1", 0, ref(1, ""))).Version; v.LegalHold != metadatav1.LegalHold_LEGAL_HOLD_ON {
		t.Fatalf("completed %v", v)
	}
}
