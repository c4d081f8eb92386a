package enqueue_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
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
