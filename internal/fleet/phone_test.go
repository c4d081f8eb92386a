package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redistest"
)

// Each event moves the phone's state; the stream keeps every event in
// order with its fields; a new enqueue starts a clean state.
func TestJournalStatesAndStream(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	ctx := context.Background()
	j := fleet.NewJournal(rdb, 0)
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	evs := []fleet.Event{
		{Phone: "p1", Event: fleet.EventEnqueued, At: t0},
		{Phone: "p1", Event: fleet.EventRetry, Attempt: 1, Code: 47002, Msg: "resources insufficient", At: t0.Add(time.Second)},
		{Phone: "p1", Event: fleet.EventStarted, Attempt: 2, URL: "https://x/p1", At: t0.Add(2 * time.Second)},
		{Phone: "p1", Event: fleet.EventReady, Attempt: 2, At: t0.Add(3 * time.Second)},
		{Phone: "p2", Event: fleet.EventDead, Attempt: 1, Code: 42001, Reason: fleet.ReasonGeeLark, Msg: "does not exist", At: t0},
	}
	if err := j.Record(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	st, err := j.States(ctx, "p1", "p2", "p3")
	if err != nil {
		t.Fatal(err)
	}
	// ready keeps the url of its start, and clears the retry's code.
	if s := st[0]; s.State != fleet.StateReady || s.URL != "https://x/p1" || s.Code != 0 || !s.Since.Equal(t0.Add(3*time.Second)) {
		t.Errorf("p1 state %+v", s)
	}
	if s := st[1]; s.State != fleet.StateDead || s.Code != 42001 || s.Reason != fleet.ReasonGeeLark || s.Msg != "does not exist" {
		t.Errorf("p2 state %+v", s)
	}
	if st[2].Known() {
		t.Errorf("p3 was never recorded, state %+v", st[2])
	}
	got, err := j.Read(ctx, "0", 100, 0)
	if err != nil || len(got) != len(evs) {
		t.Fatalf("Read = %d events, %v; want %d", len(got), err, len(evs))
	}
	for i, e := range got {
		w := evs[i]
		if e.StreamID == "" || e.Phone != w.Phone || e.Event != w.Event || e.Attempt != w.Attempt || e.Code != w.Code ||
			e.Msg != w.Msg || e.URL != w.URL || !e.At.Equal(w.At) {
			t.Errorf("event %d = %+v, want %+v", i, e, w)
		}
	}
	last, err := j.Last(ctx)
	if err != nil || last != got[len(got)-1].StreamID {
		t.Fatalf("Last = %q, %v; want %q", last, err, got[len(got)-1].StreamID)
	}
	if more, err := j.Read(ctx, last, 100, 0); err != nil || len(more) != 0 {
		t.Fatalf("Read after Last = %+v, %v; want none", more, err)
	}
	// Enqueued again: the old url does not linger.
	if err := j.Record(ctx, fleet.Event{Phone: "p1", Event: fleet.EventEnqueued, At: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	st, _ = j.States(ctx, "p1")
	if s := st[0]; s.State != fleet.StateQueued || s.URL != "" || s.Attempt != 0 {
		t.Errorf("p1 after a new enqueue: %+v", s)
	}
}

// The stream is capped at about max entries.
func TestJournalCapsTheStream(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	rdb := r.Client(t)
	ctx := context.Background()
	j := fleet.NewJournal(rdb, 10)
	for i := range 50 {
		if err := j.Record(ctx, fleet.Event{Phone: "c", Event: fleet.EventRetry, Attempt: i}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := rdb.XLen(ctx, fleet.EventsKey).Result()
	if err != nil {
		t.Fatal(err)
	}
	// Approximate trimming removes whole nodes (100 entries by default in
	// Redis), so a real Redis may keep all 50; never more than written.
	if n > 50 || (!r.Real && n > 10) {
		t.Fatalf("stream holds %d entries after 50 with a cap of 10", n)
	}
}
