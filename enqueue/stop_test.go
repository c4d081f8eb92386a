package enqueue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/tasks"
)

func TestStopAfterRidesInThePayload(t *testing.T) {
	rdb := redistest.New(t).Client(t)
	c, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(context.Background(), enqueue.Request{IDs: []string{"p1"}, StopAfter: 90 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	ti, err := asynq.NewInspectorFromRedisClient(rdb).GetTaskInfo(tasks.Queue, tasks.TaskID("p1"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := tasks.ParseStartPhone(ti.Payload)
	if err != nil || p.StopAfter != 90*time.Minute {
		t.Fatalf("payload %s: stop_after %v (%v), want 1h30m", ti.Payload, p.StopAfter, err)
	}
	var in *enqueue.InputError
	if _, err := c.Start(context.Background(), enqueue.Request{IDs: []string{"p2"}, StopAfter: -time.Second}); !errors.As(err, &in) || in.Field != "stop_after" {
		t.Errorf("negative stop-after: %v, want an InputError on stop_after", err)
	}
}

func TestStopRequestValidate(t *testing.T) {
	for _, tc := range []struct {
		r     enqueue.StopRequest
		field string
	}{
		{enqueue.StopRequest{}, "ids"},
		{enqueue.StopRequest{IDs: []string{"ok", "not ok"}}, "ids[1]"},
		{enqueue.StopRequest{IDs: []string{"ok"}, In: time.Hour, At: time.Now()}, "at"},
		{enqueue.StopRequest{IDs: []string{"ok"}, In: -time.Hour}, "in"},
	} {
		var in *enqueue.InputError
		if err := tc.r.Validate(); !errors.As(err, &in) || in.Field != tc.field {
			t.Errorf("%+v: %v, want an InputError on %s", tc.r, err, tc.field)
		}
	}
}
