package fleet_test

import (
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// Phones parked for a fleet pause go back to the queue when a person (or a
// worker that got through) lifts it, not when it would have ended.
func TestLiftRunsParkedPhones(t *testing.T) {
	t.Parallel()
	_, rdb := newRedis(t)
	ctx := t.Context()
	aq := asynq.NewClientFromRedisClient(rdb)
	for _, id := range []string{"parked1", "other1"} {
		task, err := tasks.NewStartTask(id, geelark.StartOptions{}, asynq.ProcessIn(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := aq.EnqueueContext(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	p := fleet.NewPauses(rdb, time.Now)
	if _, _, err := p.Set(ctx, 40014, "locked", time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := p.Park(ctx, "parked1"); err != nil {
		t.Fatal(err)
	}
	if _, on, err := p.Lift(ctx, "test"); err != nil || !on {
		t.Fatalf("lift: on %v, %v", on, err)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	for id, want := range map[string]asynq.TaskState{"parked1": asynq.TaskStatePending, "other1": asynq.TaskStateScheduled} {
		ti, err := insp.GetTaskInfo(tasks.Queue, id)
		if err != nil || ti.State != want {
			t.Errorf("%s after the lift: %v (%v), want %v", id, ti.State, err, want)
		}
	}
}
