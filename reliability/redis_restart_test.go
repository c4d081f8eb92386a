//go:build reliability

package reliability

import (
	"context"
	"fmt"
	psfleet "github.com/phonestart/phonestart/internal/fleet"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// redisServer is a redis-server of the test's own, persisting every write
// to its append-only file before answering.
type redisServer struct {
	t    *testing.T
	path string
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

func startRedisServer(t *testing.T, path, dir string, port int) *redisServer {
	t.Helper()
	s := &redisServer{t: t, path: path, dir: dir, port: port}
	s.start()
	return s
}

func (s *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

// start runs the server on its port and dir and waits until it answers
// PING, its append-only file loaded.
func (s *redisServer) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.path,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--logfile", filepath.Join(s.dir, "redis.log"))
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	s.done = done
	cmd := s.cmd
	go func() { _ = cmd.Wait(); close(done) }()
	s.t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	})
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.port), MaxRetries: -1})
	defer c.Close()
	eventually(s.t, 30*time.Second, func() bool {
		return c.Ping(context.Background()).Err() == nil
	}, func() string { return "redis-server does not answer PING; see " + filepath.Join(s.dir, "redis.log") })
}

// stop sends SIGTERM, on which Redis flushes its append-only file and
// exits, and waits for it to be gone.
func (s *redisServer) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.t.Fatal("redis-server still running 30s after SIGTERM")
	}
}

// TestRedisRestartMidRunLosesNoPhone stops the only Redis while phones are
// flowing through a worker, starts it again on the same port and data
// directory (append-only file, fsync on every write), and enqueues more
// while a second worker joins. Every phone must end started.
//
// A dequeue whose reply was lost when Redis went away leaves its task
// active, with a lease no worker renews, until asynq recovers it: 60s after
// the dequeue at the soonest (see TestSIGKILLMidCallLosesNoPhone), at a
// recoverer run, which each worker makes at its start and then once a
// minute. The first worker's runs are a minute apart from its own start, so
// alone it would recover such a phone 60 to 120s after the outage; the
// second worker, started just after Redis is back, recovers it about 60s
// after the outage. This case takes about 65s and runs in parallel with the
// others.
func TestRedisRestartMidRunLosesNoPhone(t *testing.T) {
	t.Parallel()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH: restarting Redis needs a real server (apt-get install redis-server)")
	}
	srv := startRedisServer(t, path, t.TempDir(), freePort(t))
	f := newFleet(t, srv.url())
	fake := geelarktest.NewServer(geelarktest.Config{Latency: 300 * time.Millisecond})
	t.Cleanup(fake.Close)
	before := phoneIDs("5577902", 3000)
	f.enqueue(before)

	env := workerEnv(srv.url(), fake.URL, "PHONESTART_BATCH_SIZE=50")
	w1 := startProc(t, "worker 1", env, "worker")
	eventually(t, 60*time.Second, func() bool { return w1.exited() || len(fake.CallsTo(geelark.StartPath)) >= 3 },
		func() string { return "fewer than 3 calls; log:\n" + tail(w1.stderr.String(), 30) })
	q, _ := f.counts()
	srv.stop()
	stopped := time.Now()
	t.Logf("Redis stopped after %d calls; queue then: %d pending, %d active, %d completed",
		len(fake.CallsTo(geelark.StartPath)), q.Pending, q.Active, q.Completed)
	time.Sleep(2 * time.Second) // calls in flight end while Redis is away
	srv.start()
	t.Logf("Redis back after %v", time.Since(stopped).Round(time.Millisecond))
	if w1.exited() {
		t.Fatalf("worker 1 exited %d while Redis was away; log:\n%s", w1.exitCode(), tail(w1.stderr.String(), 30))
	}
	w2 := startProc(t, "worker 2", env, "worker")
	after := phoneIDs("5577903", 500)
	f.enqueue(after)
	all := append(append([]string{}, before...), after...)

	f.waitSettled(all, 150*time.Second, func() string {
		return "worker 1:\n" + tail(w1.stderr.String(), 15) + "\nworker 2:\n" + tail(w2.stderr.String(), 15)
	})
	t.Logf("all %d phones settled %v after Redis stopped", len(all), time.Since(stopped).Round(time.Second))
	byState, _ := f.assertNoneLost(all, fake)
	if byState[psfleet.StateReady] != len(all) {
		t.Errorf("phones by state %v: every phone starts at the fake, so each should be ready", byState)
	}
	assertNoneTwice(t, fake, all)
	dups, extra := duplicates(fake, all)
	t.Logf("duplicates: %d of %d phones started more than once (%d extra starts)", len(dups), len(all), extra)

	for _, w := range []*proc{w1, w2} {
		if code, _ := w.stop(syscall.SIGTERM, 30*time.Second); code != 0 {
			t.Errorf("%s exited %d after SIGTERM; log:\n%s", w.name, code, tail(w.stderr.String(), 30))
		}
	}
}
