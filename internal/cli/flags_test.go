package cli_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/phonestart/phonestart/internal/cli"
)

// Every duration a command reads, as a flag or from its variable, refuses
// a bare number with an example of what it wants, and nothing runs.
func TestDurationsThatDoNotParseAreRefusedWithAnExample(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	n := 0
	for _, cmd := range slices.Sorted(maps.Keys(flagsRead)) {
		listed, _ := helpFlags(t, h, strings.Fields(cmd)...)
		for _, name := range slices.Sorted(maps.Keys(listed)) {
			f := listed[name]
			if f.typ != "duration" {
				continue
			}
			n++
			args := append(strings.Fields(cmd), "--"+name, "5", "5577001")
			o := h.run("", args...)
			want := fmt.Sprintf(`--%s: "5" is not a duration: want a duration such as 5m or 2h`, name)
			if o.code != 2 || !strings.Contains(o.stderr, want) {
				t.Errorf("phonestart %q: want exit 2 and %q; got %v", args, want, o)
			}
			if f.env == "" {
				continue
			}
			args = append(strings.Fields(cmd), "5577001")
			o = h.runEnv(h.with(map[string]string{f.env: "5"}), "", args...)
			want = fmt.Sprintf(`%s (--%s): "5" is not a duration: want a duration such as 5m or 2h`, f.env, name)
			if o.code != 2 || !strings.Contains(o.stderr, want) {
				t.Errorf("phonestart %q with %s=5: want exit 2 and %q; got %v", args, f.env, want, o)
			}
		}
	}
	if n < 15 {
		t.Fatalf("found %d duration flags in the help: the parsing is broken", n)
	}
	if c := h.status(); total(c) != 0 {
		t.Errorf("status %v after refused commands, want nothing enqueued", c)
	}
}

// A mistyped flag is refused, naming the flag meant when one is close.
func TestUnknownFlagSuggestsTheNearest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"enqueue", "--wiat", "5577001"}, "unknown flag --wiat; did you mean --wait?"},
		{[]string{"enqueue", "5577001", "-wiat"}, "unknown flag --wiat; did you mean --wait?"},
		{[]string{"enqueue", "--wait-timout=1m", "5577001"}, "unknown flag --wait-timout; did you mean --wait-timeout?"},
		{[]string{"status", "--jsno"}, "unknown flag --jsno; did you mean --json?"},
		{[]string{"worker", "--batchsize", "50"}, "unknown flag --batchsize; did you mean --batch-size?"},
		{[]string{"dead", "list", "--limt", "5"}, "unknown flag --limt; did you mean --limit?"},
	}
	for _, tc := range cases {
		o := h.run("", tc.args...)
		if o.code != 2 || !strings.Contains(o.stderr, tc.want) {
			t.Errorf("phonestart %q: want exit 2 and %q; got %v", tc.args, tc.want, o)
		}
	}
	// Nothing near, or a single letter: no guess.
	for _, args := range [][]string{{"status", "--redis-min-replicas", "1"}, {"demo", "-x"}} {
		o := h.run("", args...)
		if o.code != 2 || !strings.Contains(o.stderr, "unknown flag "+args[1]) || strings.Contains(o.stderr, "did you mean") {
			t.Errorf("phonestart %q: want exit 2, the flag named and no guess; got %v", args, o)
		}
	}
	if c := h.status(); total(c) != 0 {
		t.Errorf("status %v after refused commands, want nothing enqueued", c)
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b string
		want int
	}{
		{"wait", "wait", 0},
		{"wiat", "wait", 1}, // a swap is one edit
		{"jsno", "json", 1},
		{"batchsize", "batch-size", 1},
		{"limt", "limit", 1},
		{"", "json", 4},
		{"redis-min-replicas", "redis-url", 10},
		{"ca", "abc", 3}, // each byte edited once: not 2
	}
	for _, tc := range cases {
		if got := cli.EditDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := cli.EditDistance(tc.b, tc.a); got != tc.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}
