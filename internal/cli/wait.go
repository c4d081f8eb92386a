package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/phonestart/phonestart/enqueue"
)

// defaultWaitTimeout is how long enqueue --wait waits at most, unless told.
const defaultWaitTimeout = 15 * time.Minute

// waitFor is the end of `enqueue --wait`: it waits for the phones of the
// request and prints where each is. SIGINT (ctx) ends the wait, not the
// phones: what is known is printed and the exit code is 1.
func waitFor(ctx context.Context, env Env, enq *enqueue.Client, ids []string, rep enqueue.Report, opts enqueue.WaitOptions, asJSON bool) error {
	if !asJSON {
		fmt.Fprintf(env.Stdout, "request %s: enqueued %s, %s\n", rep.Request, plural(rep.Enqueued, "phone"), plural(len(rep.Duplicates), "duplicate"))
		fmt.Fprintf(env.Stderr, "waiting up to %v for %s to be ready (Ctrl-C stops the wait, not the phones)\n",
			opts.Timeout, plural(len(unique(ids)), "phone"))
	}
	out, err := enq.Wait(ctx, rep.Request, opts)
	interrupted := err != nil && ctx.Err() != nil
	if err != nil && !interrupted {
		return err
	}
	if asJSON {
		// A struct, not a map: the keys come out in the documented order.
		if err := json.NewEncoder(env.Stdout).Encode(struct {
			Request    string               `json:"request"`
			Enqueued   int                  `json:"enqueued"`
			Duplicates int                  `json:"duplicates"`
			Ready      []enqueue.ReadyPhone `json:"ready"`
			Dead       []enqueue.DeadPhone  `json:"dead"`
			Cancelled  []string             `json:"cancelled"`
			Stopped    []string             `json:"stopped"`
			Unfinished []string             `json:"unfinished"`
		}{rep.Request, rep.Enqueued, len(rep.Duplicates), out.Ready, out.Dead, out.Cancelled, out.Stopped, out.Unfinished}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.Stdout, "ready %d, dead %d, cancelled %d, stopped %d, unfinished %d\n",
			len(out.Ready), len(out.Dead), len(out.Cancelled), len(out.Stopped), len(out.Unfinished))
		for _, d := range out.Dead {
			fmt.Fprintf(env.Stdout, "dead %s (its %s failed): code %d reason %s: %s\n", d.ID, d.Action, d.Code, d.Reason, d.Msg)
		}
		if len(out.Unfinished) > 0 {
			fmt.Fprintf(env.Stdout, "unfinished: %s\n", listSome(out.Unfinished, 10))
		}
	}
	switch {
	case interrupted:
		return &exitError{code: 1, err: errors.New("interrupted: stopped waiting; the phones carry on")}
	case !out.AllReady():
		notReady := len(out.Dead) + len(out.Cancelled) + len(out.Stopped) + len(out.Unfinished)
		return &exitError{code: 1, err: fmt.Errorf("%d of %s not ready: %d dead, %d cancelled, %d stopped, %d unfinished",
			notReady, plural(len(out.Ready)+notReady, "phone"), len(out.Dead), len(out.Cancelled), len(out.Stopped), len(out.Unfinished))}
	}
	return nil
}

// unique returns ids without repeats, in order.
func unique(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
