package app

import (
	"slices"
	"strings"
	"testing"

	"github.com/coffer-project/coffer/services/discovery"
)

// TestStartOrder: every role starts after the roles it depends on, and the
// order is the one the app has always used.
func TestStartOrder(t *testing.T) {
	want := []string{"metadata", "blobstore", "authd", "corsd", "gateway"}
	if !slices.Equal(startOrder, want) {
		t.Fatalf("start order %v, want %v", startOrder, want)
	}
	for i, r := range startOrder {
		for _, d := range roleDeps[r] {
			if slices.Index(startOrder, d) > i {
				t.Errorf("%s starts before %s, which it depends on", r, d)
			}
		}
	}
	if len(roleDeps) != len(discovery.Roles) {
		t.Errorf("roleDeps has %d roles, discovery.Roles %d", len(roleDeps), len(discovery.Roles))
	}
	// The sort follows dependencies, not the given order, and refuses cycles.
	got, err := order([]string{"c", "b", "a"}, map[string][]string{"a": nil, "b": {"a"}, "c": {"b"}})
	if err != nil || !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("order = %v, %v", got, err)
	}
	if _, err := order([]string{"a", "b"}, map[string][]string{"a": {"b"}, "b": {"a"}}); err == nil || !strings.Contains(err.Error(), "a → b → a") {
		t.Errorf("cycle: %v", err)
	}
}
