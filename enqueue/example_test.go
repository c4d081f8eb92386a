package enqueue_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/worker"
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
	// enqueued twice, only reported, and they join the new request.
	req.IDs = append(req.IDs, "561990530435")
	rep, err = c.Start(ctx, req)
	if err != nil {
		panic(err)
	}
	fmt.Printf("enqueued %d, duplicates %v\n", rep.Enqueued, rep.Duplicates)
	out, err := c.Outcome(ctx, rep.Request)
	if err != nil {
		panic(err)
	}
	fmt.Println("the second request waits for", out.Unfinished)
	// Output:
	// enqueued 3, duplicates []
	// enqueued 1, duplicates [561990530432 561990530433 561990530434]
	// the second request waits for [561990530432 561990530433 561990530434 561990530435]
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
	// refused, nothing enqueued; fix ids[2]
}

// A producer starts three phones and waits for its request to end, while
// a worker starts them at a fake GeeLark that does not know the second.
func ExampleClient_Wait() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	fake := geelarktest.NewServer(geelarktest.Config{})
	defer fake.Close()
	fake.Script("561990530433", geelarktest.Script{Code: 42001})

	c, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	ids := []string{"561990530432", "561990530433", "561990530434"}
	rep, err := c.Start(ctx, enqueue.Request{IDs: ids, Label: "morning"})
	if err != nil {
		panic(err)
	}

	api, err := geelark.NewClient(geelark.Config{BaseURL: fake.URL, AppID: geelarktest.DefaultAppID, APIKey: geelarktest.DefaultAPIKey})
	if err != nil {
		panic(err)
	}
	w, err := worker.New(worker.Config{Redis: rdb, API: api, Status: api, BootPoll: 100 * time.Millisecond,
		BatchWait: 100 * time.Millisecond, PollInterval: 100 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	if err := w.Start(); err != nil {
		panic(err)
	}
	defer w.Shutdown(ctx)

	out, err := c.Wait(ctx, rep.Request, enqueue.WaitOptions{Timeout: time.Minute})
	if err != nil {
		panic(err)
	}
	fmt.Println("request", out.Label, "ended:", out.Ended)
	for _, p := range out.Ready {
		fmt.Println("ready", p.ID, p.URL)
	}
	for _, d := range out.Dead {
		fmt.Println("dead", d.ID, d.Action, d.Code, d.Msg)
	}
	// Output:
	// request morning ended: true
	// ready 561990530432 https://fake.geelark.test/phone/561990530432
	// ready 561990530434 https://fake.geelark.test/phone/561990530434
	// dead 561990530433 start 42001 cloud phone does not exist
}

// Starts still to come are called off; a phone in a call to GeeLark right
// now is not.
func ExampleClient_Cancel() {
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
	ids := []string{"561990530432", "561990530433"}
	rep, err := c.Start(ctx, enqueue.Request{IDs: ids, At: time.Now().Add(time.Hour)})
	if err != nil {
		panic(err)
	}
	cr, err := c.Cancel(ctx, enqueue.CancelRequest{IDs: append(ids, "561990530499")})
	if err != nil {
		panic(err)
	}
	fmt.Println("cancelled", cr.Cancelled, "nothing to cancel", cr.NotFound)
	out, err := c.Outcome(ctx, rep.Request)
	if err != nil {
		panic(err)
	}
	fmt.Println("request ended:", out.Ended, "cancelled:", out.Cancelled)
	// Output:
	// cancelled [561990530432 561990530433] nothing to cancel [561990530499]
	// request ended: true cancelled: [561990530432 561990530433]
}
