package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/queueadmin"
	"github.com/phonestart/phonestart/schedule"
)

// runStop runs `stop [--json] [--at RFC3339 | --in DURATION] (ID... | --file F)`.
func runStop(ctx context.Context, args []string, env Env) error {
	s := newSettings("stop", env)
	var rf redisFlags
	rf.register(s)
	var (
		asJSON   bool
		at, file string
		in       time.Duration
	)
	s.Bool(&asJSON, "json", `print {"stopped":N,"cancelled_starts":M,"duplicates":K}`)
	s.String(&at, "at", "", "", "stop at this RFC 3339 time, e.g. 2026-11-26T19:00:00+01:00")
	s.Duration(&in, "in", "", 0, "stop this long from now, e.g. 8h", nil)
	s.String(&file, "file", "", "", "read IDs from this file, one per line (# comments, blank lines allowed); - reads standard input")
	ids, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	var req enqueue.StopRequest
	if s.set["at"] && s.set["in"] {
		return bad("--at and --in: give one or the other")
	}
	if s.set["at"] {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return bad("--at %q is not an RFC 3339 time such as 2026-11-26T19:00:00Z", at)
		}
		if time.Until(t) < -time.Minute {
			return bad("--at %s is in the past; nothing was stopped (leave --at out to stop now)", at)
		}
		req.At = t
	}
	if s.set["in"] {
		if in <= 0 {
			return bad("--in %v: must be greater than 0", in)
		}
		req.In = in
	}
	switch {
	case file != "" && len(ids) > 0:
		return bad("give phone IDs as arguments or with --file, not both")
	case file != "":
		if ids, err = readIDs(file, env.Stdin); err != nil {
			return bad("%v", strings.Replace(err.Error(), "nothing was enqueued", "nothing was stopped", 1))
		}
	}
	if len(ids) == 0 {
		return bad("no phone IDs: give them as arguments or with --file F (- for standard input)")
	}
	req.IDs = ids
	if err := req.Validate(); err != nil {
		return bad("%v; nothing was stopped", err)
	}
	rdb, err := rf.dial(ctx)
	if err != nil {
		return fmt.Errorf("%w; nothing was stopped", err)
	}
	defer rdb.Close()
	enq, err := enqueue.New(enqueue.Config{Redis: rdb, MinReplicas: rf.minReplicas})
	if err != nil {
		return err
	}
	rep, err := enq.Stop(ctx, req)
	if err != nil {
		return fmt.Errorf("%v (%d stops enqueued before the error; stopping again is safe)", err, rep.Stopped)
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(struct {
			Stopped         int `json:"stopped"`
			CancelledStarts int `json:"cancelled_starts"`
			Duplicates      int `json:"duplicates"`
		}{rep.Stopped, rep.CancelledStarts, len(rep.Duplicates)})
	}
	fmt.Fprintf(env.Stdout, "stopping %s, %s cancelled, %s\n", plural(rep.Stopped, "phone"),
		plural(rep.CancelledStarts, "waiting start"), plural(len(rep.Duplicates), "duplicate"))
	if len(rep.Duplicates) > 0 {
		fmt.Fprintf(env.Stdout, "already pending, scheduled, retrying or stopping: %s\n", listSome(rep.Duplicates, 10))
	}
	return nil
}

// withStops is `status --json`: the start counts as they always were, and
// the stop tasks by state as stop_<state>. Flat numbers, not an object, so
// that a reader of the counts as a map of numbers keeps working.
type withStops struct {
	queueadmin.Counts
	StopPending   int `json:"stop_pending"`
	StopScheduled int `json:"stop_scheduled"`
	StopRetry     int `json:"stop_retry"`
	StopActive    int `json:"stop_active"`
}

func newWithStops(c queueadmin.Counts, s queueadmin.StopCounts) withStops {
	return withStops{Counts: c, StopPending: s.Pending, StopScheduled: s.Scheduled, StopRetry: s.Retry, StopActive: s.Active}
}

// printStops writes the stop line of `status`.
func printStops(w io.Writer, c queueadmin.StopCounts) {
	fmt.Fprintf(w, "stopping   %d (pending %d, scheduled %d, retry %d, active %d)\n",
		c.Total(), c.Pending, c.Scheduled, c.Retry, c.Active)
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
