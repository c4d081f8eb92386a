package worker_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
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
	rep, err := producer.Start(ctx, enqueue.Request{IDs: ids, Label: "example"})
	if err != nil {
		log.Fatal(err)
	}

	// A worker starts them, in as few calls as the limits allow, and
	// confirms each boot with the status endpoint.
	w, err := worker.New(worker.Config{Redis: rdb, API: api, Status: api, BootPoll: 100 * time.Millisecond,
		BatchWait: 100 * time.Millisecond, PollInterval: 100 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Start(); err != nil {
		log.Fatal(err)
	}
	defer w.Shutdown(ctx)

	// The producer waits for its request to end.
	out, err := producer.Wait(ctx, rep.Request, enqueue.WaitOptions{Timeout: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range out.Ready {
		fmt.Println("ready:", p.ID, p.URL)
	}
	for _, d := range out.Dead {
		fmt.Printf("dead: %s, its %s failed with %s %d: %s\n", d.ID, d.Action, d.Reason, d.Code, d.Msg)
	}
	// Output:
	// ready: phone-1 https://fake.geelark.test/phone/phone-1
	// ready: phone-2 https://fake.geelark.test/phone/phone-2
	// dead: phone-3, its start failed with geelark 42001: cloud phone does not exist
}
