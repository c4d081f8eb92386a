package schedule_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap/zaptest"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/schedule"
	"github.com/phonestart/phonestart/tasks"
)

// A stop schedule's tick fires once with two schedulers at it: each phone
// gets one stop task, and its waiting start is cancelled.
func TestTwoSchedulersFireOneStopTickOnce(t *testing.T) {
	r := redistest.New(t)
	phones := ids("eve", 250)
	f := parse(t, "schedules:\n  - name: evening\n    action: stop\n    cron: \"0 19 * * 1-5\"\n    ids: [\""+
		strings.Join(phones, `", "`)+"\"]\n")
	s, _ := f.Find("evening")
	if s.Action != schedule.ActionStop {
		t.Fatalf("action %q, want stop", s.Action)
	}
	tick := s.Next(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	enq, _ := enqueue.New(enqueue.Config{Redis: r.Client(t)})
	if _, err := enq.Start(context.Background(), enqueue.Request{IDs: phones, In: time.Hour}); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	reps := make([]schedule.TickReport, 2)
	for i := range 2 {
		rdb := r.Client(t)
		enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
		run, err := schedule.NewRunner(schedule.Config{Redis: rdb, Enqueue: enq, Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			rep, err := run.Fire(context.Background(), s, tick)
			if err != nil {
				t.Error(err)
			}
			reps[i] = rep
		})
	}
	wg.Wait()
	fired, stopped, cancelled := 0, 0, 0
	for _, rep := range reps {
		if rep.Fired {
			fired++
		}
		stopped += rep.Enqueued
		cancelled += rep.CancelledStarts
	}
	if fired != 1 || stopped != 250 || cancelled != 250 {
		t.Fatalf("fired %d times, %d stops, %d starts cancelled: %+v", fired, stopped, cancelled, reps)
	}
	insp := asynq.NewInspectorFromRedisClient(r.Client(t))
	if q, err := insp.GetQueueInfo(tasks.StopQueue); err != nil || q.Size != 250 {
		t.Fatalf("stop queue holds %v tasks (%v), want 250", q, err)
	}
	if q, err := insp.GetQueueInfo(tasks.Queue); err != nil || q.Size != 0 {
		t.Fatalf("start queue holds %v tasks (%v), want 0", q, err)
	}
}

func TestStopScheduleFile(t *testing.T) {
	f := parse(t, "schedules:\n  - name: guarded\n    cron: \"0 7 * * *\"\n    stop_after: 9h\n    ids: [\"p1\"]\n")
	if s, _ := f.Find("guarded"); s.StopAfter != 9*time.Hour || s.Action != "" {
		t.Errorf("stop_after %v, action %q", s.StopAfter, s.Action)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"    action: stop\n    options:\n      width: 400\n", `s.yaml:5: schedule "x": options are for starts`},
		{"    action: stop\n    stop_after: 1h\n", `schedule "x": stop_after is for starts`},
		{"    action: halt\n", `s.yaml:3: schedule "x": action "halt": want start or stop`},
		{"    stop_after: soon\n", `schedule "x": stop_after "soon"`},
	} {
		_, err := schedule.Parse("s.yaml", []byte("schedules:\n  - name: x\n"+tc.yaml+"    cron: \"0 7 * * *\"\n    ids: [\"p1\"]\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
