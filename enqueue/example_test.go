package enqueue_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/redis/go-redis/v9"
)

func ExampleClient_Start() {
	// Any Redis the workers read; here an embedded one.
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
	centered := 1
	req := enqueue.Request{
		IDs:     []string{"561990530432", "561990530433", "561990530434"},
		Options: geelark.StartOptions{Width: 400, Center: &centered, HideSideBar: true},
		In:      10 * time.Minute,
	}
	rep, err := c.Start(ctx, req)
	if err != nil {
		panic(err)
	}
	fmt.Printf("enqueued %d, duplicates %v\n", rep.Enqueued, rep.Duplicates)

	// Asking again is safe: phones whose start is still to come are not
	// enqueued twice, only reported.
	req.IDs = append(req.IDs, "561990530435")
	rep, err = c.Start(ctx, req)
	if err != nil {
		panic(err)
	}
	fmt.Printf("enqueued %d, duplicates %v\n", rep.Enqueued, rep.Duplicates)
	// Output:
	// enqueued 3, duplicates []
	// enqueued 1, duplicates [561990530432 561990530433 561990530434]
}

func ExampleRequest_Validate() {
	req := enqueue.Request{
		IDs:     []string{"561990530432", "5619 90530433"},
		Options: geelark.StartOptions{Width: 400},
	}
	var bad *enqueue.InputError
	if err := req.Validate(); errors.As(err, &bad) {
		fmt.Println("refused, nothing enqueued; fix", bad.Field)
	}
	// Output:
	// refused, nothing enqueued; fix ids[1]
}

func ExampleClient_Wait() {
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
	ids := []string{"561990530432", "561990530433", "561990530434"}
	rep, err := c.Start(ctx, enqueue.Request{IDs: ids})
	if err != nil {
		panic(err)
	}

	// The workers record each phone's steps; here we record what they
	// would: the first phone boots and is confirmed, the second does not
	// exist at GeeLark, the third is still booting.
	j := fleet.NewJournal(rdb, 0)
	go j.Record(ctx,
		fleet.Event{Phone: ids[0], Event: fleet.EventStarted, Attempt: 1, URL: "https://example.test/561990530432"},
		fleet.Event{Phone: ids[1], Event: fleet.EventDead, Attempt: 1, Code: 42001, Reason: fleet.ReasonGeeLark, Msg: "cloud phone does not exist"},
		fleet.Event{Phone: ids[2], Event: fleet.EventStarted, Attempt: 1},
		fleet.Event{Phone: ids[0], Event: fleet.EventReady, Attempt: 1, URL: "https://example.test/561990530432"})

	out, err := c.Wait(ctx, ids, enqueue.WaitOptions{After: rep.Mark, Timeout: 2 * time.Second})
	if err != nil {
		panic(err)
	}
	fmt.Println("ready", out.Ready)
	for _, d := range out.Dead {
		fmt.Println("dead", d.ID, d.Code, d.Msg)
	}
	fmt.Println("unfinished", out.Unfinished)
	// Output:
	// ready [561990530432]
	// dead 561990530433 42001 cloud phone does not exist
	// unfinished [561990530434]
}
