package b2

import (
	"strings"
	"testing"

	"github.com/coffer-project/coffer/services/errs"
)

func TestDecodeJSON(t *testing.T) {
	type req struct {
		A string   `json:"a"`
		N *num     `json:"n"`
		L []string `json:"l"`
	}
	tests := []struct {
		body string
		kind errs.Kind // 0: accepted
	}{
		{``, 0},
		{`{}`, 0},
		{` {"a":"x","n":3,"l":["p"],"unknown":{"deep":[1,{"x":null}]}} `, 0},
		{`{"a":"x","a":"y"}`, errs.InvalidArgument},
		{`{"o":{"k":1,"k":2}}`, errs.InvalidArgument},
		{`{"o":[{"k":1},{"k":2}]}`, 0}, // the same key in two objects is fine
		{`{"a":1}`, errs.InvalidArgument},
		{`{"l":"notalist"}`, errs.InvalidArgument},
		{`[]`, errs.InvalidArgument},
		{`"str"`, errs.InvalidArgument},
		{`null`, errs.InvalidArgument},
		{`{"a":"x"`, errs.MalformedBody},
		{`{"a":"x"} {}`, errs.MalformedBody},
		{`{"a":"x"} x`, errs.MalformedBody},
		{`{a:1}`, errs.MalformedBody},
		{`{"x":` + strings.Repeat("[", 17) + strings.Repeat("]", 17) + `}`, errs.InvalidArgument},
		{`{"x":` + strings.Repeat("[", 10) + strings.Repeat("]", 10) + `}`, 0},
		{`{"n":1e999}`, 0}, // a number; its range is checked where it is used
	}
	for _, tt := range tests {
		var r req
		err := decodeJSON([]byte(tt.body), &r)
		switch {
		case tt.kind == 0 && err != nil:
			t.Errorf("%q: %v", tt.body, err)
		case tt.kind != 0 && !errs.Is(err, tt.kind):
			t.Errorf("%q: %v, want %v", tt.body, err, tt.kind)
		}
	}
}

func TestQueryJSON(t *testing.T) {
	var q listBucketsRequest
	data, err := queryJSON(`accountId=123&bucketTypes=%5B%22all%22%5D&bucketName=x+y&ignored=1`, &q)
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeJSON(data, &q); err != nil {
		t.Fatal(err)
	}
	// accountId stays a string although it looks like a number; '+' is a
	// space in query strings.
	if q.AccountID != "123" || q.BucketName != "x y" || q.BucketTypes == nil || (*q.BucketTypes)[0] != "all" {
		t.Fatalf("%+v", q)
	}
	// Embedded settings are reachable too.
	var u updateBucketRequest
	data, err = queryJSON(`bucketType=allPublic&ifRevisionIs=3`, &u)
	if err != nil || decodeJSON(data, &u) != nil || u.BucketType == nil || *u.BucketType != "allPublic" || string(*u.IfRevisionIs) != "3" {
		t.Fatalf("%s %v %+v", data, err, u)
	}
	for _, bad := range []string{`accountId=a&accountId=b`, `bucketTypes=notjson`, `%zz`} {
		if _, err := queryJSON(bad, &q); !errs.Is(err, errs.InvalidArgument) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestCountParam(t *testing.T) {
	n := func(s string) *num { v := num(s); return &v }
	for _, tt := range []struct {
		in   *num
		want int64
		code string
	}{
		{nil, 100, ""}, {n("0"), 100, ""}, {n("1"), 1, ""}, {n("10000"), 10000, ""},
		{n("10001"), 0, "out_of_range"}, {n("-1"), 0, "out_of_range"}, {n("1.5"), 0, "out_of_range"}, {n("99999999999999999999"), 0, "out_of_range"},
	} {
		got, err := countParam("maxFileCount", tt.in, 100, 10000)
		if tt.code != "" {
			if toAPIError("b2_list_file_names", err).Code != tt.code {
				t.Errorf("%v: %v", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%v: %d %v", tt.in, got, err)
		}
	}
}
