package cli_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
)

// process is `phonestart worker` running as a subprocess.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	exited         chan struct{} // closed when the process has exited
	err            error         // cmd.Wait's, once exited is closed
}

// startProcess runs the phonestart binary with args and exactly env (the
// test's own environment is not passed on). The process is killed if it is
// still running when the test ends.
func startProcess(t *testing.T, env map[string]string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(phonestartBinary(t), args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// signal sends sig and returns the exit code and how long the process took
// to exit; it fails the test if it does not within timeout.
func (p *process) signal(t *testing.T, sig os.Signal, timeout time.Duration) (int, time.Duration) {
	t.Helper()
	sent := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("still running %v after %v; log:\n%s", timeout, sig, p.stderr)
	}
	took := time.Since(sent)
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0, took
	case errors.As(p.err, &ee):
		return ee.ExitCode(), took
	}
	t.Fatal(p.err)
	return -1, 0
}

// running fails the test if the process has exited.
func (p *process) running(t *testing.T) bool {
	t.Helper()
	select {
	case <-p.exited:
		t.Fatalf("worker exited early (%v); log:\n%s", p.err, p.stderr)
	default:
	}
	return true
}

func TestSIGTERMDuringACallLosesNoPhone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{Token: secretToken, Latency: 2 * time.Second})
	t.Cleanup(fake.Close)
	ids := phoneIDs("5577", 300)
	wantEnqueued(t, h.mustRun(strings.Join(ids, "\n"), "enqueue", "--json", "--file", "-").stdout, 300, 0)

	// With a batch wait of 5s the first 200 phones fill a call at once and
	// the other 100 wait for more: SIGTERM finds a call in flight and phones
	// not yet sent.
	const shutdownTimeout = 10 * time.Second
	env := map[string]string{
		"REDIS_URL":                   h.r.URL,
		"GEELARK_BASE_URL":            fake.URL,
		"GEELARK_TOKEN":               secretToken,
		"PHONESTART_SHUTDOWN_TIMEOUT": shutdownTimeout.String(),
		"GEELARK_CALL_TIMEOUT":        "5s",
		"PHONESTART_BATCH_WAIT":       "5s",
		"PHONESTART_RETRY_BASE":       "10ms",
		"PHONESTART_RETRY_MAX":        "50ms",
		"PHONESTART_LOG_FORMAT":       "json",
	}
	began := time.Now()
	p := startProcess(t, env, "worker")
	eventually(t, 60*time.Second, func() bool { return p.running(t) && len(startCalls(fake)) > 0 },
		func() string { return "the fake got no call; log:\n" + p.stderr.String() })

	t.Logf("first call %v after the worker was started", time.Since(began).Round(time.Millisecond))
	code, took := p.signal(t, syscall.SIGTERM, shutdownTimeout+20*time.Second)
	t.Logf("exit %d %v after SIGTERM", code, took.Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("worker exited %d after SIGTERM; log:\n%s", code, p.stderr)
	}
	// The call in flight takes 2s: the worker waits for it, well within its
	// shutdown timeout (plus a margin for a slow machine).
	if took > shutdownTimeout+5*time.Second {
		t.Errorf("worker took %v to stop, shutdown timeout %v", took, shutdownTimeout)
	}

	// No phone lost: each is started (booting or ready) or back in the
	// queue, none stuck in a call. Phones of the calls made were answered
	// before the exit.
	firstCalls := fake.Calls()
	inCall := map[string]bool{}
	for _, c := range firstCalls {
		for _, id := range c.IDs {
			inCall[id] = true
		}
	}
	byState := map[string]int{}
	for _, p := range h.records(ids...) {
		s := p.State
		byState[s]++
		switch {
		case !started(s) && s != fleet.StateQueued && s != fleet.StateRetry:
			t.Errorf("phone %s is %s after SIGTERM, want booting, ready, queued or retry", p.ID, s)
		case inCall[p.ID] && !started(s):
			t.Errorf("phone %s was in a call the worker waited for, but is %s", p.ID, s)
		}
	}
	t.Logf("after SIGTERM: %d calls, phones %v", len(firstCalls), byState)
	assertCallLog(t, p.stderr.String(), firstCalls)
	assertNoSecret(t, p.stdout.String()+p.stderr.String())
	if t.Failed() {
		t.FailNow()
	}

	// A second worker starts the rest.
	began = time.Now()
	w := h.startWorker(h.with(map[string]string{
		"GEELARK_BASE_URL": fake.URL, "GEELARK_TOKEN": secretToken, "PHONESTART_BATCH_WAIT": "50ms",
		"PHONESTART_RETRY_BASE": "10ms", "PHONESTART_RETRY_MAX": "50ms", "PHONESTART_LOG_FORMAT": "json",
	}))
	eventually(t, 90*time.Second, func() bool {
		for _, p := range h.records(ids...) {
			if !started(p.State) {
				return false
			}
		}
		return true
	}, func() string {
		return fmt.Sprintf("status %v; worker log:\n%s", h.status(), w.stderr)
	})
	t.Logf("the second worker finished in %v", time.Since(began).Round(time.Millisecond))
	if code := w.stop(); code != 0 {
		t.Fatalf("second worker exited %d", code)
	}
	twice := 0
	for _, id := range ids {
		switch n := fake.Starts(id); {
		case n == 0:
			t.Errorf("phone %s is started but GeeLark never started it", id)
		case n > 1:
			twice++
		}
	}
	t.Logf("%d of %d phones started more than once", twice, len(ids))
	assertCallLog(t, w.stderr.String(), fake.Calls()[len(firstCalls):])
	assertNoSecret(t, w.stdout.String()+w.stderr.String())
}

func TestIdleWorkerExitsZeroOnSIGINT(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{Token: secretToken})
	t.Cleanup(fake.Close)
	p := startProcess(t, map[string]string{
		"REDIS_URL": h.r.URL, "GEELARK_BASE_URL": fake.URL, "GEELARK_TOKEN": secretToken,
		"PHONESTART_LOG_FORMAT": "json",
	}, "worker")
	eventually(t, 60*time.Second, func() bool {
		return p.running(t) && strings.Contains(p.stderr.String(), "worker started")
	}, func() string { return "no start in the log:\n" + p.stderr.String() })
	code, took := p.signal(t, os.Interrupt, 30*time.Second)
	if code != 0 {
		t.Fatalf("idle worker exited %d after SIGINT; log:\n%s", code, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "worker stopped") {
		t.Errorf("log does not say the worker stopped:\n%s", p.stderr)
	}
	t.Logf("stopped %v after SIGINT", took.Round(time.Millisecond))
	assertNoSecret(t, p.stdout.String()+p.stderr.String())
}
