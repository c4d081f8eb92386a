package redisconn_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/redisconn"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestOpenGivesAWorkingClient(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	rdb, err := redisconn.Open(context.Background(), redisconn.Config{URL: r.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Set(ctx, "phonestart:redisconn-test", "1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if got := rdb.Options().PoolSize; got < redisconn.DefaultPoolSize {
		t.Errorf("pool size %d, want at least %d", got, redisconn.DefaultPoolSize)
	}
}

// openErr opens url with a deadline on ctx, so that an Open slower than
// that fails with the context's error rather than the *Error wanted.
func openErr(t *testing.T, url string, within time.Duration) *redisconn.Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	rdb, err := redisconn.Open(ctx, redisconn.Config{URL: url})
	if err == nil {
		rdb.Close()
		t.Fatalf("Open(%q) succeeded", url)
	}
	var e *redisconn.Error
	if !errors.As(err, &e) {
		t.Fatalf("Open(%q) = %v, want a *redisconn.Error within %v", url, err, within)
	}
	return e
}

func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestOpenNamesAnUnreachableServer(t *testing.T) {
	t.Parallel()
	port := closedPort(t)
	cases := []struct{ url, where string }{
		{fmt.Sprintf("redis://:pw-never-show@127.0.0.1:%d/0", port), fmt.Sprintf("127.0.0.1:%d", port)},
		{fmt.Sprintf("redis+sentinel://:pw-never-show@127.0.0.1:%d/mymaster", port), fmt.Sprintf(`master "mymaster" via Sentinel 127.0.0.1:%d`, port)},
	}
	for _, tc := range cases {
		e := openErr(t, tc.url, 10*time.Second)
		msg := e.Error()
		if e.Kind != redisconn.Unreachable || e.Config() || !strings.Contains(msg, "cannot reach Redis at "+tc.where) ||
			!strings.Contains(msg, "REDIS_URL") || strings.Contains(msg, "pw-never-show") {
			t.Errorf("Open(%q): kind %d: %q", tc.url, e.Kind, msg)
		}
	}
}

func TestOpenTLSAgainstAPlainServerNamesTLS(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	url := "rediss://" + strings.TrimPrefix(r.URL, "redis://")
	e := openErr(t, url, 5*time.Second)
	msg := e.Error()
	t.Logf("%s", msg)
	if e.Kind != redisconn.TLS || !e.Config() || !strings.Contains(msg, "speak TLS") ||
		!strings.Contains(msg, "redis://") {
		t.Errorf("kind %d: %q: want TLS named, and redis:// suggested", e.Kind, msg)
	}
}

func TestOpenRefusesAClusterNode(t *testing.T) {
	t.Parallel()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH: the Cluster refusal needs a real server in cluster mode (apt-get install redis-server)")
	}
	dir := t.TempDir()
	port := closedPort(t)
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--save", "", "--appendonly", "no",
		"--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1})
	defer c.Close()
	for c.Ping(context.Background()).Err() != nil {
		select {
		case <-done:
			t.Fatalf("redis-server exited; see %s", filepath.Join(dir, "redis.log"))
		case <-time.After(50 * time.Millisecond):
		}
	}
	e := openErr(t, fmt.Sprintf("redis://127.0.0.1:%d/0", port), 10*time.Second)
	msg := e.Error()
	for _, w := range []string{"REDIS_URL", "cluster mode", "Sentinel", "single Redis", "CROSSSLOT"} {
		if !strings.Contains(msg, w) {
			t.Errorf("%q does not say %q", msg, w)
		}
	}
	if e.Kind != redisconn.ClusterMode || !e.Config() {
		t.Errorf("kind %d, want ClusterMode", e.Kind)
	}
}

func TestOpenSentinelURLToAPlainRedisSaysSo(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	addr := strings.TrimPrefix(r.URL, "redis://")
	addr = addr[:strings.Index(addr, "/")]
	e := openErr(t, "redis+sentinel://"+addr+"/mymaster", 10*time.Second)
	if msg := e.Error(); e.Kind != redisconn.BadURL || !strings.Contains(msg, addr+" is not a Sentinel") || !strings.Contains(msg, "redis://") {
		t.Errorf("kind %d: %q: want the address named as no Sentinel, and redis:// suggested", e.Kind, msg)
	}
}
