package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/queueadmin"
)

func runStatus(ctx context.Context, args []string, env Env) error {
	s := newSettings("status", env)
	var rf redisFlags
	rf.register(s, redisURL)
	var asJSON, watchIt bool
	s.Bool(&asJSON, "json", "print "+jsonShape(queueadmin.Counts{}))
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
	c, err := rf.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if watchIt {
		return watch(ctx, env.Stdout, c)
	}
	counts, err := c.adm.Counts(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(counts)
	}
	printCounts(env.Stdout, counts)
	if d, ok, err := c.store.FirstCheck(ctx, fleet.Checks{}); err == nil && ok {
		fmt.Fprintf(env.Stdout, "boot check first %v after a start (learned by the fleet)\n", d.Round(100*time.Millisecond))
	}
	now := time.Now()
	sp := c.store.Space()
	if used, limit, err := fleet.BudgetUsed(ctx, c.rdb, sp, fleet.EndpointStart, now); err == nil && limit > 0 {
		fmt.Fprintf(env.Stdout, "api budget %d of %d calls this minute\n", used, limit)
	}
	p, on, err := fleet.CurrentPause(ctx, c.rdb, sp, now)
	if err != nil {
		return err
	}
	if on {
		printPause(env.Stdout, p, now)
	}
	if l, ok, err := fleet.LastLift(ctx, c.rdb, sp); err == nil && ok {
		fmt.Fprintf(env.Stdout, "pause lifted at %s by %s (geelark %d: %s)\n",
			l.At.UTC().Format(time.RFC3339), l.By, l.Code, geelark.Lookup(l.Code).Meaning)
	}
	return nil
}

func printCounts(w io.Writer, c queueadmin.Counts) {
	fmt.Fprintf(w, "queued     %d\nscheduled  %d\nretry      %d\nsending    %d\nbooting    %d\nstopping   %d\ndead       %d\n",
		c.Queued, c.Scheduled, c.Retry, c.Sending, c.Booting, c.Stopping, c.Dead)
}

func printPause(w io.Writer, p fleet.Pause, now time.Time) {
	fmt.Fprintf(w, "PAUSED     until %s (in %s): geelark %d: %s (%s)\n",
		p.Until.UTC().Format(time.RFC3339), p.Until.Sub(now).Round(time.Second), p.Code, p.Msg, geelark.Lookup(p.Code).Meaning)
}
