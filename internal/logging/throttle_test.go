package logging_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/logging"
)

// While Redis is away asynq logs every failed poll at ERROR, about once a
// second per poller. Each kind of line comes out at most once per 10s,
// whatever its numbers and addresses, and the next one counts those
// dropped in between.
func TestAsynqRepeatsAreThrottledPerKind(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := logging.New(&buf, "json")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	al := logging.AsynqAt(log, func() time.Time { return now })
	// A 25-second outage: a dequeue error every second, from ports that
	// differ; a server-state error every 5 seconds.
	for s := range 25 {
		al.Error(fmt.Sprintf("Dequeue error: UNKNOWN: redis command error: dial tcp 127.0.0.1:%d: connect: connection refused", 6379+s%3))
		if s%5 == 0 {
			al.Warn(fmt.Sprintf("Failed to write server state data: UNKNOWN: redis eval error: dial tcp 10.0.0.%d:6379: i/o timeout", s))
		}
		now = now.Add(time.Second)
	}
	type line struct {
		Level, Msg string
		Suppressed *int
	}
	var dequeue, state []line
	for _, raw := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var l line
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("line %q: %v", raw, err)
		}
		switch {
		case strings.HasPrefix(l.Msg, "Dequeue error"):
			dequeue = append(dequeue, l)
		case strings.HasPrefix(l.Msg, "Failed to write server state"):
			state = append(state, l)
		default:
			t.Errorf("unexpected line %q", raw)
		}
	}
	// At 0s, 10s and 20s; 9 dropped before each of the later two.
	if len(dequeue) != 3 || dequeue[0].Suppressed != nil || dequeue[1].Suppressed == nil || *dequeue[1].Suppressed != 9 ||
		dequeue[2].Suppressed == nil || *dequeue[2].Suppressed != 9 || dequeue[0].Level != "error" {
		t.Errorf("dequeue lines: %+v; want 3 errors, the 2nd and 3rd with suppressed 9", dequeue)
	}
	// At 0s, 10s and 20s; the ones at 5s and 15s dropped.
	if len(state) != 3 || state[1].Suppressed == nil || *state[1].Suppressed != 1 || state[0].Level != "warn" {
		t.Errorf("server state lines: %+v; want 3 warnings, the 2nd with suppressed 1", state)
	}
}

// Lines that say different things are never taken for repeats.
func TestAsynqDistinctLinesAllPass(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := logging.New(&buf, "json")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	al := logging.AsynqAt(log, func() time.Time { return now })
	msgs := []string{
		"Dequeue error: UNKNOWN: redis command error: connection refused",
		"Failed to write server state data: UNKNOWN: redis command error: connection refused",
		"recoverer: could not list lease expired tasks: connection refused",
		"Starting processing",
	}
	for _, m := range msgs {
		al.Error(m)
	}
	if n := strings.Count(buf.String(), "\n"); n != len(msgs) {
		t.Errorf("%d distinct lines wrote %d:\n%s", len(msgs), n, buf.String())
	}
}
