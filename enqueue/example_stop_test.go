package enqueue_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/phonestart/phonestart/enqueue"
	"github.com/redis/go-redis/v9"
)

func ExampleClient_Stop() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	c, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	// Start three phones in ten minutes, each stopped 8 hours after it is
	// ready (the billing guard).
	ids := []string{"561990530432", "561990530433", "561990530434"}
	if _, err := c.Start(ctx, enqueue.Request{IDs: ids, In: 10 * time.Minute, StopAfter: 8 * time.Hour}); err != nil {
		panic(err)
	}
	// Changed plans: stop two of them. Their starts, still to come, are
	// cancelled: the later request wins.
	rep, err := c.Stop(ctx, enqueue.StopRequest{IDs: ids[:2]})
	if err != nil {
		panic(err)
	}
	fmt.Printf("stopping %d, cancelled starts %d, duplicates %v\n", rep.Stopped, rep.CancelledStarts, rep.Duplicates)

	// And start one again: its stop, still pending, is cancelled.
	srep, err := c.Start(ctx, enqueue.Request{IDs: ids[:1]})
	if err != nil {
		panic(err)
	}
	fmt.Printf("enqueued %d, cancelled stops %d\n", srep.Enqueued, srep.CancelledStops)
	// Output:
	// stopping 2, cancelled starts 2, duplicates []
	// enqueued 1, cancelled stops 1
}
