// Package enqueue is the producer API of phonestart: it asks for phones to be
// started by putting one start-phone task per phone into Redis, where any
// phonestart worker picks them up.
//
// A request is validated whole before anything is written: one bad ID or
// option returns an error naming it and enqueues nothing. A phone that
// already has a start pending, scheduled, retrying or in progress is not
// enqueued again; it is reported as a duplicate. A phone whose last start
// finished or was dead-lettered can be enqueued again.
package enqueue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// Defaults of Config.
const (
	DefaultRetention      = 24 * time.Hour
	DefaultParallelism    = 256
	DefaultReplicaTimeout = 5 * time.Second
)

// Config configures a Client.
type Config struct {
	// Redis is the Redis the workers read. Required. The Client does not
	// close it.
	Redis redis.UniversalClient
	// Retention is how long a started phone's result (url, charging method)
	// stays readable, and so how long after a start an enqueue of the same
	// phone is still allowed (it replaces the finished task). Default 24h.
	Retention time.Duration
	// Parallelism is how many phones' tasks are being written at once, each
	// by one asynq Client.Enqueue. Default 256. With a *redis.Client the
	// writes in flight share round trips (go-redis's autopipelining), so
	// they need no connection each; with another client, give its pool
	// about this many connections.
	Parallelism int
	// EventsMax caps the events stream (fleet.EventsKey) this client
	// appends to, about. Default fleet.DefaultEventsMax.
	EventsMax int
	// MinReplicas, when above 0, makes Start return only once the request's
	// writes reached that many replicas of the Redis master (Redis WAIT),
	// so that an acknowledged phone survives the master's loss; Start
	// returns a *ReplicaError when fewer acknowledged within
	// ReplicaTimeout. It needs a *redis.Client (one server, or a Sentinel
	// failover client). Default 0: Start returns once the master has the
	// writes.
	MinReplicas int
	// ReplicaTimeout is how long Start waits for MinReplicas replicas.
	// Default 5s.
	ReplicaTimeout time.Duration
}

// Client enqueues start requests. It is safe for simultaneous use by
// multiple goroutines.
type Client struct {
	rdb       redis.UniversalClient
	aq        *asynq.Client
	insp      *asynq.Inspector
	retention time.Duration
	parallel  int
	eventsMax int // of the journal stops record in

	minReplicas    int
	replicaTimeout time.Duration
	journal        *fleet.Journal
	// conns gives the dedicated connection a replica wait needs; nil
	// unless MinReplicas > 0.
	conns connector

	// afterChunk, when set, runs once per chunk of a request's phones,
	// with the IDs of the chunk that were newly enqueued (never empty),
	// once all of the chunk's writes are done. Its error fails Start.
	afterChunk func(ctx context.Context, enqueued []string) error
}

// markKey carries the events stream's mark to afterChunk, beganKey the
// Redis time the request began.
type (
	markKey  struct{}
	beganKey struct{}
)

// connector is a Redis client that can hand out a connection of its own.
type connector interface {
	Conn() *redis.Conn
}

// Journal returns the journal of phones' events this client records to,
// capped at Config.EventsMax, for code that records other steps (requeue,
// purge) with the same cap.
func (c *Client) Journal() *fleet.Journal { return c.journal }

// New returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Redis == nil {
		return nil, errors.New("enqueue: config: Redis is required")
	}
	if cfg.Retention < 0 {
		return nil, fmt.Errorf("enqueue: config: Retention %v is negative", cfg.Retention)
	}
	if cfg.Parallelism < 0 {
		return nil, fmt.Errorf("enqueue: config: Parallelism %d is negative", cfg.Parallelism)
	}
	if cfg.MinReplicas < 0 {
		return nil, fmt.Errorf("enqueue: config: MinReplicas %d is negative", cfg.MinReplicas)
	}
	if cfg.ReplicaTimeout < 0 {
		return nil, fmt.Errorf("enqueue: config: ReplicaTimeout %v is negative", cfg.ReplicaTimeout)
	}
	c := &Client{
		rdb:            cfg.Redis,
		aq:             asynq.NewClientFromRedisClient(batched(cfg.Redis)),
		insp:           asynq.NewInspectorFromRedisClient(cfg.Redis),
		retention:      cmp.Or(cfg.Retention, DefaultRetention),
		parallel:       cmp.Or(cfg.Parallelism, DefaultParallelism),
		eventsMax:      cfg.EventsMax,
		minReplicas:    cfg.MinReplicas,
		replicaTimeout: cmp.Or(cfg.ReplicaTimeout, DefaultReplicaTimeout),
	}
	// A phone enqueued again is no longer dead, and its life starts anew
	// in the events stream.
	ledger, journal := fleet.NewLedger(cfg.Redis, 0), fleet.NewJournal(cfg.Redis, cfg.EventsMax)
	c.journal = journal
	c.afterChunk = func(ctx context.Context, ids []string) error {
		// A phone asked for again is no longer dead: its entry goes, once
		// its task exists (never before: a failed write must leave it
		// listed), unless a worker wrote it since (it failed again).
		if began, ok := ctx.Value(beganKey{}).(time.Time); ok {
			if _, err := ledger.RemoveBefore(ctx, began, ids...); err != nil {
				return fmt.Errorf("drop from the dead-letter ledger: %w", err)
			}
		}
		now := time.Now()
		evs := make([]fleet.Event, len(ids))
		for i, id := range ids {
			evs[i] = fleet.Event{Phone: id, Event: fleet.EventEnqueued, At: now}
		}
		// A worker may have taken a phone already: its newer state stays.
		mark, _ := ctx.Value(markKey{}).(string)
		if err := journal.RecordSince(ctx, mark, evs...); err != nil {
			return fmt.Errorf("record events: %w", err)
		}
		return nil
	}
	if c.minReplicas > 0 {
		conns, ok := cfg.Redis.(connector)
		if !ok {
			return nil, fmt.Errorf("enqueue: config: MinReplicas needs a *redis.Client (one server or a Sentinel failover client), not a %T", cfg.Redis)
		}
		c.conns = conns
	}
	return c, nil
}

// Request asks for phones to be started.
type Request struct {
	// IDs are the phones to start. Each must pass geelark.ValidateID. An ID
	// given twice is enqueued once and reported once as a duplicate.
	IDs []string
	// Options apply to every phone of the request.
	Options geelark.StartOptions
	// At, when set, starts the phones at that time instead of now.
	At time.Time
	// In, when set, starts the phones that long from now. At most one of At
	// and In may be set.
	In time.Duration
	// StopAfter, when positive, stops each phone that long after it
	// became ready (or after its start was accepted, when the workers do
	// not confirm boots): the billing guard. Default 0: the workers'
	// PHONESTART_MAX_RUNTIME, if any.
	StopAfter time.Duration
	// Progress, when set, is called as phones settle (enqueued, found a
	// duplicate, or failed) with how many of the request's distinct IDs
	// have settled and how many there are. Calls come one at a time, from
	// Start's goroutines, while Start runs; a slow Progress slows Start.
	Progress func(done, total int)
}

// Report says what an enqueue did.
type Report struct {
	// Enqueued counts the phones newly enqueued.
	Enqueued int `json:"enqueued"`
	// Duplicates lists the phones that already had a start pending,
	// scheduled, retrying or in progress (or were given twice).
	Duplicates []string `json:"-"`
	// Mark is where the events stream stood before Start wrote anything:
	// pass it to Wait as WaitOptions.After.
	Mark Mark `json:"-"`
	// CancelledStops counts the phones whose pending, scheduled or retrying
	// stop this request cancelled: the later request wins.
	CancelledStops int `json:"cancelled_stops"`
}

// InputError is a request refused before anything was enqueued. Field names
// what was wrong: "ids[3]", "ids", "width", "center", "at", "in".
type InputError struct {
	Field string
	Err   error
}

func (e *InputError) Error() string { return "enqueue: " + e.Field + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Validate checks r without touching Redis.
func (r Request) Validate() error {
	if len(r.IDs) == 0 {
		return &InputError{Field: "ids", Err: errors.New("no phone IDs")}
	}
	for i, id := range r.IDs {
		if err := geelark.ValidateID(id); err != nil {
			return &InputError{Field: fmt.Sprintf("ids[%d]", i), Err: err}
		}
	}
	if err := r.Options.Validate(); err != nil {
		field := "options"
		var oe *geelark.OptionError
		if errors.As(err, &oe) {
			field = oe.Field
		}
		return &InputError{Field: field, Err: err}
	}
	switch {
	case !r.At.IsZero() && r.In != 0:
		return &InputError{Field: "at", Err: errors.New("set at most one of At and In")}
	case r.In < 0:
		return &InputError{Field: "in", Err: fmt.Errorf("%v is negative", r.In)}
	case r.StopAfter < 0:
		return &InputError{Field: "stop_after", Err: fmt.Errorf("%v is negative", r.StopAfter)}
	}
	return nil
}

// Start validates r, then enqueues one start task per phone, through
// asynq's Client, Parallelism at a time.
//
// When Redis fails part way, or ctx ends, Start returns the error with the
// Report of what was enqueued before it; enqueueing the same request again
// is safe, since the phones already enqueued come back as duplicates. With
// MinReplicas set, a *ReplicaError says the writes, all counted in the
// Report, did not reach enough replicas in time.
func (c *Client) Start(ctx context.Context, r Request) (Report, error) {
	if err := r.Validate(); err != nil {
		return Report{}, err
	}
	extra := []asynq.Option{asynq.Retention(c.retention)}
	switch {
	case !r.At.IsZero():
		extra = append(extra, asynq.ProcessAt(r.At))
	case r.In > 0:
		// One time for the whole request, however long its writes take.
		extra = append(extra, asynq.ProcessAt(time.Now().Add(r.In)))
	}
	mark, err := c.Mark(ctx)
	if err != nil {
		return Report{}, err
	}
	ids, dups := unique(r.IDs)
	rep := Report{Duplicates: dups, Mark: mark}
	// Redis's time before any task is written: the phones' older
	// dead-letter entries go once their tasks exist (see afterChunk).
	began, err := c.rdb.Time(ctx).Result()
	if err != nil {
		return rep, fmt.Errorf("enqueue: %w", err)
	}
	ctx = context.WithValue(ctx, beganKey{}, began)
	results, stepErr := c.write(context.WithValue(ctx, markKey{}, mark.Stream), ids, r.Options, r.StopAfter, extra, r.tick(len(ids)))
	var firstErr error
	for i, res := range results {
		switch {
		case res == nil:
			rep.Enqueued++
		case errors.Is(res, errDuplicate):
			rep.Duplicates = append(rep.Duplicates, ids[i])
		case firstErr == nil:
			firstErr = fmt.Errorf("enqueue: phone %s: %w", ids[i], res)
		}
	}
	if firstErr == nil {
		firstErr = stepErr
	}
	var cerr error
	rep.CancelledStops, cerr = c.cancelStops(ctx, ids, results)
	if firstErr == nil {
		firstErr = cerr
	}
	if c.minReplicas > 0 && rep.Enqueued > 0 {
		if err := c.awaitReplicas(ctx); err != nil {
			firstErr = errors.Join(firstErr, err)
		}
	}
	return rep, firstErr
}

func unique(ids []string) (out, dups []string) {
	seen := make(map[string]struct{}, len(ids))
	out = make([]string, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; ok {
			dups = append(dups, id)
			continue
		}
		seen[id] = struct{}{}
		out = append(out, id)
	}
	return out, dups
}

// tick returns what write calls as each chunk of n phones settles:
// r.Progress with the count so far, one call at a time. It is nil without
// r.Progress.
func (r Request) tick(total int) func(n int) {
	if r.Progress == nil {
		return nil
	}
	var mu sync.Mutex
	done := 0
	return func(n int) {
		mu.Lock()
		defer mu.Unlock()
		done += n
		r.Progress(done, total)
	}
}
