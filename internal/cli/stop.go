package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/schedule"
)

// runStop runs `stop [--json] [--at RFC3339 | --in DURATION] (ID... | --file F)`.
func runStop(ctx context.Context, args []string, env Env) error {
	s := newSettings("stop", env)
	var rf redisFlags
	rf.register(s, redisEnqueue)
	var asJSON bool
	tg := target{verb: "stop"}
	s.Bool(&asJSON, "json", `print {"request":"...","stopped":N,"cancelled_starts":M,"duplicates":K}`)
	tg.register(s, "2026-11-26T19:00:00+01:00")
	args, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	var req enqueue.StopRequest
	if req.IDs, req.At, req.In, err = tg.resolve(s, args, env.Stdin, "stopped"); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return bad("%v; nothing was stopped", err)
	}
	c, err := rf.open(ctx)
	if err != nil {
		return fmt.Errorf("%w; nothing was stopped", err)
	}
	defer c.Close()
	rep, err := c.enq.Stop(ctx, req)
	if err != nil {
		return fmt.Errorf("%v (%d stops enqueued before the error; stopping again is safe)", err, rep.Stopped)
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(struct {
			Request         string `json:"request"`
			Stopped         int    `json:"stopped"`
			CancelledStarts int    `json:"cancelled_starts"`
			Duplicates      int    `json:"duplicates"`
		}{rep.Request, rep.Stopped, rep.CancelledStarts, len(rep.Duplicates)})
	}
	fmt.Fprintf(env.Stdout, "request %s: stopping %s, %s cancelled, %s\n", rep.Request, plural(rep.Stopped, "phone"),
		plural(rep.CancelledStarts, "waiting start"), plural(len(rep.Duplicates), "duplicate"))
	if len(rep.Duplicates) > 0 {
		fmt.Fprintf(env.Stdout, "already pending, scheduled, retrying or stopping: %s\n", listSome(rep.Duplicates, 10))
	}
	return nil
}

// printCancelledStops tells an enqueue that it cancelled waiting stops.
func printCancelledStops(w io.Writer, n int) {
	if n > 0 {
		fmt.Fprintf(w, "cancelled the waiting stops of %s: the later request wins\n", plural(n, "phone"))
	}
}

// actionNote marks a stop schedule in `schedule list`.
func actionNote(sc *schedule.Schedule) string {
	if sc.Action == schedule.ActionStop {
		return "  stop"
	}
	return ""
}
