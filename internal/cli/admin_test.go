package cli_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark/geelarktest"
)

func TestWorkerServesAdminEndpoints(t *testing.T) {
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	env := h.workerEnv(fake)
	env["PHONESTART_ADMIN_ADDR"] = "127.0.0.1:0"
	w := h.startWorker(env)
	var base string
	eventually(t, 10*time.Second, func() bool {
		for _, l := range logLines(t, w.stderr.String()) {
			if l["msg"] == "admin server listening" {
				base = strings.TrimSuffix(fmt.Sprint(l["metrics"]), "/metrics")
				return true
			}
		}
		return false
	}, func() string { return "no admin server in the worker log:\n" + w.stderr.String() })
	// Ready only once the start-up check has passed and the worker runs.
	eventually(t, 10*time.Second, func() bool { return strings.Contains(w.stderr.String(), "worker started") },
		func() string { return "the worker did not start:\n" + w.stderr.String() })

	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for path, want := range map[string]string{
		"/healthz":     "ok",
		"/readyz":      "ready",
		"/metrics":     "phonestart_paused 0",
		"/monitoring/": "<html",
	} {
		code, body := get(path)
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, want 200 with %q; got %.300q", path, code, want, body)
		}
		assertNoSecret(t, body)
	}
	if code := w.stop(); code != 0 {
		t.Fatalf("worker exited %d", code)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("admin server still answers after the worker stopped")
	}
}

func TestAdminAddrIsCheckedAtStartUp(t *testing.T) {
	h := newHarness(t)
	creds := map[string]string{"GEELARK_APP_ID": "test-app", "GEELARK_API_KEY": secretKey}
	o := h.runEnv(h.with(creds), "", "worker", "--admin-addr", "9090")
	if o.code != 2 || !strings.Contains(o.stderr, "PHONESTART_ADMIN_ADDR") {
		t.Errorf("--admin-addr 9090: %v", o)
	}
	// An address given that is taken stops the worker; it must not run
	// without the endpoints it was asked to serve.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := h.with(creds)
	env["PHONESTART_ADMIN_ADDR"] = ln.Addr().String()
	o = h.runEnv(env, "", "worker")
	if o.code != 1 || !strings.Contains(o.stderr, "admin server") {
		t.Errorf("PHONESTART_ADMIN_ADDR taken: %v", o)
	}
}
