package cli_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
)

func TestStatusCountsPhonesByState(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "5577001", "5577002", "5577003")
	want := map[string]int{"pending": 3, "scheduled": 0, "retry": 0, "active": 0, "dead": 0, "booting": 0,
		"stop_pending": 0, "stop_scheduled": 0, "stop_retry": 0, "stop_active": 0}
	if c := h.status(); !maps.Equal(c, want) {
		t.Fatalf("status --json after an enqueue: %v, want %v", c, want)
	}

	h.mustRun("", "enqueue", "--in", "1h", "5577004", "5577005")
	want["scheduled"] = 2
	if c := h.status(); !maps.Equal(c, want) {
		t.Fatalf("status --json after enqueue --in: %v, want %v", c, want)
	}

	o := h.mustRun("", "status")
	for _, line := range []string{"pending    3", "scheduled  2", "retry      0", "active     0", "dead       0"} {
		if !strings.Contains(o.stdout, line) {
			t.Errorf("status printed %q, want a line %q", o.stdout, line)
		}
	}
}

func TestStatusOfAnEmptyRedis(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Before the first enqueue asynq knows no phonestart queue.
	want := map[string]int{"pending": 0, "scheduled": 0, "retry": 0, "active": 0, "dead": 0, "booting": 0,
		"stop_pending": 0, "stop_scheduled": 0, "stop_retry": 0, "stop_active": 0}
	if c := h.status(); !maps.Equal(c, want) {
		t.Fatalf("status --json of an empty Redis: %v, want %v", c, want)
	}
	if o := h.mustRun("", "dead", "list", "--json"); strings.TrimSpace(o.stdout) != "[]" {
		t.Fatalf("dead list --json of an empty Redis printed %q, want []", o.stdout)
	}
	if o := h.mustRun("", "dead", "list"); !strings.Contains(o.stdout, "no dead phones") {
		t.Fatalf("dead list of an empty Redis printed %q", o.stdout)
	}
}

// Once the fleet has learned when its phones are up, status says how long
// after a start a booting phone is first checked.
func TestStatusShowsTheLearnedFirstCheck(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if o := h.mustRun("", "status"); strings.Contains(o.stdout, "boot check") {
		t.Fatalf("status of a fleet that learned nothing printed %q", o.stdout)
	}
	b := fleet.NewBoots(h.r.Client(t))
	if _, err := b.Learn(context.Background(), time.Now(), fleet.Checks{Poll: 10 * time.Second},
		fleet.Observed{First: 100, FirstOldest: 51 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if o := h.mustRun("", "status"); !strings.Contains(o.stdout, "boot check first 1m1s after a start") {
		t.Fatalf("status printed %q, want the learned first check, 1m1s", o.stdout)
	}
}
