package b2

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/coffer-project/coffer/services/errs"
)

// maxJSONBody bounds a JSON call's body before any decoder sees it
// (spec/reliability.md §3.8: CORS rule lists are the largest, ≤ 64 KiB;
// other bodies ≤ 1 MiB).
const maxJSONBody = 1 << 20

// maxJSONDepth bounds nesting: no B2 request nests deeper than a few
// levels, and a deep document is only a way to burn stack and CPU.
const maxJSONDepth = 16

// readBody reads a JSON call's parameters as a JSON object: the body of a
// POST (empty means {}), or for GET and HEAD the query string, whose values
// are typed by dst's fields (strings as given, anything else as JSON).
func readBody(r *http.Request, dst any) ([]byte, error) {
	const op = "b2.body"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return queryJSON(r.URL.RawQuery, dst)
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil {
		if errs.As(err) != nil {
			return nil, err // a client that stalled (shell), ...
		}
		return nil, errs.E(errs.IncompleteBody, op, err)
	}
	if len(data) > maxJSONBody {
		return nil, errs.Errorf(errs.InvalidArgument, op, "the request body is larger than %d bytes", maxJSONBody)
	}
	return data, nil
}

// decodeJSON decodes one JSON object into dst. It refuses what Go's decoder
// would accept silently: duplicate keys (Go keeps the last, so a checker
// and a user could read different values; spec/reliability.md §3.9),
// trailing data and excessive nesting. Syntax errors are MalformedBody
// (bad_json); a value of the wrong type or out of range is InvalidArgument
// (bad_request). Unknown fields are ignored (spec/b2-native.md §1).
func decodeJSON(data []byte, dst any) error {
	const op = "b2.decode"
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	if err := checkJSON(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field != "" {
				return errs.Errorf(errs.InvalidArgument, op, "%s has the wrong type", te.Field)
			}
			return errs.Errorf(errs.InvalidArgument, op, "the request must be a JSON object")
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return errs.Errorf(errs.MalformedBody, op, "the body is not valid JSON")
		}
		return errs.Errorf(errs.InvalidArgument, op, "invalid request: %s", cleanJSONError(err))
	}
	return nil
}

// cleanJSONError keeps an encoding/json message short and free of our type
// names.
func cleanJSONError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	if i := strings.Index(msg, " of type "); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

// jsonFrame is one open object or array while checkJSON scans.
type jsonFrame struct {
	object bool
	keys   map[string]bool
	key    bool // in an object: the next token is a key (or '}')
}

// checkJSON scans a document once: it must be a single JSON object, with no
// key repeated within an object, nested at most maxJSONDepth deep.
func checkJSON(data []byte) error {
	const op = "b2.decode"
	malformed := errs.Errorf(errs.MalformedBody, op, "the body is not valid JSON")
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*jsonFrame
	// valueDone: the innermost object's value is complete; a key is next.
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].key = true
		}
	}
	first := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if len(stack) != 0 || first {
				return malformed
			}
			return nil
		}
		if err != nil {
			return malformed
		}
		if first {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return errs.Errorf(errs.InvalidArgument, op, "the request must be a JSON object")
			}
		} else if len(stack) == 0 {
			return malformed // trailing data after the object
		}
		first = false
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			key, ok := tok.(string)
			if !ok {
				return malformed
			}
			top := stack[n-1]
			if top.keys[key] {
				return errs.Errorf(errs.InvalidArgument, op, "the key %q appears twice", truncate(key, 64))
			}
			top.keys[key] = true
			top.key = false
			continue
		}
		switch d, _ := tok.(json.Delim); d {
		case '{', '[':
			if len(stack) >= maxJSONDepth {
				return errs.Errorf(errs.InvalidArgument, op, "the request is nested too deeply")
			}
			f := &jsonFrame{object: d == '{', key: d == '{'}
			if f.object {
				f.keys = map[string]bool{}
			}
			stack = append(stack, f)
		case '}', ']':
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// queryJSON builds a JSON object from a query string for GET calls. Each
// parameter becomes the field of dst with that JSON name: string fields
// take the value as is, other fields take it as JSON (numbers, booleans,
// arrays such as bucketTypes=["all"]). Unknown parameters are ignored, as
// unknown JSON fields are; a repeated parameter is refused.
func queryJSON(rawQuery string, dst any) ([]byte, error) {
	const op = "b2.query"
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, errs.Errorf(errs.InvalidArgument, op, "the query string is not valid")
	}
	fields := jsonFields(reflect.TypeOf(dst))
	obj := map[string]json.RawMessage{}
	for name, values := range q {
		kind, ok := fields[name]
		if !ok {
			continue
		}
		if len(values) != 1 {
			return nil, errs.Errorf(errs.InvalidArgument, op, "the parameter %q appears more than once", truncate(name, 64))
		}
		v := values[0]
		if !utf8.ValidString(v) {
			// json.Marshal would quietly turn the bytes into U+FFFD.
			return nil, errs.Errorf(errs.InvalidArgument, op, "the parameter %q is not UTF-8", truncate(name, 64))
		}
		if kind == reflect.String {
			raw, _ := json.Marshal(v)
			obj[name] = raw
			continue
		}
		if !json.Valid([]byte(v)) {
			return nil, errs.Errorf(errs.InvalidArgument, op, "the parameter %q is not valid", truncate(name, 64))
		}
		obj[name] = json.RawMessage(v)
	}
	return json.Marshal(obj)
}

// jsonFields maps the JSON names of a struct's fields to their kinds
// (pointers dereferenced).
func jsonFields(t reflect.Type) map[string]reflect.Kind {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]reflect.Kind{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" {
			for name, kind := range jsonFields(f.Type) {
				out[name] = kind
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		out[name] = ft.Kind()
	}
	return out
}

// writeJSON writes a 200 JSON response with B2's API headers.
func writeJSON(w http.ResponseWriter, v any) error {
	out, err := json.Marshal(v)
	if err != nil {
		return errs.E(errs.Internal, "b2.render", err)
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json;charset=UTF-8")
	hd.Set("Cache-Control", "max-age=0, no-cache, no-store")
	hd.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return nil
}

// truncate shortens s for messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func itoa(n int) string { return strconv.Itoa(n) }

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// num is a JSON integer parameter, range-checked by its user.
type num = json.Number

// intParam converts an optional JSON number to an int64 in [lo, hi].
func intParam(name string, n *json.Number, def, lo, hi int64) (int64, error) {
	if n == nil {
		return def, nil
	}
	v, err := strconv.ParseInt(string(*n), 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, errs.Errorf(errs.InvalidArgument, "b2.param", "%s must be an integer from %d to %d", name, lo, hi)
	}
	return v, nil
}

// countParam reads a page-size parameter: absent or 0 means def (clients
// such as blazer send 0 for "the default"), 1…max is taken, anything else
// is 400 out_of_range.
func countParam(name string, n *json.Number, def, max int64) (int64, error) {
	if n == nil || *n == "0" {
		return def, nil
	}
	v, err := intParam(name, n, def, 1, max)
	if err != nil {
		if e := errs.As(err); e != nil {
			return 0, withCode(e, 400, "out_of_range")
		}
	}
	return v, err
}

// required returns an InvalidArgument error naming a missing field.
func required(name string) error {
	return errs.Errorf(errs.InvalidArgument, "b2.param", "%s is required", name)
}
