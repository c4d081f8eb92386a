package schedule_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/schedule"
)

// about returns the log entries whose tick is at.
func about(logs *observer.ObservedLogs, at time.Time) []observer.LoggedEntry {
	var out []observer.LoggedEntry
	for _, e := range logs.All() {
		if t, _ := e.ContextMap()["tick"].(time.Time); t.Equal(at) {
			out = append(out, e)
		}
	}
	return out
}

// missedOnce checks that the tick was logged once, as a warning that it
// was missed naming when it was due, and that nothing was logged as an
// error: nothing failed that a person must fix.
func missedOnce(t *testing.T, logs *observer.ObservedLogs) {
	t.Helper()
	lines := about(logs, tick)
	if len(lines) != 1 || lines[0].Level != zapcore.WarnLevel || !strings.Contains(lines[0].Message, "missed") ||
		lines[0].ContextMap()["due"] != "2026-11-25 07:30 UTC" {
		t.Fatalf("tick %v logged as %v, want one warning that it was missed, due 2026-11-25 07:30 UTC", tick, lines)
	}
	for _, e := range logs.All() {
		if e.Level >= zapcore.ErrorLevel {
			t.Errorf("error line for a missed tick: %s %v", e.Message, e.ContextMap())
		}
	}
}

// A tick missed beyond its catch-up window while the scheduler running was
// suspended is one warning naming when it was due, as one missed while no
// scheduler ran (TestATickPastItsCatchUpWindowIsNotFired).
func TestATickMissedWhileSuspendedIsOneWarning(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	l := newLister(10, 0)
	log, logs := observe(t)
	clk, ctx := newSimClock(tick.Add(-time.Minute), tick.Add(3*time.Hour), 1)
	l.use(clk)
	// The machine sleeps through the tick: the wait for it ends two
	// hours late, after its one-hour window.
	overslept := false
	sleep := func(ctx context.Context, d time.Duration) error {
		if !overslept && clk.Now().Add(d).Equal(tick) {
			overslept = true
			d += 2 * time.Hour
		}
		return clk.Sleep(ctx, d)
	}
	rdb := r.Client(t)
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	run, err := schedule.NewRunner(schedule.Config{Redis: rdb, Enqueue: enq, Lister: l, Logger: log, Now: clk.Now, Sleep: sleep})
	if err != nil {
		t.Fatal(err)
	}
	runAll(t, ctx, clk, shopFile(t, ""), run)
	if !overslept {
		t.Fatal("the scheduler never waited for the tick")
	}
	if calls := l.times(); len(calls) != 0 {
		t.Fatalf("selected at %v, after the catch-up window", calls)
	}
	missedOnce(t, logs)
}

// A GeeLark selection that matches no phone is a warning naming the
// selection: a renamed group or tag otherwise passes unnoticed every day.
func TestASelectionMatchingNoPhoneIsAWarningNamingIt(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	l := newLister(0, 0)
	log, logs := observe(t)
	f := parse(t, "schedules:\n  - name: shop\n    cron: \"30 7 * * *\"\n    select: {group_name: Shop-EU, tags: [morning]}\n")
	s, _ := f.Find("shop")
	clk, _ := newSimClock(tick, tick.Add(time.Hour), 1)
	l.use(clk)
	rep, err := newRunner(t, r, clk, l, log).Fire(context.Background(), s, tick)
	if err != nil || !rep.Fired || rep.Selected != 0 {
		t.Fatalf("Fire: %+v, %v", rep, err)
	}
	var warned []string
	for _, e := range logs.FilterLevelExact(zapcore.WarnLevel).All() {
		warned = append(warned, fmt.Sprint(e.Message, " ", e.ContextMap()["select"]))
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "no phone") || !strings.Contains(warned[0], "Shop-EU") ||
		!strings.Contains(warned[0], "morning") {
		t.Fatalf("warnings %q, want one naming group Shop-EU and tag morning", warned)
	}
}
