package schedule_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/schedule"
	"github.com/redis/go-redis/v9"
)

// A schedules file, and when its schedule fires across the night clocks go
// back in Berlin.
func Example() {
	f, err := schedule.Parse("schedules.yaml", []byte(`schedules:
  - name: shop-eu-morning
    cron: "30 7 * * 1-5"
    time_zone: Europe/Berlin
    catch_up: 30m
    ids: ["557712345678901234", "557712345678901235"]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	s, _ := f.Find("shop-eu-morning")
	t := time.Date(2026, 10, 22, 12, 0, 0, 0, time.UTC)
	for range 3 {
		t = s.Next(t)
		fmt.Println(t.In(s.Location).Format("Mon 2006-01-02 15:04 MST"), "=", t.UTC().Format(time.RFC3339))
	}
	// Output:
	// Fri 2026-10-23 07:30 CEST = 2026-10-23T05:30:00Z
	// Mon 2026-10-26 07:30 CET = 2026-10-26T06:30:00Z
	// Tue 2026-10-27 07:30 CET = 2026-10-27T06:30:00Z
}

// Two attempts at one tick: the first fires it, the second finds it done.
func ExampleRunner_Fire() {
	m, err := miniredis.Run()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	run, _ := schedule.NewRunner(schedule.Config{Redis: rdb, Enqueue: enq})

	s, err := schedule.New("smoke-test", "*/15 * * * *", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	s.IDs = []string{"557712345678901234", "557712345678901235"}
	tick := s.Next(time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC))
	for range 2 {
		rep, err := run.Fire(context.Background(), s, tick)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s at %s: fired %v, enqueued %d\n", rep.Schedule, rep.Tick.Format("15:04"), rep.Fired, rep.Enqueued)
	}
	// Output:
	// smoke-test at 07:15: fired true, enqueued 2
	// smoke-test at 07:15: fired false, enqueued 0
}
