package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/phonestart/phonestart/enqueue"
)

// Defaults of enqueue --wait.
const (
	defaultWaitTimeout = 15 * time.Minute
	// defaultBootTimeout is the workers' PHONESTART_BOOT_TIMEOUT default;
	// only whether it is 0 matters here.
	defaultBootTimeout = 5 * time.Minute
)

// waitFor is the end of `enqueue --wait`: it waits for the phones of the
// request and prints where each is. SIGINT (ctx) ends the wait, not the
// phones: what is known is printed and the exit code is 1.
func waitFor(ctx context.Context, env Env, enq *enqueue.Client, ids []string, rep enqueue.Report, opts enqueue.WaitOptions, asJSON bool) error {
	if !asJSON {
		fmt.Fprintf(env.Stdout, "enqueued %s, %s\n", plural(rep.Enqueued, "phone"), plural(len(rep.Duplicates), "duplicate"))
		fmt.Fprintf(env.Stderr, "waiting up to %v for %s to be ready (Ctrl-C stops the wait, not the phones)\n",
			opts.Timeout, plural(len(unique(ids)), "phone"))
	}
	out, err := enq.Wait(ctx, ids, opts)
	interrupted := err != nil && ctx.Err() != nil
	if err != nil && !interrupted {
		return err
	}
	if asJSON {
		// A struct, not a map: the keys come out in the documented order.
		if err := json.NewEncoder(env.Stdout).Encode(struct {
			Enqueued   int                 `json:"enqueued"`
			Duplicates int                 `json:"duplicates"`
			Ready      []string            `json:"ready"`
			Dead       []enqueue.DeadPhone `json:"dead"`
			Unfinished []string            `json:"unfinished"`
		}{rep.Enqueued, len(rep.Duplicates), out.Ready, out.Dead, out.Unfinished}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.Stdout, "ready %d, dead %d, unfinished %d\n", len(out.Ready), len(out.Dead), len(out.Unfinished))
		for _, d := range out.Dead {
			fmt.Fprintf(env.Stdout, "dead %s: code %d reason %s: %s\n", d.ID, d.Code, d.Reason, d.Msg)
		}
		if len(out.Unfinished) > 0 {
			fmt.Fprintf(env.Stdout, "unfinished: %s\n", listSome(out.Unfinished, 10))
		}
	}
	switch {
	case interrupted:
		return &exitError{code: 1, err: errors.New("interrupted: stopped waiting; the phones carry on")}
	case !out.AllReady():
		return &exitError{code: 1, err: fmt.Errorf("%d of %s not ready: %d dead, %d unfinished",
			len(out.Dead)+len(out.Unfinished), plural(len(out.Ready)+len(out.Dead)+len(out.Unfinished), "phone"),
			len(out.Dead), len(out.Unfinished))}
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
