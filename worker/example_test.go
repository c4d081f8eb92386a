package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
	"github.com/phonestart/phonestart/worker"
)

// A worker starts three phones queued by a producer: two start, and one
// that GeeLark does not know (42001) is dead at once, listed in the
// dead-letter ledger. An embedded Redis and the fake GeeLark stand in for
// the real ones.
func Example() {
	mr, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	fake := geelarktest.NewServer(geelarktest.Config{})
	defer fake.Close()
	fake.Script("phone-3", geelarktest.Script{Code: 42001})
	api, err := geelark.NewClient(geelark.Config{BaseURL: fake.URL,
		AppID: geelarktest.DefaultAppID, APIKey: geelarktest.DefaultAPIKey})
	if err != nil {
		log.Fatal(err)
	}

	// A producer queues the phones.
	ctx := context.Background()
	producer, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		log.Fatal(err)
	}
	ids := []string{"phone-1", "phone-2", "phone-3"}
	if _, err := producer.Start(ctx, enqueue.Request{IDs: ids}); err != nil {
		log.Fatal(err)
	}

	// A worker starts them, in as few calls as the limits allow.
	w, err := worker.New(worker.Config{Redis: rdb, API: api, Status: api,
		BatchWait: 100 * time.Millisecond, PollInterval: 100 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Start(); err != nil {
		log.Fatal(err)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	for {
		q, err := insp.GetQueueInfo(tasks.Queue)
		if err == nil && q.Completed+q.Archived == len(ids) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := w.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}

	for _, id := range ids {
		ti, err := insp.GetTaskInfo(tasks.Queue, tasks.TaskID(id))
		if err != nil {
			log.Fatal(err)
		}
		var res tasks.Result
		_ = json.Unmarshal(ti.Result, &res)
		if res.URL != "" {
			fmt.Println(id+":", ti.State, res.URL)
			continue
		}
		fmt.Println(id+":", ti.State)
	}
	dead, _, err := fleet.NewLedger(rdb, 0).Page(ctx, "", 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range dead {
		fmt.Printf("dead: %s, %s %d: %s\n", d.ID, d.Reason, d.Code, d.Msg)
	}
	st := w.Stats()
	fmt.Println("started:", st.Started, "dead:", st.Dead)
	// Output:
	// phone-1: completed https://fake.geelark.test/phone/phone-1
	// phone-2: completed https://fake.geelark.test/phone/phone-2
	// phone-3: archived
	// dead: phone-3, geelark 42001: cloud phone does not exist
	// started: 2 dead: map[42001:1]
}
