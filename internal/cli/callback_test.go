package cli_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
)

func TestCallbackSetRegistersTheURL(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	env := h.with(map[string]string{"GEELARK_BASE_URL": fake.URL, "GEELARK_APP_ID": "test-app", "GEELARK_API_KEY": secretKey})

	o := h.runEnv(env, "", "callback", "set", "https://hooks.example.com/geelark/callback")
	if o.code != 0 || !strings.Contains(o.stdout, "callback URL set to https://hooks.example.com/geelark/callback") {
		t.Fatalf("callback set: %v", o)
	}
	if got := fake.CallbackURL(); got != "https://hooks.example.com/geelark/callback" {
		t.Fatalf("the fake's callback URL is %q", got)
	}
	assertNoSecret(t, o.stdout+o.stderr)

	for _, bad := range []string{"hooks.example.com/geelark/callback", "ftp://x/y", "https://user:pw@x/geelark/callback"} {
		if o := h.runEnv(env, "", "callback", "set", bad); o.code != 2 {
			t.Errorf("callback set %q: %v; want exit 2", bad, o)
		}
	}
	if got := fake.CallbackURL(); got != "https://hooks.example.com/geelark/callback" {
		t.Errorf("a refused URL reached GeeLark: %q", got)
	}
	if o := h.runEnv(env, "", "callback", "get"); o.code != 2 {
		t.Errorf("callback get: %v", o)
	}
}

// PHONESTART_CALLBACK=on needs key-mode credentials and an admin server.
func TestWorkerCallbackNeedsKeyModeAndAdmin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, env := range []map[string]string{
		{"PHONESTART_CALLBACK": "on", "GEELARK_TOKEN": secretToken},
		{"PHONESTART_CALLBACK": "on", "GEELARK_APP_ID": "a", "GEELARK_API_KEY": secretKey, "PHONESTART_ADMIN_ADDR": "off"},
		{"PHONESTART_CALLBACK": "yes", "GEELARK_APP_ID": "a", "GEELARK_API_KEY": secretKey},
	} {
		o := h.runEnv(h.with(env), "", "worker")
		if o.code != 2 || !strings.Contains(o.stderr, "PHONESTART_CALLBACK") {
			t.Errorf("worker with %v: %v; want exit 2 naming PHONESTART_CALLBACK", env, o)
		}
		assertNoSecret(t, o.stdout+o.stderr)
	}
}

// A worker with PHONESTART_CALLBACK=on takes GeeLark's signed start event
// at its admin server and records the verdict on the booting phone.
func TestWorkerTakesCallbacks(t *testing.T) {
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	env := h.workerEnv(fake)
	env["PHONESTART_ADMIN_ADDR"] = "127.0.0.1:0"
	env["PHONESTART_CALLBACK"] = "on"
	// A phone GeeLark accepted, not due for a check for an hour: only the
	// callback can settle it soon. Its task is stale by the time the worker
	// sees it.
	h.mustRun("", "enqueue", "5577001")
	h.booting("", "5577001")
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
	ev := geelark.CallbackEvent{Type: geelark.CallbackStart, ID: "5577001", Result: true, EventTime: time.Now()}
	if err := fake.SendCallback(context.Background(), base+"/geelark/callback", ev); err != nil {
		t.Fatal(err)
	}
	// The verdict is on the boot, or a worker already acted on it.
	if p := h.record("5577001"); p.State != fleet.StateReady && p.Boot.Verdict != fleet.VerdictReady {
		t.Fatalf("record after the callback: %+v; want verdict ready", p)
	}
	// The phone is ready, and no status call was made for it.
	eventually(t, 10*time.Second, func() bool { return h.state("5577001") == fleet.StateReady },
		func() string { return "the phone is not ready after its callback:\n" + w.stderr.String() })
	if o := h.mustRun("", "phone", "5577001"); !strings.Contains(o.stdout, "5577001: ready since") {
		t.Errorf("phone 5577001 printed %q, want it ready", o.stdout)
	}
	if n := len(fake.CallsTo(geelark.StatusPath)); n != 0 {
		t.Errorf("%d status calls: the callback should have confirmed the phone without one", n)
	}
	assertNoSecret(t, w.stderr.String())
}
