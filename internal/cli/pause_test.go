package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
)

// pauseJSON runs `pause --json`.
func (h *harness) pauseJSON(env map[string]string) map[string]any {
	h.t.Helper()
	o := h.runEnv(env, "", "pause", "--json")
	if o.code != 0 {
		h.t.Fatalf("pause --json: %v", o)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(o.stdout), &v); err != nil {
		h.t.Fatalf("pause --json printed %q: %v", o.stdout, err)
	}
	return v
}

func TestPauseWithoutAPause(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if o := h.mustRun("", "pause"); strings.TrimSpace(o.stdout) != "no fleet pause" {
		t.Errorf("pause with none in force printed %q", o.stdout)
	}
	if v := h.pauseJSON(h.env); len(v) != 1 || v["paused"] != false {
		t.Errorf(`pause --json with none in force: %v, want {"paused":false}`, v)
	}
	if o := h.mustRun("", "pause", "lift"); !strings.Contains(o.stdout, "no fleet pause to lift") {
		t.Errorf("pause lift with none in force printed %q", o.stdout)
	}
	if o := h.mustRun("", "status"); strings.Contains(o.stdout, "lifted") {
		t.Errorf("status shows a lift when none happened:\n%s", o.stdout)
	}
	if o := h.run("", "pause", "now"); o.code != 2 || !strings.Contains(o.stderr, `"now"`) {
		t.Errorf("pause now: %v", o)
	}
}

// An account-wide pause shows its reason, setter, next probe and when
// waiting phones are dead-lettered (since + PHONESTART_MAX_WAIT).
func TestPauseShowsAnAccountWidePause(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	pauses := h.store().Pauses(nil)
	probe := time.Now().Add(time.Minute).Truncate(time.Second)
	p, _, err := pauses.Set(ctx, 41001, "balance not enough, top up", probe)
	if err != nil {
		t.Fatal(err)
	}
	env := h.with(map[string]string{"PHONESTART_MAX_WAIT": "2h"})
	o := h.runEnv(env, "", "pause")
	deadAt := p.Since.Add(2 * time.Hour).UTC()
	for _, want := range []string{"geelark 41001 (balance not enough)", `"balance not enough, top up"`, "set by        " + fleet.Self(),
		"since         " + p.Since.UTC().Format(time.RFC3339), "next probe    " + probe.UTC().Format(time.RFC3339),
		"phones still waiting at " + deadAt.Format(time.RFC3339), "pause lift"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("pause does not show %q:\n%s", want, o.stdout)
		}
	}
	v := h.pauseJSON(env)
	want := map[string]any{"paused": true, "id": p.ID, "code": float64(41001), "meaning": "balance not enough", "class": "account",
		"msg": "balance not enough, top up", "by": fleet.Self(), "until": probe.UTC().Format(time.RFC3339Nano),
		"dead_letter_at": deadAt.Format(time.RFC3339Nano), "since": p.Since.UTC().Format(time.RFC3339Nano)}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("pause --json %q = %v, want %v (all: %v)", k, v[k], w, v)
		}
	}
}

// A worker makes no call during a pause; `pause lift` ends it, and the
// next call goes out at once.
func TestPauseLiftLetsTheNextCallOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	w := h.startWorker(h.workerEnv(fake))
	eventually(t, 20*time.Second, func() bool { return strings.Contains(w.stderr.String(), "worker started") },
		func() string { return "the worker did not start:\n" + w.stderr.String() })

	ctx := context.Background()
	until := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	pz, _, err := h.store().Pauses(nil).Set(ctx, 40007, "too many requests", until)
	if err != nil {
		t.Fatal(err)
	}
	o := h.mustRun("", "pause")
	for _, want := range []string{"geelark 40007 (too many requests)", "set by        " + fleet.Self(), "ends          " + until.UTC().Format(time.RFC3339)} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("pause does not show %q:\n%s", want, o.stdout)
		}
	}
	// The phone is taken and parked to wait out the pause, uncalled.
	h.mustRun("", "enqueue", "5577000001")
	eventually(t, 20*time.Second, func() bool {
		p := h.record("5577000001")
		return p.State == fleet.StateQueued && p.Waits == pz.ID
	}, func() string {
		return fmt.Sprintf("phone is %+v, want queued waiting out pause %s", h.record("5577000001"), pz.ID)
	})
	if n := len(startCalls(fake)); n != 0 {
		t.Fatalf("%d start calls during the pause", n)
	}

	o = h.mustRun("", "pause", "lift")
	if !strings.Contains(o.stdout, "lifted the fleet pause: geelark 40007") || !strings.Contains(o.stdout, fleet.Self()) ||
		!strings.Contains(o.stdout, "1 parked phone sent back to the queue") {
		t.Errorf("pause lift printed %q: want the code, who set it and the parked phone sent back", o.stdout)
	}
	if o := h.mustRun("", "pause"); strings.TrimSpace(o.stdout) != "no fleet pause" {
		t.Errorf("pause after the lift printed %q", o.stdout)
	}
	o = h.mustRun("", "status")
	if !strings.Contains(o.stdout, "pause lifted at ") || !strings.Contains(o.stdout, "by phonestart pause lift on ") ||
		strings.Contains(o.stdout, "PAUSED") {
		t.Errorf("status after the lift:\n%s", o.stdout)
	}
	// A worker's view of the pause is up to a second old (fleet.Pauses
	// caches it): a phone it takes within that second still waits.
	time.Sleep(1500 * time.Millisecond)
	h.mustRun("", "enqueue", "5577000002")
	eventually(t, 20*time.Second, func() bool { return fake.Starts("5577000002") == 1 },
		func() string {
			return "no call after the lift: phone " + h.state("5577000002") + "; log:\n" + w.stderr.String()
		})
	assertNoSecret(t, w.stderr.String())
}

func TestPauseHelp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	env := map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0"} // -h must not connect
	for _, args := range [][]string{{"pause", "-h"}, {"help", "pause"}, {"pause", "lift", "-h"}} {
		o := h.runEnv(env, "", args...)
		if o.code != 0 || !strings.Contains(o.stdout, "phonestart pause lift") || !strings.Contains(o.stdout, "REDIS_URL") {
			t.Errorf("phonestart %q: %v", args, o)
		}
	}
	if o := h.runEnv(env, "", "pause", "-h"); !strings.Contains(o.stdout, "-json") || !strings.Contains(o.stdout, "PHONESTART_MAX_WAIT") {
		t.Errorf("pause -h does not show --json and PHONESTART_MAX_WAIT:\n%s", o.stdout)
	}
}
