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
	want := map[string]int{"queued": 3, "scheduled": 0, "retry": 0, "sending": 0, "booting": 0, "stopping": 0, "dead": 0, "started": 0}
	if c := h.status(); !maps.Equal(c, want) {
		t.Fatalf("status --json after an enqueue: %v, want %v", c, want)
	}

	h.mustRun("", "enqueue", "--in", "1h", "5577004", "5577005")
	want["scheduled"] = 2
	if c := h.status(); !maps.Equal(c, want) {
		t.Fatalf("status --json after enqueue --in: %v, want %v", c, want)
	}

	// One phone of each state a worker's calls lead to.
	h.mustRun("", "enqueue", "5577006", "5577007", "5577008", "5577009", "5577010")
	h.claim(fleet.ActionStart, "5577006")
	h.retry(fleet.ActionStart, 47002, "out of resources", "5577007")
	h.booting("", "5577008")
	h.ready("", "5577009")
	h.die(fleet.ActionStart, 42001, "cloud phone does not exist", "5577010")
	h.mustRun("", "stop", "5577011")
	want = map[string]int{"queued": 3, "scheduled": 2, "retry": 1, "sending": 1, "booting": 1, "stopping": 1, "dead": 1, "started": 2}
	if c := h.status(); !maps.Equal(c, want) {
		t.Fatalf("status --json after calls: %v, want %v", c, want)
	}

	o := h.mustRun("", "status")
	for _, line := range []string{"queued     3", "scheduled  2", "retry      1", "sending    1", "booting    1", "stopping   1", "dead       1"} {
		if !strings.Contains(o.stdout, line) {
			t.Errorf("status printed %q, want a line %q", o.stdout, line)
		}
	}
}

func TestStatusOfAnEmptyRedis(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	want := map[string]int{"queued": 0, "scheduled": 0, "retry": 0, "sending": 0, "booting": 0, "stopping": 0, "dead": 0, "started": 0}
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
	if _, err := h.store().Learn(context.Background(), time.Now(), fleet.Checks{Poll: 10 * time.Second},
		fleet.Observed{First: 100, FirstOldest: 51 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if o := h.mustRun("", "status"); !strings.Contains(o.stdout, "boot check first 1m1s after a start") {
		t.Fatalf("status printed %q, want the learned first check, 1m1s", o.stdout)
	}
}
