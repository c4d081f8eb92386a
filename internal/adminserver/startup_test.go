package adminserver_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/phonestart/phonestart/internal/adminserver"
	"github.com/phonestart/phonestart/internal/redistest"
)

// A worker whose start-up check of GeeLark has not passed takes no phone:
// /readyz says so until the check passes, whatever Redis says.
func TestReadyzWaitsForTheStartUpCheck(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	var checked atomic.Bool
	admin, err := adminserver.New(adminserver.Config{
		Addr: "127.0.0.1:0", Redis: rdb, Logger: zaptest.NewLogger(t), Checked: checked.Load,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		admin.Shutdown(ctx)
	})
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + admin.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}

	code, body := get("/readyz")
	if code != 503 || body != "not ready: start-up check of GeeLark not yet passed" {
		t.Errorf("/readyz before the check passed: %d %q, want 503 naming the start-up check", code, body)
	}
	if code, body := get("/healthz"); code != 200 {
		t.Errorf("/healthz before the check passed: %d %q, want 200: the process is alive", code, body)
	}
	checked.Store(true)
	if code, body := get("/readyz"); code != 200 || body != "ready" {
		t.Errorf("/readyz once the check passed: %d %q, want 200 ready", code, body)
	}
}
