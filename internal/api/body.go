package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// bodyTimeout bounds the reading of a request body.
const bodyTimeout = time.Minute

// readBody reads a POST's JSON body: at most MaxBody bytes (413 beyond),
// Content-Type application/json or none (415 otherwise).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, problem(ProblemMediaType, "Content-Type", "the body must be application/json, not %q", ct)
		}
	}
	if r.ContentLength > MaxBody {
		return nil, problem(ProblemTooLarge, "", "the body is %d bytes: at most %d", r.ContentLength, MaxBody)
	}
	// A body is read within bodyTimeout, then the deadline is lifted.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout))
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	_ = rc.SetReadDeadline(time.Time{})
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, problem(ProblemTooLarge, "", "the body is more than %d bytes", MaxBody)
	}
	if err != nil {
		return nil, problem(ProblemMalformed, "", "reading the body: %v", err)
	}
	return b, nil
}

// object describes the fields a JSON body may hold: its own, and those of
// the objects within it, by field name.
type object struct {
	fields []string
	nested map[string]object
}

// decode reads b, a JSON object with only the fields of o, into v. A
// syntax error, or a body that is not an object, is 400 malformed-json; an
// unknown field or a value of the wrong type is 400 naming it.
func decode(b []byte, o object, v any) error {
	if err := unknownFields(b, o, ""); err != nil {
		return err
	}
	err := json.Unmarshal(b, v)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return problem(ProblemMalformed, "", "the body must be a JSON object")
		}
		return invalid(field, "want %s, not a JSON %s", describe(te.Type.Kind().String()), te.Value)
	default:
		return problem(ProblemMalformed, "", "the body is not JSON: %v", err)
	}
}

// describe names a Go kind as a JSON type.
func describe(kind string) string {
	switch kind {
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	}
	return "a number"
}

// unknownFields returns a 400 naming the first field of b (in name order)
// that o does not know, with path before it ("options.").
func unknownFields(b []byte, o object, path string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if path == "" {
				return problem(ProblemMalformed, "", "the body must be a JSON object")
			}
			return nil // a nested value of the wrong type: json.Unmarshal names it
		}
		return problem(ProblemMalformed, "", "the body is not JSON: %v", err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(o.fields, k) {
			return invalid(path+k, "unknown field: want %s", strings.Join(o.fields, ", "))
		}
		if n, ok := o.nested[k]; ok && string(m[k]) != "null" {
			if err := unknownFields(m[k], n, path+k+"."); err != nil {
				return err
			}
		}
	}
	return nil
}
