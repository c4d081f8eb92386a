package cli_test

import (
	"encoding/json"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
)

// enqueued waits until the phones are queued: the command's request is in.
func (h *harness) enqueued(ids ...string) {
	h.t.Helper()
	eventually(h.t, 30*time.Second, func() bool {
		for _, p := range h.records(ids...) {
			if p.State != fleet.StateQueued {
				return false
			}
		}
		return true
	}, func() string { return "the phones were not enqueued" })
}

// waitJSON is what `enqueue --wait --json` prints.
type waitJSON struct {
	Request    string               `json:"request"`
	Enqueued   int                  `json:"enqueued"`
	Duplicates int                  `json:"duplicates"`
	Ready      []enqueue.ReadyPhone `json:"ready"`
	Dead       []enqueue.DeadPhone  `json:"dead"`
	Cancelled  []string             `json:"cancelled"`
	Stopped    []string             `json:"stopped"`
	Unfinished []string             `json:"unfinished"`
}

// waitKeys are the keys of `enqueue --wait --json`, in order.
var waitKeys = []string{"request", "enqueued", "duplicates", "ready", "dead", "cancelled", "stopped", "unfinished"}

// decodeWait decodes `enqueue --wait --json`, which must be one line with
// exactly waitKeys, in order.
func decodeWait(t *testing.T, stdout string) waitJSON {
	t.Helper()
	var v waitJSON
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil || !fleet.ValidRequestID(v.Request) || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("enqueue --wait --json printed %q (%v)", stdout, err)
	}
	at := 0
	for _, k := range waitKeys {
		i := strings.Index(stdout, `"`+k+`":`)
		if i < at {
			t.Fatalf("enqueue --wait --json printed %q: want the keys %v in that order", stdout, waitKeys)
		}
		at = i
	}
	return v
}

// ids returns the IDs of ready phones.
func readyIDs(rs []enqueue.ReadyPhone) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// enqueue --wait over ready, dead, cancelled, stopped and never-finishing
// phones, a phone already queued (a duplicate) and one given twice prints
// each set and exits 1.
func TestEnqueueWaitReportsEachPhone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "5577005") // someone else's, still queued
	began := time.Now()
	b := h.start(h.env, "enqueue", "--wait", "--json", "--wait-timeout", "5s",
		"5577001", "5577002", "5577003", "5577004", "5577005", "5577006", "5577007", "5577001")
	h.enqueued("5577001", "5577002", "5577003", "5577004", "5577006", "5577007")
	h.ready("https://x/1", "5577001")
	h.die(fleet.ActionStart, 42001, "cloud phone does not exist", "5577002")
	h.booting("", "5577003", "5577007")
	h.ready("https://x/5", "5577005")
	h.mustRun("", "cancel", "5577006")
	// A stop of a phone GeeLark is starting follows the start: the start's
	// request ends with the stop.
	h.mustRun("", "stop", "5577007")
	h.stopped("5577007")
	code := b.wait(t)
	v := decodeWait(t, b.stdout.String())
	if v.Enqueued != 6 || v.Duplicates != 2 {
		t.Errorf("enqueue --wait --json: %d enqueued, %d duplicates; want 6 and 2", v.Enqueued, v.Duplicates)
	}
	if got := readyIDs(v.Ready); !slices.Equal(got, []string{"5577001", "5577005"}) {
		t.Errorf("ready %v, want [5577001 5577005]", got)
	}
	for _, r := range v.Ready {
		if r.URL != "https://x/"+r.ID[6:] || r.At.Before(began.Add(-time.Second)) || r.At.After(time.Now()) {
			t.Errorf("ready phone %+v: want its url and when it was ready", r)
		}
	}
	wantDead := []enqueue.DeadPhone{{ID: "5577002", Action: "start", Code: 42001, Reason: "geelark", Msg: "cloud phone does not exist"}}
	if !slices.Equal(v.Dead, wantDead) {
		t.Errorf("dead %+v, want %+v", v.Dead, wantDead)
	}
	if !slices.Equal(v.Cancelled, []string{"5577006"}) || !slices.Equal(v.Stopped, []string{"5577007"}) ||
		!slices.Equal(v.Unfinished, []string{"5577003", "5577004"}) {
		t.Errorf("cancelled %v, stopped %v, unfinished %v; want [5577006], [5577007], [5577003 5577004]",
			v.Cancelled, v.Stopped, v.Unfinished)
	}
	if code != 1 {
		t.Fatalf("exit %d with phones not ready, want 1; stderr %q", code, b.stderr)
	}
	if !strings.Contains(b.stderr.String(), "5 of 7 phones not ready: 1 dead, 1 cancelled, 1 stopped, 2 unfinished") {
		t.Errorf("stderr %q does not count the phones not ready", b.stderr)
	}
}

// All ready exits 0, as soon as the last one is.
func TestEnqueueWaitAllReadyExitsZero(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.start(h.env, "enqueue", "--wait", "5577001", "5577002")
	h.enqueued("5577001", "5577002")
	h.ready("", "5577001")
	h.booting("", "5577002")
	h.bootReady("5577002")
	if code := b.wait(t); code != 0 {
		t.Fatalf("exit %d, want 0; stdout %q stderr %q", code, b.stdout, b.stderr)
	}
	if out := b.stdout.String(); !strings.Contains(out, "ready 2, dead 0, cancelled 0, stopped 0, unfinished 0") {
		t.Errorf("enqueue --wait printed %q", out)
	}
}

// SIGINT ends the wait, not the phones: what is known is printed, exit 1,
// and the unfinished phone is still queued.
func TestEnqueueWaitSIGINT(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := startProcess(t, map[string]string{"REDIS_URL": h.r.URL}, "enqueue", "--wait", "--json", "5577001", "5577002")
	h.enqueued("5577001", "5577002")
	// SIGINT before the enqueue is done is an interrupted enqueue, not an
	// interrupted wait: the wait begins once the tasks are written, within
	// a few milliseconds.
	queue := fleet.MustSpace("").StartQueue()
	eventually(t, 30*time.Second, func() bool {
		for _, id := range []string{"5577001", "5577002"} {
			if _, err := h.insp.GetTaskInfo(queue, h.taskID(id)); err != nil {
				return false
			}
		}
		return true
	}, func() string { return "the tasks were not written" })
	time.Sleep(500 * time.Millisecond)
	h.ready("https://x/1", "5577001")
	code, _ := p.signal(t, syscall.SIGINT, 30*time.Second)
	v := decodeWait(t, p.stdout.String())
	if v.Enqueued != 2 || v.Duplicates != 0 || !slices.Equal(readyIDs(v.Ready), []string{"5577001"}) || len(v.Dead) != 0 ||
		len(v.Cancelled) != 0 || len(v.Stopped) != 0 || !slices.Equal(v.Unfinished, []string{"5577002"}) {
		t.Fatalf("after SIGINT enqueue --wait printed %q, want 5577001 ready and 5577002 unfinished; stderr %q", p.stdout, p.stderr)
	}
	if code != 1 {
		t.Fatalf("exit %d after SIGINT, want 1", code)
	}
	if st := h.state("5577002"); st != fleet.StateQueued {
		t.Errorf("phone 5577002 is %s after the wait was interrupted, want still queued", st)
	}
}

func TestEnqueueWaitFlags(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if o := h.run("", "enqueue", "--wait-timeout", "1m", "5577001"); o.code != 2 {
		t.Errorf("--wait-timeout without --wait: %v", o)
	}
	if o := h.run("", "enqueue", "--wait", "--wait-timeout", "0s", "5577001"); o.code != 2 {
		t.Errorf("--wait-timeout 0s: %v", o)
	}
	h.assertNothingEnqueued()
}
