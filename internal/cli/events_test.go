package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/cli"
	"github.com/phonestart/phonestart/internal/fleet"
)

// background is a command running in-process until it returns or is
// cancelled (SIGINT, to the command).
type background struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int
}

func (h *harness) start(env map[string]string, args ...string) *background {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &background{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		b.done <- cli.Main(args, cli.Env{Stdin: strings.NewReader(""), Stdout: b.stdout, Stderr: b.stderr,
			Getenv: getenv(env), Ctx: ctx})
	}()
	h.t.Cleanup(cancel)
	return b
}

// wait returns the command's exit code; it fails the test after a minute.
func (b *background) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-b.done:
		return code
	case <-time.After(time.Minute):
		t.Fatalf("still running after a minute; stdout %q stderr %q", b.stdout, b.stderr)
		return -1
	}
}

// eventLines decodes `events --json`.
func eventLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("events --json line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// eventKeys are the keys of each line of `events --json`, exactly.
var eventKeys = []string{"action", "at", "attempt", "code", "event", "id", "labels", "msg", "reason", "requests", "url"}

func TestEventsListsEveryStepNewestLast(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	req := enqueuedJSON(t, h.mustRun("", "enqueue", "--json", "--label", "night-shift", "5577001", "5577002").stdout).Request
	h.booting("https://x/1", "5577001")
	h.die(fleet.ActionStart, 42001, "cloud phone does not exist", "5577002")
	h.bootReady("5577001")

	lines := eventLines(t, h.mustRun("", "events", "--json").stdout)
	var got []string
	for _, l := range lines {
		if keys := slices.Sorted(maps.Keys(l)); !slices.Equal(keys, eventKeys) {
			t.Fatalf("events --json line has keys %v, want %v", keys, eventKeys)
		}
		got = append(got, l["id"].(string)+" "+l["event"].(string))
	}
	want := []string{"5577001 enqueued", "5577002 enqueued", "5577001 started", "5577002 dead", "5577001 ready"}
	if !slices.Equal(got, want) {
		t.Fatalf("events --json: %q, want %q", got, want)
	}
	if d := lines[3]; d["action"] != "start" || d["attempt"] != float64(1) || d["code"] != float64(42001) ||
		d["reason"] != "geelark" || d["msg"] != "cloud phone does not exist" {
		t.Errorf("dead event %v", d)
	}
	// Every step carries the request and its label.
	for _, l := range lines {
		if fmt.Sprint(l["requests"]) != "["+req+"]" || fmt.Sprint(l["labels"]) != "[night-shift]" {
			t.Errorf("event %v: want requests [%s] and labels [night-shift]", l, req)
		}
	}
	if r := lines[4]; r["url"] != "https://x/1" {
		t.Errorf("ready event %v: want url https://x/1", r)
	}

	o := h.mustRun("", "events", "5577002")
	text := strings.Split(strings.TrimSpace(o.stdout), "\n")
	if len(text) != 2 || !strings.Contains(text[1], "5577002") || !strings.Contains(text[1], "dead") ||
		!strings.Contains(text[1], "code 42001") || !strings.Contains(text[1], "cloud phone does not exist") ||
		!strings.Contains(text[1], "[night-shift]") {
		t.Fatalf("events 5577002 printed %q: want its two events, the dead one with its code, message and label", o.stdout)
	}
	if o := h.run("", "events", "bad id"); o.code != 2 {
		t.Errorf("events with a bad ID: %v", o)
	}
}

// --follow prints events as they come until SIGINT, then exits 0.
func TestEventsFollow(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "f1")
	b := h.start(h.env, "events", "--follow", "--json", "f1")
	eventually(t, 10*time.Second, func() bool { return strings.Contains(b.stdout.String(), `"enqueued"`) },
		func() string { return "no enqueued event: " + b.stdout.String() })
	h.mustRun("", "enqueue", "f2")
	h.ready("https://x/f2", "f2")
	h.ready("https://x/f1", "f1")
	eventually(t, 10*time.Second, func() bool { return strings.Contains(b.stdout.String(), `"ready"`) },
		func() string { return "no ready event: " + b.stdout.String() })
	b.cancel()
	if code := b.wait(t); code != 0 {
		t.Fatalf("events --follow exit %d after SIGINT, want 0; stderr %q", code, b.stderr)
	}
	if strings.Contains(b.stdout.String(), "f2") {
		t.Errorf("events --follow f1 printed f2's event: %q", b.stdout)
	}
}

// phone shows what the record says of a phone in each state, its
// dead-letter entries and its history.
func TestPhoneShowsStateAndHistory(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "--label", "batch-7", "5577001", "5577002", "5577003", "5577004", "5577006", "5577008", "5577010")
	h.mustRun("", "enqueue", "--stop-after", "8h", "5577007")
	h.mustRun("", "enqueue", "--in", "1h", "5577005")
	// 5577001 started and up.
	h.ready("https://x/1", "5577001")
	// 5577002 refused twice for a while, then for good.
	h.retry(fleet.ActionStart, 47002, "out of resources", "5577002")
	h.retry(fleet.ActionStart, 47002, "out of resources", "5577002")
	h.die(fleet.ActionStart, 42001, "cloud phone does not exist", "5577002")
	// 5577003 refused once, then started: it boots.
	h.retry(fleet.ActionStart, 47002, "out of resources", "5577003")
	h.booting("", "5577003")
	// 5577006 refused once: it waits to be tried again.
	h.retry(fleet.ActionStart, 47002, "out of resources", "5577006")
	// 5577007 up, with a billing guard.
	h.ready("https://x/7", "5577007")
	// 5577008 called off.
	h.mustRun("", "cancel", "5577008")
	// 5577009 to be stopped; 5577011 stopped.
	h.mustRun("", "stop", "--in", "2h", "5577009")
	h.mustRun("", "stop", "5577011")
	h.stopped("5577011")
	// 5577010 dead starting, then dead stopping: two entries.
	h.die(fleet.ActionStart, 42001, "cloud phone does not exist", "5577010")
	h.mustRun("", "stop", "5577010")
	h.die(fleet.ActionStop, 43005, "executing a task", "5577010")

	for id, want := range map[string][]string{
		"5577001": {"5577001: ready since", "url https://x/1", "history (newest last):", "enqueued", "started", "ready"},
		"5577002": {"5577002: dead (its start failed) since", "code 42001 reason geelark: cloud phone does not exist",
			"dead-letter entry (start): code 42001 reason geelark after 3 attempts", "retry"},
		"5577003": {"5577003: booting since", "(attempt 2)", "boot: started", "retry"},
		"5577004": {"5577004: queued since", "(labels batch-7)"},
		"5577005": {"5577005: scheduled since", ", due ", "(in 59m)"},
		"5577006": {"5577006: waiting to be tried again since", "(in 59m)", "attempt 1 failed, code 47002: out of resources"},
		"5577007": {"5577007: ready since", "url https://x/7", "the billing guard stops it at ", "(in 7h59m)"},
		"5577008": {"5577008: cancelled since"},
		"5577009": {"5577009: stopping since", ", due ", "(in 1h59m)"},
		"5577010": {"5577010: dead (its stop failed) since", "code 43005 reason geelark: executing a task",
			"dead-letter entry (start): code 42001", "dead-letter entry (stop): code 43005", "stop_enqueued"},
		"5577011": {"5577011: stopped since", "stopped"},
	} {
		o := h.mustRun("", "phone", id)
		for _, w := range want {
			if !strings.Contains(o.stdout, w) {
				t.Errorf("phone %s printed:\n%s\nwant %q in it", id, o.stdout, w)
			}
		}
	}
	o := h.mustRun("", "phone", "--json", "5577002")
	var v struct {
		State   string            `json:"state"`
		Action  string            `json:"action"`
		Code    int               `json:"code"`
		Dead    []fleet.DeadPhone `json:"dead"`
		History []map[string]any  `json:"history"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &v); err != nil {
		t.Fatal(err)
	}
	var steps []any
	for _, e := range v.History {
		steps = append(steps, e["event"])
	}
	if v.State != "dead" || v.Action != "start" || v.Code != 42001 || len(v.Dead) != 1 || v.Dead[0].Attempts != 3 ||
		fmt.Sprint(steps) != "[enqueued retry retry dead]" {
		t.Errorf("phone --json: %s", o.stdout)
	}
	o = h.mustRun("", "phone", "--json", "5577005")
	var due struct {
		State string     `json:"state"`
		Due   *time.Time `json:"due"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &due); err != nil {
		t.Fatal(err)
	}
	if due.State != "scheduled" || due.Due == nil || due.Due.Before(time.Now().Add(59*time.Minute)) {
		t.Errorf("phone --json of a phone scheduled in an hour: %s", o.stdout)
	}

	o = h.run("", "phone", "5577999")
	if o.code != 1 || !strings.Contains(o.stderr, "knows nothing of it") {
		t.Errorf("phone of an unknown ID: %v; want exit 1 saying so", o)
	}
	if o := h.run("", "phone"); o.code != 2 {
		t.Errorf("phone without an ID: %v", o)
	}
}

func TestStatusCountsBooting(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "b1", "b2")
	h.booting("", "b1", "b2")
	if c := h.status(); c["booting"] != 2 || c["started"] != 2 || total(c) != 2 {
		t.Errorf("status --json %v, want booting 2, started 2", c)
	}
	if o := h.mustRun("", "status"); !strings.Contains(o.stdout, "booting    2") {
		t.Errorf("status printed %q, want a line booting    2", o.stdout)
	}
}
