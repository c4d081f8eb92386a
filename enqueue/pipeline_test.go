package enqueue

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/tasks"
)

// The chunked enqueue writes what asynq's own client writes, byte for byte,
// so asynq servers, the Inspector and asynqmon read phonestart's tasks as
// their own. It fails when an asynq upgrade changes the task layout.
func TestChunkedEnqueueWritesWhatAsynqWrites(t *testing.T) {
	ctx := context.Background()
	ours, theirs := redistest.New(t).Client(t), redistest.New(t).Client(t)
	one := 1
	opts := geelark.StartOptions{Width: 400, Center: &one, HideMirror: true}
	c, err := New(Config{Redis: ours, Retention: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour).Truncate(time.Second)
	for _, tc := range []struct {
		id string
		at time.Time
	}{{"557700000000000001", time.Time{}}, {"557700000000000002", later}} {
		res := c.enqueueChunks(ctx, []string{tc.id}, opts, tc.at, nil)
		if res[0] != nil {
			t.Fatal(res[0])
		}
		task, err := tasks.NewStartTask(tc.id, opts, asynq.Retention(3*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		extra := []asynq.Option{}
		if !tc.at.IsZero() {
			extra = append(extra, asynq.ProcessAt(tc.at))
		}
		if _, err := asynq.NewClientFromRedisClient(theirs).Enqueue(task, extra...); err != nil {
			t.Fatal(err)
		}
		key := "asynq:{" + tasks.Queue + "}:t:" + tc.id
		a, _ := ours.HGetAll(ctx, key).Result()
		b, _ := theirs.HGetAll(ctx, key).Result()
		if !bytes.Equal([]byte(a["msg"]), []byte(b["msg"])) || a["state"] != b["state"] {
			t.Fatalf("task %s differs from asynq's:\nours   state %q msg %x\nasynq state %q msg %x", tc.id, a["state"], a["msg"], b["state"], b["msg"])
		}
		info, err := asynq.NewInspectorFromRedisClient(ours).GetTaskInfo(tasks.Queue, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if !tc.at.IsZero() && !info.NextProcessAt.Equal(tc.at) {
			t.Fatalf("scheduled for %v, want %v", info.NextProcessAt, tc.at)
		}
	}
	for _, k := range []string{"pending", "scheduled"} {
		key := "asynq:{" + tasks.Queue + "}:" + k
		if a, b := ours.Type(ctx, key).Val(), theirs.Type(ctx, key).Val(); a != b {
			t.Fatalf("%s is a %s, asynq's a %s", key, a, b)
		}
	}
	if q, _ := ours.SMembers(ctx, "asynq:queues").Result(); len(q) != 1 || q[0] != tasks.Queue {
		t.Fatalf("asynq:queues = %v", q)
	}
}
