package app

import (
	"errors"
	"fmt"
	"strings"

	"github.com/coffer-project/coffer/services/discovery"
)

// roleDeps is the dependency list: for each role, the roles it calls while
// it starts (or, for the gateway, as soon as it serves). A process starts
// its roles so that each comes after those it depends on, and stops them in
// the reverse order. Calls made later (a blobstore node's background work,
// authd checking an operator's credentials for metadata) need no entry:
// every client connection is lazy and waits for its target.
var roleDeps = map[string][]string{
	discovery.Metadata:  nil,
	discovery.Blobstore: {discovery.Metadata},
	discovery.Authd:     {discovery.Metadata},
	discovery.Corsd:     {discovery.Metadata},
	discovery.Gateway:   {discovery.Metadata, discovery.Blobstore, discovery.Authd, discovery.Corsd},
}

// startOrder is every role, each after the roles it depends on; among roles
// free to go in either order, discovery.Roles' order decides.
var startOrder = mustOrder(discovery.Roles, roleDeps)

// order sorts roles topologically by deps, stably in the order given.
func order(roles []string, deps map[string][]string) ([]string, error) {
	var out []string
	state := map[string]int{} // 0 unseen, 1 visiting, 2 placed
	var visit func(r string, path []string) error
	visit = func(r string, path []string) error {
		switch state[r] {
		case 1:
			return fmt.Errorf("roles depend on each other: %s", strings.Join(append(path, r), " → "))
		case 2:
			return nil
		}
		if _, ok := deps[r]; !ok {
			return fmt.Errorf("role %q has no dependency entry", r)
		}
		state[r] = 1
		for _, d := range deps[r] {
			if err := visit(d, append(path, r)); err != nil {
				return err
			}
		}
		state[r] = 2
		out = append(out, r)
		return nil
	}
	for _, r := range roles {
		if err := visit(r, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func mustOrder(roles []string, deps map[string][]string) []string {
	out, err := order(roles, deps)
	if err != nil {
		panic("app: " + err.Error())
	}
	return out
}

// ExpandRoles turns a --roles value into roles in start order.
func ExpandRoles(s string) ([]string, error) {
	want := map[string]bool{}
	for _, r := range strings.Split(s, ",") {
		r = strings.TrimSpace(r)
		switch {
		case r == "all":
			for _, a := range startOrder {
				want[a] = true
			}
		case r == "":
		default:
			if _, ok := roleDeps[r]; !ok {
				return nil, fmt.Errorf("unknown role %q (want all or any of %s)", r, strings.Join(startOrder, ", "))
			}
			want[r] = true
		}
	}
	var out []string
	for _, a := range startOrder {
		if want[a] {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no roles to run")
	}
	return out, nil
}
