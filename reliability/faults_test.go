//go:build reliability

package reliability

import (
	"syscall"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	psfleet "github.com/phonestart/phonestart/internal/fleet"

	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/redistest"
)

// faultEvery5th answers about one call in five with a fault: HTTP 500, a
// truncated body, a dropped connection or a reply that omits a started
// phone, in turns. Which calls is decided by a hash of the call number, so
// every run sees the same sequence.
func faultEvery5th(call int) geelarktest.Fault {
	h := splitmix64(uint64(call))
	if h%5 != 0 {
		return geelarktest.Fault{}
	}
	kinds := []geelarktest.FaultKind{geelarktest.Fault500, geelarktest.FaultTruncated, geelarktest.FaultDrop, geelarktest.FaultOmit}
	return geelarktest.Fault{Kind: kinds[(h/5)%uint64(len(kinds))]}
}

// splitmix64 is a fixed pseudo-random hash of x.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// TestAPIFaultsLoseNoPhone runs phones through a worker while a fifth of the
// API calls fail or lie. Every good phone must end started, none of them
// dead-lettered; the phones GeeLark refuses for good must end dead with
// their code. Phones started by a call whose answer was lost are checked,
// not started again: none is started twice.
func TestAPIFaultsLoseNoPhone(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	f := newFleet(t, r.URL)
	fake := geelarktest.NewServer(geelarktest.Config{})
	t.Cleanup(fake.Close)
	fake.SetFaults(faultEvery5th)
	good := phoneIDs("5577904", 1500)
	gone := phoneIDs("4200104", 20)
	for _, id := range gone {
		fake.Script(id, geelarktest.Script{Code: 42001})
	}
	f.enqueue(good)
	f.enqueue(gone, "--width", "400")

	// Batches of 20 make about a hundred calls, so that each kind of fault
	// happens several times. With 40 attempts a good phone is dead-lettered
	// only if 40 calls in a row fail it, about 0.2^40.
	w := startProc(t, "worker", workerEnv(r.URL, fake.URL,
		"PHONESTART_BATCH_SIZE=20", "PHONESTART_BATCH_WAIT=50ms", "PHONESTART_MAX_ATTEMPTS=40",
		"PHONESTART_RETRY_BASE=20ms", "PHONESTART_RETRY_MAX=200ms"), "worker")
	all := append(append([]string{}, good...), gone...)
	took := f.waitSettled(all, 120*time.Second, func() string { return tail(w.stderr.String(), 30) })

	byState, dead := f.assertNoneLost(all, fake)
	for _, id := range good {
		if d, ok := dead[id]; ok {
			t.Errorf("good phone %s was dead-lettered: %+v", id, d)
		}
	}
	for _, id := range gone {
		if d, ok := dead[id]; !ok || d.Code != 42001 || d.Reason != psfleet.ReasonGeeLark {
			t.Errorf("phone %s refused with 42001: dead entry %+v (found %v), want it dead with that code", id, d, ok)
		}
	}

	calls := fake.CallsTo(geelark.StartPath)
	faults := map[string]int{}
	lostAnswer := map[string]bool{} // phones a call started without the worker hearing
	for _, c := range calls {
		faults[c.Fault.String()]++
		switch c.Fault {
		case geelarktest.FaultTruncated, geelarktest.FaultDrop:
			for _, id := range c.Started {
				lostAnswer[id] = true
			}
		case geelarktest.FaultOmit:
			if c.Omitted != "" {
				lostAnswer[c.Omitted] = true
			}
		}
	}
	// The phones of a call whose answer was lost are checked with the
	// status endpoint before a second start: none is started twice.
	assertNoneTwice(t, fake, all)
	dups, extra := duplicates(fake, all)
	t.Logf("%d phones settled in %v: %v; %d calls by fault: %v", len(all), took.Round(time.Millisecond), byState, len(calls), faults)
	t.Logf("duplicates: %d of %d phones started twice (%d extra starts); %d phones were started by a call whose answer was lost",
		len(dups), len(all), extra, len(lostAnswer))
	if faults["none"] == len(calls) {
		t.Error("no call was faulted: the case tested nothing")
	}

	if code, _ := w.stop(syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Errorf("worker exited %d after SIGTERM; log:\n%s", code, tail(w.stderr.String(), 30))
	}
}
