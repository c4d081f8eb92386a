package enqueue_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
	"github.com/redis/go-redis/v9"
)

// Without the replicas asked for, Start still writes the whole request,
// and says how many replicas acknowledged. (miniredis's WAIT always
// answers 0 replicas, like a master without any; so does the REDIS_URL
// server if it has none.)
func TestStartWithTooFewReplicasSaysHowMany(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{MinReplicas: 1, ReplicaTimeout: 100 * time.Millisecond})
	ids := phoneIDs("r", 700)

	rep, err := e.enq.Start(context.Background(), enqueue.Request{IDs: ids})

	var re *enqueue.ReplicaError
	if !errors.As(err, &re) || re.Acknowledged != 0 || re.Wanted != 1 {
		t.Fatalf("Start = %v, want a *ReplicaError saying 0 of 1 replicas", err)
	}
	if !strings.Contains(err.Error(), "0 of the 1 replicas") {
		t.Errorf("error %q does not say how many replicas acknowledged", err)
	}
	if rep.Enqueued != len(ids) {
		t.Errorf("report: %d enqueued, want %d", rep.Enqueued, len(ids))
	}
	if q := e.queue(tasks.Queue); q.Pending != len(ids) {
		t.Errorf("queue has %d pending, want %d", q.Pending, len(ids))
	}
}

// A request whose phones are all duplicates wrote nothing, so it waits for
// no replica.
func TestStartOfDuplicatesWaitsForNoReplica(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	e.start(enqueue.Request{IDs: []string{"p1"}})
	strict, err := enqueue.New(enqueue.Config{Redis: e.rdb, MinReplicas: 1, ReplicaTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := strict.Start(context.Background(), enqueue.Request{IDs: []string{"p1"}})
	if err != nil || rep.Enqueued != 0 || len(rep.Duplicates) != 1 {
		t.Errorf("Start = %+v, %v; want p1 as duplicate and no error", rep, err)
	}
}

// TestStartWaitsForReplicas runs a real master and replica (redis-server
// from PATH) and checks that with MinReplicas, Start returns only once the
// replica holds every task it wrote.
func TestStartWaitsForReplicas(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH: no master and replica to test WAIT against (miniredis has no replication)")
	}
	master := startRedisServer(t)
	replicaProc := startRedisServer(t, "--replicaof", "127.0.0.1", fmt.Sprint(master.port))
	replica := replicaProc.client(t)
	waitReplicated(t, master.client(t), replica)
	mrdb := master.client(t)
	ctx := context.Background()

	t.Run("held until the replica has the writes", func(t *testing.T) {
		enq, err := enqueue.New(enqueue.Config{Redis: mrdb, MinReplicas: 1, ReplicaTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		ids := phoneIDs("held", 2000)
		// The replica stops reading the master's stream: the writes reach
		// the master only.
		replicaProc.signal(t, syscall.SIGSTOP)
		type result struct {
			rep enqueue.Report
			err error
		}
		done := make(chan result, 1)
		go func() {
			rep, err := enq.Start(ctx, enqueue.Request{IDs: ids})
			done <- result{rep, err}
		}()
		waitPending(t, asynq.NewInspectorFromRedisClient(mrdb), len(ids))
		time.Sleep(200 * time.Millisecond) // what Start would need to return, had it not waited
		select {
		case r := <-done:
			replicaProc.signal(t, syscall.SIGCONT)
			t.Fatalf("Start returned (%+v, %v) while the replica was stopped", r.rep, r.err)
		default:
		}
		replicaProc.signal(t, syscall.SIGCONT)
		r := <-done
		if r.err != nil || r.rep.Enqueued != len(ids) {
			t.Fatalf("Start = %+v, %v; want %d enqueued", r.rep, r.err, len(ids))
		}
		// Right away, without waiting: the replica has every record and
		// every task.
		if n := replicaPending(t, replica); n != len(ids) {
			t.Errorf("when Start returned the replica held %d pending tasks, want %d", n, len(ids))
		}
		if n := replicaQueued(t, replica); n != len(ids) {
			t.Errorf("when Start returned the replica held %d queued records, want %d", n, len(ids))
		}
	})

	t.Run("more replicas than there are", func(t *testing.T) {
		enq, err := enqueue.New(enqueue.Config{Redis: mrdb, MinReplicas: 2, ReplicaTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ids := phoneIDs("two", 300)
		rep, err := enq.Start(ctx, enqueue.Request{IDs: ids})
		var re *enqueue.ReplicaError
		if !errors.As(err, &re) || re.Acknowledged != 1 || re.Wanted != 2 {
			t.Fatalf("Start = %v, want a *ReplicaError saying 1 of 2 replicas", err)
		}
		if rep.Enqueued != len(ids) {
			t.Errorf("report: %d enqueued, want %d", rep.Enqueued, len(ids))
		}
	})
}

// redisServer is a redis-server process of a test.
type redisServer struct {
	port int
	cmd  *exec.Cmd
}

// startRedisServer starts a redis-server on a free port, in a temporary
// directory, without persistence, killed when the test ends.
func startRedisServer(t *testing.T, args ...string) *redisServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	args = append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", t.TempDir(),
		"--save", "", "--appendonly", "no"}, args...)
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT) // a stopped process dies only once resumed
		cmd.Process.Kill()
		cmd.Wait()
	})
	s := &redisServer{port: port, cmd: cmd}
	c := s.client(t)
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d does not answer after 10s", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

func (s *redisServer) client(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.port), PoolSize: 64})
	t.Cleanup(func() { c.Close() })
	return c
}

func (s *redisServer) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// waitReplicated waits until the replica is in sync with the master.
func waitReplicated(t *testing.T, master, replica *redis.Client) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m, _ := master.Info(ctx, "replication").Result()
		r, _ := replica.Info(ctx, "replication").Result()
		if strings.Contains(m, "connected_slaves:1") && strings.Contains(r, "master_link_status:up") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica not in sync after 20s:\nmaster: %s\nreplica: %s", m, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitPending waits until the queue holds n pending tasks.
func waitPending(t *testing.T, insp *asynq.Inspector, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		qi, err := insp.GetQueueInfo(tasks.Queue)
		if err == nil && qi.Pending == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue: %+v, %v after 30s; want %d pending", qi, err, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// replicaPending counts the pending tasks on a replica, reading asynq's
// pending list directly: a replica refuses the Inspector's scripts.
func replicaPending(t *testing.T, replica *redis.Client) int {
	t.Helper()
	n, err := replica.LLen(context.Background(), "asynq:{"+tasks.Queue+"}:pending").Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// replicaQueued counts the queued phones' records on a replica.
func replicaQueued(t *testing.T, replica *redis.Client) int {
	t.Helper()
	store, err := fleet.NewStore(replica, fleet.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := store.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c.ByState[fleet.StateQueued]
}
