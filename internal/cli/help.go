package cli

import (
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
)

// printFlags writes the flags of s as -h shows them, each with its type,
// usage, variable and default; nothing when the command has none.
func (s *settings) printFlags(w io.Writer) {
	var flags []*flag.Flag
	s.fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	if len(flags) == 0 {
		return
	}
	heading := "\nFlags:"
	for _, f := range flags {
		if strings.Contains(f.Usage, "[$") {
			heading = "\nFlags (the variable in [$...] beside a flag sets it from the environment):"
			break
		}
	}
	fmt.Fprintln(w, heading)
	for _, f := range flags {
		h := s.help[f.Name]
		fmt.Fprintf(w, "  %s", dashed(f.Name))
		if h.kind != "" {
			fmt.Fprintf(w, " %s", h.kind)
		}
		fmt.Fprintf(w, "\n      %s", f.Usage)
		if h.def != "" {
			fmt.Fprintf(w, " (default %s)", h.def)
		}
		fmt.Fprintln(w)
	}
}

// jsonShape shows the JSON object v encodes to, from its type's json tags:
// {"pending":N,"url":"...","dead":{...}}. Help built with it names every
// field the command prints, and no other.
func jsonShape(v any) string {
	var parts []string
	for _, f := range jsonFieldsOf(reflect.TypeOf(v)) {
		parts = append(parts, fmt.Sprintf("%q:%s", f.name, placeholder(f.typ)))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFieldsOf are the fields encoding/json writes for struct type t, in
// order, embedded structs' fields in place.
func jsonFieldsOf(t reflect.Type) []jsonField {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFieldsOf(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name, f.Type})
	}
	return out
}

var timeType = reflect.TypeOf(time.Time{})

// placeholder is what a value of type t looks like in a JSON shape.
func placeholder(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return `"RFC3339"`
	case t.Kind() == reflect.String:
		return `"..."`
	case t.Kind() == reflect.Bool:
		return "true|false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
		return "N"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "[...]"
	default:
		return "{...}"
	}
}
