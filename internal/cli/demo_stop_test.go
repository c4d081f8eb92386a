package cli_test

import (
	"regexp"
	"testing"
)

// The demo ends by stopping every phone it made ready.
func TestDemoStopsWhatItStarted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.mustRun("", "demo", "--phones", "60", "--timeout", "2m")
	m := regexp.MustCompile(`stopped +(\d+) of (\d+) ready phones .*: (\d+) stop calls \(at least 1\), 0 still running`).FindStringSubmatch(o.stdout)
	if m == nil || m[1] != m[2] || m[1] == "0" {
		t.Fatalf("demo printed %q: want every ready phone stopped, none running", o.stdout)
	}
}
