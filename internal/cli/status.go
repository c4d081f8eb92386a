package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/fleet"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/admin"
)

// connect parses nothing more: it opens Redis and checks that it answers.
func connect(ctx context.Context, rf *redisFlags) (*redis.Client, *admin.Admin, error) {
	rdb, err := rf.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	enq, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return rdb, admin.New(rdb, enq), nil
}

func runStatus(ctx context.Context, args []string, env Env) error {
	s := newSettings("status", env)
	var rf redisFlags
	rf.register(s)
	var asJSON, watchIt bool
	s.Bool(&asJSON, "json", `print {"pending":N,"scheduled":N,"retry":N,"active":N,"dead":N}`)
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
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(c)
	}
	printCounts(env.Stdout, c)
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
	return nil
}

func printCounts(w io.Writer, c admin.Counts) {
	fmt.Fprintf(w, "pending    %d\nscheduled  %d\nretry      %d\nactive     %d\ndead       %d\n",
		c.Pending, c.Scheduled, c.Retry, c.Active, c.Dead)
}

func printPause(w io.Writer, p fleet.Pause, now time.Time) {
	fmt.Fprintf(w, "PAUSED     until %s (in %s): geelark %d: %s (%s)\n",
		p.Until.UTC().Format(time.RFC3339), p.Until.Sub(now).Round(time.Second), p.Code, p.Msg, geelark.Lookup(p.Code).Meaning)
}

func runDead(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return bad("dead needs a subcommand: list, requeue or purge")
	}
	sub, args := args[0], args[1:]
	s := newSettings("dead "+sub, env)
	var rf redisFlags
	rf.register(s)
	var asJSON, all bool
	switch sub {
	case "list":
		s.Bool(&asJSON, "json", "print a JSON array")
	case "requeue", "purge":
		s.Bool(&all, "all", "every dead phone")
	default:
		return bad("dead %q: want list, requeue or purge", sub)
	}
	ids, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	if sub == "list" && len(ids) > 0 {
		return bad("unexpected argument %q", ids[0])
	}
	if sub != "list" && all == (len(ids) > 0) {
		return bad("dead %s: name phone IDs or --all (one or the other)", sub)
	}
	for _, id := range ids {
		if err := geelark.ValidateID(id); err != nil {
			return bad("%v", err)
		}
	}
	rdb, adm, err := connect(ctx, &rf)
	if err != nil {
		return err
	}
	defer rdb.Close()
	switch sub {
	case "list":
		dead, err := adm.Dead(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			if dead == nil {
				dead = []admin.DeadPhone{}
			}
			return json.NewEncoder(env.Stdout).Encode(dead)
		}
		if len(dead) == 0 {
			fmt.Fprintln(env.Stdout, "no dead phones")
			return nil
		}
		fmt.Fprintf(env.Stdout, "%-22s %-6s %-8s %-20s %s\n", "ID", "CODE", "ATTEMPTS", "FAILED AT", "MESSAGE")
		for _, d := range dead {
			fmt.Fprintf(env.Stdout, "%-22s %-6d %-8d %-20s %s\n", d.ID, d.Code, d.Attempts, d.FailedAt.Format(time.DateTime), d.Msg)
		}
	case "requeue":
		n, err := adm.Requeue(ctx, all, ids)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "requeued %s\n", plural(n, "phone"))
	case "purge":
		n, err := adm.Purge(ctx, all, ids)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "purged %s\n", plural(n, "phone"))
	}
	return nil
}
