package worker

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/phonestart/phonestart/geelark"
)

// result is a batch call's word on one phone, as its handler returns it.
type result struct {
	// err is what the handler returns to asynq: nil when the phone's task
	// is done (it started, stopped, is dead, or its task was stale), a
	// *PhoneError to retry it, a *pausedError or *waitError to send it back
	// without using an attempt, errHandBack at shutdown.
	err error
	// outcome is how the phone was settled, for the metrics (outcomeStarted,
	// ...); "" when it was not (stale, handed back, or never claimed).
	outcome string
	code    int
}

// request is one phone waiting in a batcher, for the call of its task's
// generation and number.
type request struct {
	id      string
	gen     int64
	task    int
	opts    geelark.StartOptions
	attempt int // the phone's attempt this call is, from 1; set by the claim
	added   time.Time
	done    chan result // buffered: the sender never blocks
	taken   bool        // in a call; guarded by batcher.mu
}

// group holds the phones waiting for a call with one option set.
type group struct {
	opts    geelark.StartOptions
	pending []*request
	timer   timer
	waiting int // flushers waiting to be admitted
}

// batcher packs the phones of concurrent handlers into as few calls as the
// limits allow. A call goes out when a group holds size phones or when its
// oldest phone has waited wait. A call waits for the fleet pause to lift and
// for the limiter before it takes its phones, so phones that arrive while it
// waits ride along: pressure on the budget makes calls fuller, not more
// numerous.
type batcher struct {
	size  int
	wait  time.Duration
	now   func() time.Time
	after func(d time.Duration, f func()) timer // runs f after d by now's clock
	admit func(ctx context.Context) error
	send  func(opts geelark.StartOptions, batch []*request)

	stopCtx context.Context // cancelled when the batcher drains
	stop    context.CancelFunc

	mu       sync.Mutex
	groups   map[string]*group
	draining bool
}

func newBatcher(size int, wait time.Duration, now func() time.Time,
	admit func(context.Context) error, send func(geelark.StartOptions, []*request)) *batcher {
	ctx, cancel := context.WithCancel(context.Background())
	return &batcher{size: size, wait: wait, now: now, after: afterFunc, admit: admit, send: send,
		stopCtx: ctx, stop: cancel, groups: map[string]*group{}}
}

// timer is a function call armed for later; a *time.Timer is one.
type timer interface{ Stop() bool }

func afterFunc(d time.Duration, f func()) timer { return time.AfterFunc(d, f) }

// start adds r to its group's next call and waits for the call's word on
// it. If wait ends before the phone is in a call, the phone leaves the
// group and start hands it back (errHandBack, or ctx's error once ctx is
// done). Once the phone is in a call, start waits for the call's word, or
// for ctx.
func (b *batcher) start(ctx, wait context.Context, r *request) result {
	r.added, r.done = b.now(), make(chan result, 1)
	opts := r.opts
	key := opts.Key()
	b.mu.Lock()
	if b.draining {
		b.mu.Unlock()
		return result{err: errHandBack}
	}
	g := b.groups[key]
	if g == nil {
		g = &group{opts: opts}
		b.groups[key] = g
	}
	g.pending = append(g.pending, r)
	b.schedule(g)
	b.mu.Unlock()

	select {
	case res := <-r.done:
		return res
	case <-wait.Done():
	}
	b.mu.Lock()
	if !r.taken {
		g.pending = slices.DeleteFunc(g.pending, func(x *request) bool { return x == r })
		b.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return result{err: err}
		}
		return result{err: errHandBack}
	}
	b.mu.Unlock()
	select {
	case res := <-r.done:
		return res
	case <-ctx.Done():
		// In a call: the call settles the phone's record; its task comes
		// round again and finds it settled.
		return result{err: &waitError{reason: "handler gave up during the call: " + ctx.Err().Error()}}
	}
}

// schedule starts a flusher for every full batch not yet covered, or arms
// the group's timer for its oldest phone. b.mu is held.
func (b *batcher) schedule(g *group) {
	for len(g.pending) >= b.size*(g.waiting+1) {
		g.waiting++
		go b.flush(g)
	}
	if g.waiting > 0 || len(g.pending) == 0 || g.timer != nil {
		return
	}
	d := max(g.pending[0].added.Add(b.wait).Sub(b.now()), 0)
	g.timer = b.after(d, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		g.timer = nil
		if len(g.pending) == 0 || g.waiting > 0 || b.draining {
			return
		}
		// The phone this timer was armed for may have left in a full
		// batch since: wait for the one that is oldest now.
		if g.pending[0].added.Add(b.wait).After(b.now()) {
			b.schedule(g)
			return
		}
		g.waiting++
		go b.flush(g)
	})
}

// flush waits to be admitted, then takes up to size phones of g and sends
// them in one call.
func (b *batcher) flush(g *group) {
	err := b.admit(b.stopCtx)
	b.mu.Lock()
	g.waiting--
	if err != nil {
		// Paused or stopping: every phone still waiting in the group gets
		// the same answer; the other flushers will find nothing to take.
		if b.stopCtx.Err() != nil {
			err = errHandBack
		}
		for _, r := range g.pending {
			r.done <- result{err: err}
		}
		g.pending = nil
		b.mu.Unlock()
		return
	}
	batch := b.take(g)
	b.schedule(g)
	b.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	b.send(g.opts, batch)
}

// take removes up to size phones from g, oldest first, at most one per ID
// (a phone handed back to asynq can come round again before its first
// handler returns). b.mu is held.
func (b *batcher) take(g *group) []*request {
	batch := make([]*request, 0, min(b.size, len(g.pending)))
	seen := make(map[string]bool, cap(batch))
	rest := g.pending[:0]
	for _, r := range g.pending {
		if len(batch) < b.size && !seen[r.id] {
			seen[r.id] = true
			r.taken = true
			batch = append(batch, r)
			continue
		}
		rest = append(rest, r)
	}
	clear(g.pending[len(rest):])
	g.pending = rest
	return batch
}

// drain stops new calls: phones not yet in a call are handed back. Calls in
// flight go on and deliver their outcomes to their handlers.
func (b *batcher) drain() {
	b.mu.Lock()
	b.draining = true
	b.stop()
	for _, g := range b.groups {
		if g.timer != nil {
			g.timer.Stop()
			g.timer = nil
		}
		for _, r := range g.pending {
			r.done <- result{err: errHandBack}
		}
		g.pending = nil
	}
	b.mu.Unlock()
}
