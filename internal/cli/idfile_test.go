package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A file exported from a spreadsheet starts with its column header: enqueue,
// stop and cancel refuse it, naming the line and --skip-header, and take
// the IDs below it with --skip-header.
func TestAFileWithAHeaderLineNeedsSkipHeader(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "ids.csv")
	if err := os.WriteFile(p, []byte("phone_id\r\n5577001\r\n5577002\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	for _, cmd := range []string{"enqueue", "stop", "cancel"} {
		o := h.run("", cmd, "--file", p)
		if o.code != 2 || !strings.Contains(o.stderr, "line 1") || !strings.Contains(o.stderr, `"phone_id"`) ||
			!strings.Contains(o.stderr, "--skip-header") {
			t.Errorf("%s --file with a header: want exit 2 naming line 1, the header and --skip-header; got %v", cmd, o)
		}
	}
	for _, cmd := range []string{"enqueue", "stop", "cancel"} {
		if o := h.run("", cmd, "--skip-header", "5577001"); o.code != 2 || !strings.Contains(o.stderr, "--skip-header without --file") {
			t.Errorf("%s --skip-header with ID arguments: want exit 2, got %v", cmd, o)
		}
	}
	if c := h.status(); total(c) != 0 {
		t.Fatalf("after the refusals: status %v, want nothing queued", c)
	}

	wantEnqueued(t, h.mustRun("", "enqueue", "--json", "--file", p, "--skip-header").stdout, 2, 0)
	if s := h.state("phone_id"); s != "none" {
		t.Fatalf("the header was enqueued as a phone: %s", s)
	}
	if o := h.mustRun("phone_id\n5577001\n5577002\n", "cancel", "--json", "--skip-header", "--file", "-"); o.stdout != `{"cancelled":2,"not_found":0,"active":0}`+"\n" {
		t.Fatalf("cancel --skip-header --file - printed %q", o.stdout)
	}
	wantStopped(t, h.mustRun("phone_id\n5577001\n5577002\n", "stop", "--json", "--skip-header", "--file", "-").stdout, 2, 0, 0)
}
