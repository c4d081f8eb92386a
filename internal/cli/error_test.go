package cli_test

import (
	"strings"
	"testing"
)

// A refused ID is reported once, under the command's name, without the
// name of the package that checked it.
func TestErrorPrefixIsPrintedOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, cmd := range []string{"enqueue", "stop"} {
		o := h.run("", cmd, "5577001", "y!")
		if o.code != 2 || !strings.HasPrefix(o.stderr, "phonestart "+cmd+": ") || !strings.Contains(o.stderr, `"y!"`) {
			t.Errorf("phonestart %s 5577001 y!: want exit 2 and a message naming \"y!\"; got %v", cmd, o)
		}
		rest := strings.TrimPrefix(o.stderr, "phonestart "+cmd+": ")
		for _, prefix := range []string{"enqueue:", "stop:"} {
			if strings.Contains(rest, prefix) {
				t.Errorf("phonestart %s: %q repeats a prefix %q", cmd, o.stderr, prefix)
			}
		}
	}
	if c := h.status(); total(c) != 0 {
		t.Errorf("status %v after refused commands, want nothing enqueued", c)
	}
}
