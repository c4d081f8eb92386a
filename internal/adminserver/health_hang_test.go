package adminserver_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/adminserver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zaptest"
)

// readyzAgainst starts an admin server on rdb and returns its /readyz URL.
func readyzAgainst(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	admin, err := adminserver.New(adminserver.Config{
		Addr: "127.0.0.1:0", Redis: rdb, Gatherer: prometheus.NewRegistry(), Logger: zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		admin.Shutdown(ctx)
	})
	return "http://" + admin.Addr() + "/readyz"
}

// getReadyz asks url with a 1.5s bound: /readyz must answer within it.
func getReadyz(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 1500 * time.Millisecond}
	began := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("/readyz did not answer within 1.5s: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	t.Logf("/readyz answered %d in %v: %s", resp.StatusCode, time.Since(began).Round(time.Millisecond), strings.TrimSpace(string(b)))
	return resp.StatusCode, string(b)
}

// A Redis that accepts connections and never answers.
func TestReadyzAnswersWhileRedisHangs(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // read nothing, answer nothing
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String()})
	t.Cleanup(func() { rdb.Close() })
	url := readyzAgainst(t, rdb)
	for range 3 { // again and again: each probe is bounded
		code, body := getReadyz(t, url)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "Redis at "+ln.Addr().String()) {
			t.Fatalf("/readyz with a hanging Redis: %d %q, want 503 naming Redis", code, body)
		}
	}
}

// A real redis-server frozen with SIGSTOP, as a stuck or swapping server.
func TestReadyzAnswersWhileRedisIsFrozen(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not on PATH")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	t.Cleanup(func() { rdb.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redis-server did not start:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	url := readyzAgainst(t, rdb)
	if code, body := getReadyz(t, url); code != http.StatusOK {
		t.Fatalf("/readyz with Redis up: %d %q", code, body)
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if code, body := getReadyz(t, url); code != http.StatusServiceUnavailable || !strings.Contains(body, "Redis") {
			t.Fatalf("/readyz with Redis frozen: %d %q, want 503 naming Redis", code, body)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// Back: ready again once go-redis has dropped the connections that
	// timed out.
	deadline = time.Now().Add(15 * time.Second)
	for {
		code, _ := getReadyz(t, url)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz not ready 15s after Redis was thawed")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
