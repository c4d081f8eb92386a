package cli_test

import (
	"context"
	"encoding/json"
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

// journal records events as a worker does.
func (h *harness) journal(evs ...fleet.Event) {
	h.t.Helper()
	if err := fleet.NewJournal(h.r.Client(h.t), 0).Record(context.Background(), evs...); err != nil {
		h.t.Fatal(err)
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

func TestEventsListsEveryStepNewestLast(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "5577001", "5577002")
	h.journal(fleet.Event{Phone: "5577001", Event: fleet.EventStarted, Attempt: 1, URL: "https://x/1"},
		fleet.Event{Phone: "5577002", Event: fleet.EventDead, Attempt: 1, Code: 42001, Reason: fleet.ReasonGeeLark, Msg: "cloud phone does not exist"},
		fleet.Event{Phone: "5577001", Event: fleet.EventReady, Attempt: 1, URL: "https://x/1"})

	lines := eventLines(t, h.mustRun("", "events", "--json").stdout)
	var got []string
	for _, l := range lines {
		if keys := slices.Sorted(maps.Keys(l)); !slices.Equal(keys, []string{"at", "attempt", "code", "event", "id", "msg", "reason", "url"}) {
			t.Fatalf("events --json line has keys %v", keys)
		}
		got = append(got, l["id"].(string)+" "+l["event"].(string))
	}
	want := []string{"5577001 enqueued", "5577002 enqueued", "5577001 started", "5577002 dead", "5577001 ready"}
	if !slices.Equal(got, want) {
		t.Fatalf("events --json: %q, want %q", got, want)
	}
	if d := lines[3]; d["code"] != float64(42001) || d["reason"] != "geelark" || d["msg"] != "cloud phone does not exist" {
		t.Errorf("dead event %v", d)
	}

	o := h.mustRun("", "events", "5577002")
	text := strings.Split(strings.TrimSpace(o.stdout), "\n")
	if len(text) != 2 || !strings.Contains(text[1], "5577002") || !strings.Contains(text[1], "dead") ||
		!strings.Contains(text[1], "code 42001") || !strings.Contains(text[1], "cloud phone does not exist") {
		t.Fatalf("events 5577002 printed %q: want its two events, the dead one with its code and message", o.stdout)
	}
	if o := h.run("", "events", "bad id"); o.code != 2 {
		t.Errorf("events with a bad ID: %v", o)
	}
}

// --follow prints events as they come until SIGINT, then exits 0.
func TestEventsFollow(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.journal(fleet.Event{Phone: "f1", Event: fleet.EventEnqueued})
	b := h.start(h.env, "events", "--follow", "--json", "f1")
	eventually(t, 10*time.Second, func() bool { return strings.Contains(b.stdout.String(), `"enqueued"`) },
		func() string { return "no enqueued event: " + b.stdout.String() })
	h.journal(fleet.Event{Phone: "f2", Event: fleet.EventReady}, fleet.Event{Phone: "f1", Event: fleet.EventReady, URL: "https://x/f1"})
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

func TestPhoneShowsStateAndHistory(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "5577001", "5577002", "5577003", "5577004")
	h.journal(fleet.Event{Phone: "5577001", Event: fleet.EventStarted, Attempt: 1, URL: "https://x/1"},
		fleet.Event{Phone: "5577001", Event: fleet.EventReady, Attempt: 1, URL: "https://x/1"},
		fleet.Event{Phone: "5577002", Event: fleet.EventDead, Attempt: 3, Code: 42001, Reason: fleet.ReasonGeeLark, Msg: "cloud phone does not exist"},
		fleet.Event{Phone: "5577003", Event: fleet.EventRetry, Attempt: 1, Code: 47002},
		fleet.Event{Phone: "5577003", Event: fleet.EventStarted, Attempt: 2})
	ctx := context.Background()
	rdb := h.r.Client(t)
	if err := fleet.NewLedger(rdb, 0).Add(ctx, fleet.DeadPhone{ID: "5577002", Code: 42001, Reason: fleet.ReasonGeeLark,
		Msg: "cloud phone does not exist", Attempts: 3, FailedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := fleet.NewBoots(rdb).Begin(ctx, now, fleet.Boot{ID: "5577003", Attempt: 2, StartedAt: now, Deadline: now.Add(5 * time.Minute)}); err != nil {
		t.Fatal(err)
	}

	for id, want := range map[string][]string{
		"5577001": {"5577001: ready since", "url https://x/1", "history (newest last):", "enqueued", "started", "ready"},
		"5577002": {"5577002: dead since", "code 42001 reason geelark: cloud phone does not exist", "dead-letter entry: code 42001", "after 3 attempts"},
		"5577003": {"5577003: booting since", "(attempt 2)", "boot: started", "retry"},
		"5577004": {"5577004: queued since"},
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
		State   string           `json:"state"`
		Code    int              `json:"code"`
		Dead    *fleet.DeadPhone `json:"dead"`
		History []map[string]any `json:"history"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &v); err != nil {
		t.Fatal(err)
	}
	if v.State != "dead" || v.Code != 42001 || v.Dead == nil || v.Dead.Attempts != 3 || len(v.History) != 2 {
		t.Errorf("phone --json: %s", o.stdout)
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
	now := time.Now()
	if err := fleet.NewBoots(h.r.Client(t)).Begin(context.Background(), now,
		fleet.Boot{ID: "b1", StartedAt: now}, fleet.Boot{ID: "b2", StartedAt: now}); err != nil {
		t.Fatal(err)
	}
	if c := h.status(); c["booting"] != 2 {
		t.Errorf("status --json %v, want booting 2", c)
	}
	if o := h.mustRun("", "status"); !strings.Contains(o.stdout, "booting    2") {
		t.Errorf("status printed %q, want a line booting    2", o.stdout)
	}
}
