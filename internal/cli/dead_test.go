package cli_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/phonestart/phonestart/internal/cli"
	"github.com/phonestart/phonestart/internal/fleet"
)

// bury enqueues phones and dead-letters their starts (code 42001), as a
// worker would.
func (h *harness) bury(ids ...string) {
	h.t.Helper()
	h.mustRun("", append([]string{"enqueue"}, ids...)...)
	h.die(fleet.ActionStart, 42001, "cloud phone does not exist", ids...)
}

// runStdin runs a command with stdin as its standard input, as given.
func (h *harness) runStdin(stdin io.Reader, args ...string) outcome {
	h.t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Main(args, cli.Env{Stdin: stdin, Stdout: &stdout, Stderr: &stderr,
		Getenv: getenv(h.env), Ctx: context.Background()})
	return outcome{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// dead purge --all with no one at a terminal to ask (piped input, /dev/null,
// a script or a cron job) purges nothing without --yes: exit 2, saying to
// add it.
func TestDeadPurgeAllWithoutATerminalNeedsYes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.bury("4200100001", "4200100002")
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	for name, stdin := range map[string]io.Reader{"piped": strings.NewReader("y\n"), "/dev/null": devNull} {
		o := h.runStdin(stdin, "dead", "purge", "--all")
		if o.code != 2 || !strings.Contains(o.stderr, "--yes") || strings.Contains(o.stderr, "[y/N]") {
			t.Errorf("dead purge --all with %s input: want exit 2 saying to add --yes, and no prompt; got %v", name, o)
		}
		if c := h.status(); c["dead"] != 2 {
			t.Fatalf("dead purge --all with %s input: %d dead phones left, want 2", name, c["dead"])
		}
	}
	// Purging named phones asks nothing, and neither does --yes.
	if o := h.mustRun("", "dead", "purge", "4200100001"); !strings.Contains(o.stdout, "purged 1 phone") {
		t.Fatalf("dead purge ID printed %q", o.stdout)
	}
	if o := h.runStdin(devNull, "dead", "purge", "--all", "--yes"); o.code != 0 || !strings.Contains(o.stdout, "purged 1 phone") {
		t.Fatalf("dead purge --all --yes: %v", o)
	}
	if c := h.status(); c["dead"] != 0 {
		t.Fatalf("after dead purge --all --yes: status %v", c)
	}
}
