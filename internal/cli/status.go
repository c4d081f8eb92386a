package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/queueadmin"
)

// connect parses nothing more: it opens Redis and checks that it answers.
func connect(ctx context.Context, rf *redisFlags) (*redis.Client, *queueadmin.Admin, error) {
	rdb, err := rf.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	enq, err := enqueue.New(enqueue.Config{Redis: rdb, MinReplicas: rf.minReplicas, EventsMax: rf.eventsMax})
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return rdb, queueadmin.New(rdb, enq), nil
}

func runStatus(ctx context.Context, args []string, env Env) error {
	s := newSettings("status", env)
	var rf redisFlags
	rf.register(s)
	var asJSON, watchIt bool
	s.Bool(&asJSON, "json", `print {"pending":N,"scheduled":N,"retry":N,"active":N,"dead":N,"booting":N}`)
	s.Bool(&watchIt, "watch", "refresh every second until interrupted, with phones started a minute and the commonest dead codes")
	pos, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return bad("unexpected argument %q", pos[0])
	}
	if asJSON && watchIt {
		return bad("--json and --watch: give one or the other")
	}
	rdb, adm, err := connect(ctx, &rf)
	if err != nil {
		return err
	}
	defer rdb.Close()
	if watchIt {
		return watch(ctx, env.Stdout, rdb, adm)
	}
	c, err := adm.Counts(ctx)
	if err != nil {
		return err
	}
	sc, err := adm.StopCounts(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(newWithStops(c, sc))
	}
	printCounts(env.Stdout, c)
	printStops(env.Stdout, sc)
	if d, ok, err := fleet.NewBoots(rdb).FirstCheck(ctx, fleet.Checks{}); err == nil && ok {
		fmt.Fprintf(env.Stdout, "boot check first %v after a start (learned by the fleet)\n", d.Round(100*time.Millisecond))
	}
	now := time.Now()
	if used, limit, err := fleet.BudgetUsed(ctx, rdb, fleet.EndpointStart, now); err == nil && limit > 0 {
		fmt.Fprintf(env.Stdout, "api budget %d of %d calls this minute\n", used, limit)
	}
	p, on, err := fleet.CurrentPause(ctx, rdb, now)
	if err != nil {
		return err
	}
	if on {
		printPause(env.Stdout, p, now)
	}
	if l, ok, err := fleet.LastLift(ctx, rdb); err == nil && ok {
		fmt.Fprintf(env.Stdout, "pause lifted at %s by %s (geelark %d: %s)\n",
			l.At.UTC().Format(time.RFC3339), l.By, l.Code, geelark.Lookup(l.Code).Meaning)
	}
	return nil
}

func printCounts(w io.Writer, c queueadmin.Counts) {
	fmt.Fprintf(w, "pending    %d\nscheduled  %d\nretry      %d\nactive     %d\nbooting    %d\ndead       %d\n",
		c.Pending, c.Scheduled, c.Retry, c.Active, c.Booting, c.Dead)
}

func printPause(w io.Writer, p fleet.Pause, now time.Time) {
	fmt.Fprintf(w, "PAUSED     until %s (in %s): geelark %d: %s (%s)\n",
		p.Until.UTC().Format(time.RFC3339), p.Until.Sub(now).Round(time.Second), p.Code, p.Msg, geelark.Lookup(p.Code).Meaning)
}
