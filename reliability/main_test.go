//go:build reliability

package reliability

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// binary is the phonestart command built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("reliability: skipped with -short (the suite builds phonestart and takes 70 to 90 s)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "phonestart-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "phonestart")
	out, err := exec.Command(goTool(), "build", "-o", binary, "github.com/phonestart/phonestart/cmd/phonestart").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "reliability: go build ./cmd/phonestart: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goTool is the go command running these tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// logBuffer collects a process's output while the test reads it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tail returns the last n lines of s, for failure messages.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// proc is one phonestart process.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdout *logBuffer
	stderr *logBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // what Wait returned; read after done
}

// startProc runs the phonestart binary with args and exactly env: the test's
// own environment (REDIS_URL among it) is not passed on. The process is
// killed if it still runs when the test ends.
func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	p := &proc{t: t, name: name, cmd: cmd, stdout: &logBuffer{}, stderr: &logBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the process's exit code once it has exited; -1 when a signal
// ended it.
func (p *proc) exitCode() int {
	<-p.done
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatalf("%s: SIGKILL: %v", p.name, err)
	}
	<-p.done
}

// stop sends sig and returns the exit code and the time the process took to
// exit. It fails the test if the process is still running after timeout.
func (p *proc) stop(sig os.Signal, timeout time.Duration) (int, time.Duration) {
	p.t.Helper()
	sent := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("%s: %v: %v", p.name, sig, err)
	}
	select {
	case <-p.done:
		return p.exitCode(), time.Since(sent)
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("%s still running %v after %v; log:\n%s", p.name, timeout, sig, tail(p.stderr.String(), 30))
		return -1, 0
	}
}

// wait waits for the process to exit by itself and returns its exit code.
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.exitCode()
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("%s %q still running after %v; it should have returned. stderr:\n%s",
			p.name, p.cmd.Args[1:], timeout, tail(p.stderr.String(), 30))
		return -1
	}
}

// run runs one command to its end with stdin and returns its exit code,
// standard output and standard error.
func run(t *testing.T, env []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("phonestart %q still running after a minute; it should have returned", args)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("phonestart %q: %v", args, err)
	return -1, "", ""
}

// workerEnv is the environment of a worker on redisURL calling the fake at
// apiURL: JSON logs, retries within a second, and an API budget far above
// what the fake (unlimited) or these tests need. extra ("K=V") is appended
// and wins.
func workerEnv(redisURL, apiURL string, extra ...string) []string {
	return append([]string{
		"REDIS_URL=" + redisURL,
		"GEELARK_BASE_URL=" + apiURL,
		"GEELARK_APP_ID=" + geelarktest.DefaultAppID,
		"GEELARK_API_KEY=" + geelarktest.DefaultAPIKey,
		"PHONESTART_LOG_FORMAT=json",
		"PHONESTART_BATCH_WAIT=200ms",
		"PHONESTART_RETRY_BASE=100ms",
		"PHONESTART_RETRY_MAX=1s",
		"PHONESTART_RATE_PER_MINUTE=100000",
		"PHONESTART_RATE_PER_HOUR=10000000",
	}, extra...)
}

// freePort returns a TCP port of 127.0.0.1 that nothing listened on a
// moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
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
