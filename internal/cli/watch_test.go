package cli_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/cli"
)

// runFor runs a command for d, then cancels its context as SIGINT would.
func (h *harness) runFor(d time.Duration, stdin string, args ...string) outcome {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var stdout, stderr strings.Builder
	code := cli.Main(args, cli.Env{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
		Getenv: getenv(h.env), Ctx: ctx})
	return outcome{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestStatusWatchPrintsABlockEverySecondUntilInterrupted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	dead := []string{"4200100001", "4200100002", "4300400001"}
	fake.Script(dead[0], geelarktest.Script{Code: 42001})
	fake.Script(dead[1], geelarktest.Script{Code: 42001})
	fake.Script(dead[2], geelarktest.Script{Code: 43004})
	h.mustRun("", append([]string{"enqueue", "5577000001", "5577000002"}, dead...)...)
	w := h.startWorker(h.with(map[string]string{
		"GEELARK_BASE_URL": fake.URL, "GEELARK_APP_ID": "test-app", "GEELARK_API_KEY": secretKey,
		"PHONESTART_BATCH_WAIT": "50ms", "PHONESTART_LOG_FORMAT": "json", "PHONESTART_ADMIN_ADDR": "off",
	}))
	eventually(t, 30*time.Second, func() bool { c := h.status(); return c["dead"] == 3 && c["sending"]+c["queued"] == 0 },
		func() string { return fmt.Sprintf("status %v; worker log:\n%s", h.status(), w.stderr) })

	o := h.runFor(2500*time.Millisecond, "", "status", "--watch")
	if o.code != 0 {
		t.Fatalf("status --watch interrupted: %v", o)
	}
	if n := strings.Count(o.stdout, "phonestart status "); n < 2 || n > 4 {
		t.Fatalf("%d blocks in 2.5s, want one a second:\n%s", n, o.stdout)
	}
	if strings.Contains(o.stdout, "\x1b") {
		t.Errorf("terminal escapes written to a pipe:\n%q", o.stdout)
	}
	last := o.stdout[strings.LastIndex(o.stdout, "phonestart status "):]
	for _, want := range []string{
		"queued     0", "dead       3", "stopping   0", "started    ", "a minute", "api budget ", "pause      none",
		"dead by code", "42001       2  cloud phone does not exist", "43004       1  cloud phone has expired",
	} {
		if !strings.Contains(last, want) {
			t.Errorf("last block lacks %q:\n%s", want, last)
		}
	}
	if o := h.run("", "status", "--json", "--watch"); o.code != 2 {
		t.Errorf("status --json --watch: %v", o)
	}
}

// Piped, enqueue draws no progress bar, however many IDs it reads.
func TestEnqueueOfALargeFileDrawsNoBarWhenPiped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var ids strings.Builder
	for i := range 1500 {
		fmt.Fprintf(&ids, "5577%08d\n", i)
	}
	o := h.mustRun(ids.String(), "enqueue", "--file", "-")
	if o.stderr != "" || strings.Contains(o.stdout, "\r") {
		t.Fatalf("piped enqueue wrote a bar: %v", o)
	}
	if !strings.Contains(o.stdout, "enqueued 1500 phones") {
		t.Fatalf("enqueue: %v", o)
	}
}
