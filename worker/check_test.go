package worker_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
)

// A phone whose start call's answer was lost is checked before a second
// start. A check that answers a transient code for it (50000, 40010) says
// nothing about whether that call started it: it is checked again, not
// started again. (42001, a phone GeeLark does not know, is still started
// again, and dead.)
func TestTransientStatusCodeDoesNotStartAnUnansweredPhoneAgain(t *testing.T) {
	for _, code := range []int{50000, 40010} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, geelarktest.Config{})
			id := fmt.Sprintf("unans%d", code)
			e.fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultDrop})
			e.fake.ScriptStatus(id, geelarktest.Script{Code: code, Times: 2})
			e.enqueue(enqueue.Request{IDs: []string{id}})
			e.startWorker(e.fastConfig())
			p := e.waitPhone(id, time.Minute, fleet.StateReady, fleet.StateDead)
			if p.State != fleet.StateReady || e.fake.Starts(id) != 1 || e.fake.DoubleStarts() != 0 {
				t.Fatalf("phone %s, started %d times (%d of a running phone); want ready, started once",
					p.State, e.fake.Starts(id), e.fake.DoubleStarts())
			}
			if n := statusCalls(e.fake); n < 3 {
				t.Fatalf("%d status calls, want the 2 answered %d and one that answered the state", n, code)
			}
			var kinds []string
			for _, ev := range events(t, e, id) {
				kinds = append(kinds, ev.Event)
			}
			// The lost answer and each check that said nothing are retries.
			want := []string{fleet.EventEnqueued, fleet.EventRetry, fleet.EventRetry, fleet.EventRetry, fleet.EventStarted, fleet.EventReady}
			if !slices.Equal(kinds, want) {
				t.Errorf("events %v, want %v", kinds, want)
			}
		})
	}
}
