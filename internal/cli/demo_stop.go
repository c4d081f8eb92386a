package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/worker"
)

// demoStop ends the demo as a careful pipeline ends its day: it stops every
// phone it made ready, and says how many stop calls that took.
func demoStop(ctx context.Context, out io.Writer, store *fleet.Store, enq *enqueue.Client, w *worker.Worker,
	fake *geelarktest.Server, ids []string, timeout time.Duration) error {
	states, err := store.Phones(ctx, ids...)
	if err != nil {
		return err
	}
	var ready []string
	for _, s := range states {
		if s.State == fleet.StateReady {
			ready = append(ready, s.ID)
		}
	}
	if len(ready) == 0 {
		return nil
	}
	began := time.Now()
	before := w.Stats().Stopped
	if _, err := enq.Stop(ctx, enqueue.StopRequest{IDs: ready}); err != nil {
		return err
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for w.Stats().Stopped-before < len(ready) {
		if time.Since(began) > timeout {
			return fmt.Errorf("phones not stopped after %v", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	calls, running := 0, 0
	for _, c := range fake.Calls() {
		if c.Path == geelark.StopPath {
			calls++
		}
	}
	for _, id := range ready {
		if fake.Running(id) {
			running++
		}
	}
	fmt.Fprintf(out, "\nstopped        %d of %d ready phones in %v: %d stop calls (at least %d), %d still running\n",
		w.Stats().Stopped-before, len(ready), time.Since(began).Round(100*time.Millisecond), calls,
		(len(ready)+geelark.MaxStopIDs-1)/geelark.MaxStopIDs, running)
	return nil
}
