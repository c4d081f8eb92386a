package api

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/internal/fleet"
)

// tailBlock is how long the tail's XREAD blocks: also how long Close may
// wait for it.
const tailBlock = time.Second

// tail watches the events stream for every SSE stream and ?wait= of the
// process: one connection blocks on the stream (XREAD BLOCK) and wakes
// them all when it grows, instead of one blocked connection each, which
// would drain the Redis pool the other requests need. It starts with its
// first watcher. It is safe for simultaneous use.
type tail struct {
	ev  *fleet.Events
	log *zap.Logger

	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu sync.Mutex
	ch chan struct{} // closed when the stream grows, then replaced
}

func newTail(ev *fleet.Events, log *zap.Logger) *tail {
	ctx, cancel := context.WithCancel(context.Background())
	return &tail{ev: ev, log: log, ctx: ctx, cancel: cancel, done: make(chan struct{}), ch: make(chan struct{})}
}

// grown returns a channel closed once the stream has grown after this call.
// Take it before reading the stream, then wait on it: no entry is missed.
func (t *tail) grown() <-chan struct{} {
	t.once.Do(func() { go t.run() })
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ch
}

func (t *tail) run() {
	defer close(t.done)
	cursor := ""
	for t.ctx.Err() == nil {
		if cursor == "" {
			last, err := t.ev.Last(t.ctx)
			if err != nil {
				t.pause(err)
				continue
			}
			cursor = last
		}
		got, err := t.ev.Read(t.ctx, cursor, 1, tailBlock)
		if err != nil {
			t.pause(err)
			continue
		}
		if len(got) > 0 {
			cursor = "" // jump to the newest: one wake-up for a burst
			t.wake()
		}
	}
	t.wake()
}

// pause waits a moment after a Redis error, and wakes the watchers: they
// look for themselves.
func (t *tail) pause(err error) {
	if t.ctx.Err() != nil {
		return
	}
	t.log.Warn("reading the events stream failed; trying again in a second", zap.Error(err))
	t.wake()
	select {
	case <-t.ctx.Done():
	case <-time.After(time.Second):
	}
}

func (t *tail) wake() {
	t.mu.Lock()
	close(t.ch)
	t.ch = make(chan struct{})
	t.mu.Unlock()
}

// closed is done once the tail is closed.
func (t *tail) closed() <-chan struct{} { return t.ctx.Done() }

// close stops the tail and waits for it.
func (t *tail) close() {
	t.once.Do(func() { close(t.done) }) // never started: nothing to wait for
	t.cancel()
	<-t.done
}
