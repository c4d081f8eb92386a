package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/internal/cli"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redistest"
)

// The phonestart binary that subprocess tests run, built at most once per
// test run, in binDir.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	// Most of these tests wait on a phonestart subprocess, its timers and
	// a fake API, not on the CPU: run four at once unless -parallel says
	// otherwise.
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", "4")
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// phonestartBinary builds cmd/phonestart once and returns its path.
func phonestartBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binError = os.MkdirTemp("", "phonestart-cli-test-")
		if binError != nil {
			return
		}
		binPath = filepath.Join(binDir, "phonestart")
		// go test puts the go command it runs under first on PATH.
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/phonestart/phonestart/cmd/phonestart")
		if out, err := cmd.CombinedOutput(); err != nil {
			binError = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return binPath
}

// syncBuffer is a bytes.Buffer that a running command may write while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness runs commands through cli.Main against one test's Redis, with an
// environment of its own: the process environment (REDIS_URL among it) is
// never read.
type harness struct {
	t    *testing.T
	r    *redistest.Redis
	env  map[string]string
	insp *asynq.Inspector
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	r := redistest.New(t)
	return &harness{
		t:    t,
		r:    r,
		env:  map[string]string{"REDIS_URL": r.URL},
		insp: asynq.NewInspectorFromRedisClient(r.Client(t)),
	}
}

// with returns the harness's environment with extra set; an empty value
// unsets a variable.
func (h *harness) with(extra map[string]string) map[string]string {
	env := maps.Clone(h.env)
	for k, v := range extra {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	return env
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// outcome is what one command did.
type outcome struct {
	code           int
	stdout, stderr string
}

func (o outcome) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", o.code, o.stdout, o.stderr)
}

// run runs one command to its end, with stdin as its standard input.
func (h *harness) run(stdin string, args ...string) outcome {
	h.t.Helper()
	return h.runEnv(h.env, stdin, args...)
}

// runEnv is run with another environment. A command that has not returned
// after a minute fails the test.
func (h *harness) runEnv(env map[string]string, stdin string, args ...string) outcome {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(args, cli.Env{
			Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
			Getenv: getenv(env), Ctx: ctx,
		})
	}()
	select {
	case code := <-done:
		return outcome{code: code, stdout: stdout.String(), stderr: stderr.String()}
	case <-time.After(time.Minute):
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		h.t.Fatalf("phonestart %q still running after a minute: it should have returned", args)
		return outcome{}
	}
}

// mustRun runs a command that must succeed.
func (h *harness) mustRun(stdin string, args ...string) outcome {
	h.t.Helper()
	o := h.run(stdin, args...)
	if o.code != 0 {
		h.t.Fatalf("phonestart %q: %v", args, o)
	}
	return o
}

// statusKeys are the keys of `status --json`, exactly.
var statusKeys = []string{"booting", "dead", "queued", "retry", "scheduled", "sending", "started", "stopping"}

// status runs `status --json` and checks that it has exactly statusKeys.
func (h *harness) status() map[string]int {
	h.t.Helper()
	o := h.mustRun("", "status", "--json")
	var counts map[string]int
	if err := json.Unmarshal([]byte(o.stdout), &counts); err != nil {
		h.t.Fatalf("status --json printed %q: %v", o.stdout, err)
	}
	if keys := slices.Sorted(maps.Keys(counts)); !slices.Equal(keys, statusKeys) {
		h.t.Fatalf("status --json keys %v, want exactly %v", keys, statusKeys)
	}
	return counts
}

// total is the number of phones status counts in a state, and the dead
// ones: all but "started", which counts starts ever made.
func total(c map[string]int) int {
	n := 0
	for k, v := range c {
		if k != "started" {
			n += v
		}
	}
	return n
}

// assertNothingEnqueued checks that Redis holds no phone's record and no
// task of a start or a stop.
func (h *harness) assertNothingEnqueued() {
	h.t.Helper()
	sp := fleet.MustSpace("")
	for _, pattern := range []string{"asynq:{" + sp.StartQueue() + "}:t:*", "asynq:{" + sp.StopQueue() + "}:t:*", sp.Key("phone", "*")} {
		keys, err := h.r.Client(h.t).Keys(context.Background(), pattern).Result()
		if err != nil {
			h.t.Fatal(err)
		}
		if len(keys) > 0 {
			h.t.Fatalf("Redis holds %d keys %s, want none: %v", len(keys), pattern, keys)
		}
	}
	if c := h.status(); total(c) != 0 {
		h.t.Fatalf("status counts %v, want none", c)
	}
}

// deadPhone is one entry of `dead list --json`.
type deadPhone struct {
	ID       string    `json:"id"`
	Action   string    `json:"action"`
	Code     int       `json:"code"`
	Reason   string    `json:"reason"`
	Msg      string    `json:"msg"`
	Attempts int       `json:"attempts"`
	FailedAt time.Time `json:"failed_at"`
}

// deadList runs `dead list --json` and checks each entry has the documented
// keys.
func (h *harness) deadList() []deadPhone {
	h.t.Helper()
	o := h.mustRun("", "dead", "list", "--json")
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(o.stdout), &raw); err != nil {
		h.t.Fatalf("dead list --json printed %q: %v", o.stdout, err)
	}
	for _, e := range raw {
		for _, k := range []string{"id", "action", "code", "reason", "msg", "attempts", "failed_at", "options"} {
			if _, ok := e[k]; !ok {
				h.t.Fatalf("dead list --json entry %s has no %q", o.stdout, k)
			}
		}
	}
	var dead []deadPhone
	if err := json.Unmarshal([]byte(o.stdout), &dead); err != nil {
		h.t.Fatal(err)
	}
	return dead
}

// eventually polls cond every 50ms until it holds, failing the test with
// what() after timeout.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not after %v: %s", timeout, what())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// backgroundWorker is `phonestart worker` running in-process.
type backgroundWorker struct {
	t      *testing.T
	stdout *syncBuffer
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan int
}

// startWorker runs `phonestart worker` with env until stop or the end of
// the test.
func (h *harness) startWorker(env map[string]string) *backgroundWorker {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &backgroundWorker{t: h.t, stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		w.done <- cli.Main([]string{"worker"}, cli.Env{
			Stdin: strings.NewReader(""), Stdout: w.stdout, Stderr: w.stderr,
			Getenv: getenv(env), Ctx: ctx,
		})
	}()
	h.t.Cleanup(func() {
		cancel()
		select {
		case <-w.done:
		case <-time.After(time.Minute):
			h.t.Error("worker still running a minute after its context was cancelled")
		}
	})
	return w
}

// stop cancels the worker's context and returns its exit code.
func (w *backgroundWorker) stop() int {
	w.t.Helper()
	w.cancel()
	select {
	case code := <-w.done:
		w.done <- code // for the cleanup
		return code
	case <-time.After(time.Minute):
		w.t.Fatalf("worker still running a minute after its context was cancelled; log:\n%s", w.stderr)
		return -1
	}
}

// logLines decodes a JSON log, one object a line.
func logLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for i, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %d is not JSON: %q: %v", i+1, line, err)
		}
		out = append(out, m)
	}
	return out
}

func phoneIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	return ids
}
