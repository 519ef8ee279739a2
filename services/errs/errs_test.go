package errs

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
)

func TestStatusRoundTrip(t *testing.T) {
	in := E(BadDigest, "objects.Put", errors.New("md5 mismatch")).WithBucket("b").WithKey("k").
		WithMsg("The Content-MD5 you specified did not match").WithDetail("computed", "abc")
	s := ToStatus(fmt.Errorf("wrapped: %w", in))
	if s.Code() != codes.InvalidArgument {
		t.Fatalf("code %v", s.Code())
	}
	out := As(FromStatus("client", s.Err()))
	if out == nil || out.Kind != BadDigest || out.Bucket != "b" || out.Key != "k" ||
		out.Op != "objects.Put" || out.Details["computed"] != "abc" || out.Msg != in.Msg {
		t.Fatalf("round trip lost data: %+v", out)
	}
}

func TestKindOf(t *testing.T) {
	cases := []struct {
		err  error
		want Kind
	}{
		{nil, Other},
		{errors.New("x"), Internal},
		{context.Canceled, Canceled},
		{fmt.Errorf("w: %w", context.DeadlineExceeded), DeadlineExceeded},
		{E(BucketNotFound, "op", nil), BucketNotFound},
		{E(Other, "op", E(NotLeader, "raft", nil)), NotLeader},
	}
	for _, c := range cases {
		if got := KindOf(c.err); got != c.want {
			t.Errorf("KindOf(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if !errors.Is(E(ObjectNotFound, "op", nil).WithKey("k"), E(ObjectNotFound, "", nil)) {
		t.Error("errors.Is by kind failed")
	}
}

func TestInternalCauseNotLeaked(t *testing.T) {
	s := ToStatus(errors.New("open /var/lib/secret/path: permission denied"))
	if s.Message() != "" {
		t.Fatalf("internal cause leaked: %q", s.Message())
	}
	if KindOf(FromStatus("c", s.Err())) != Internal {
		t.Fatal("want internal")
	}
}

func TestReasonsStable(t *testing.T) {
	for k := Kind(0); k < maxKind; k++ {
		if reasons[k] == "" {
			t.Errorf("kind %d has no reason", k)
		}
		if KindFromReason(k.Reason()) != k {
			t.Errorf("reason of %d does not round-trip", k)
		}
	}
}
