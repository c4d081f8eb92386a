// Package enqueue is the producer API of phonestart: it asks for phones to be
// started (or stopped, or called off), as requests that any phonestart
// worker sharing the Redis carries out, and tells how each request ended.
//
// A request is validated whole before anything is written: one bad ID or
// option returns an *InputError naming it and enqueues nothing. Each phone
// has one record, the truth about where it is; a request writes the
// records first (one script for each 500 phones), then one asynq task per
// phone that took the request. A phone whose start is already under way is
// not enqueued again: it is reported as a duplicate and joins the request,
// whose outcome for it is that start's.
package enqueue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redisconn"
)

// Defaults of Config.
const (
	DefaultRetention      = fleet.DefaultRetention
	DefaultParallelism    = 256
	DefaultReplicaTimeout = 5 * time.Second
)

// Config configures a Client.
type Config struct {
	// Redis is the Redis the workers read. Required; a Redis Cluster
	// client is refused. The Client does not close it.
	Redis redis.UniversalClient
	// Namespace is the deployment's namespace (PHONESTART_NAMESPACE): it
	// prefixes every key and names the asynq queues, so that several
	// fleets can share one Redis. Default "phonestart".
	Namespace string
	// Retention is how long a phone's record, and a request with its
	// outcomes, are kept after they ended, when this client's step ended
	// them (a cancel, or a start or stop replaced by a later request); the
	// workers' Retention keeps those a worker ends. Default 7 days.
	Retention time.Duration
	// Parallelism is how many phones' tasks are being written at once, each
	// by one asynq Client.Enqueue. Default 256. With a *redis.Client the
	// writes in flight share round trips (go-redis's autopipelining), so
	// they need no connection each; with another client, give its pool
	// about this many connections.
	Parallelism int
	// EventsMax caps the events stream this client appends to, about.
	// Default 100,000.
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

// Client enqueues requests. It is safe for simultaneous use by multiple
// goroutines.
type Client struct {
	rdb      redis.UniversalClient
	store    *fleet.Store
	aq       *asynq.Client
	insp     *asynq.Inspector
	parallel int

	minReplicas    int
	replicaTimeout time.Duration
	// conns gives the dedicated connection a replica wait needs; nil
	// unless MinReplicas > 0.
	conns connector
}

// connector is a Redis client that can hand out a connection of its own.
type connector interface {
	Conn() *redis.Conn
}

// New returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Redis == nil {
		return nil, errors.New("enqueue: config: Redis is required")
	}
	if err := redisconn.RefuseCluster(cfg.Redis); err != nil {
		return nil, fmt.Errorf("enqueue: config: Redis: %w", err)
	}
	sp, err := fleet.NewSpace(cfg.Namespace)
	if err != nil {
		return nil, fmt.Errorf("enqueue: config: Namespace: %w", err)
	}
	switch {
	case cfg.Retention < 0:
		return nil, fmt.Errorf("enqueue: config: Retention %v is negative", cfg.Retention)
	case cfg.Parallelism < 0:
		return nil, fmt.Errorf("enqueue: config: Parallelism %d is negative", cfg.Parallelism)
	case cfg.MinReplicas < 0:
		return nil, fmt.Errorf("enqueue: config: MinReplicas %d is negative", cfg.MinReplicas)
	case cfg.ReplicaTimeout < 0:
		return nil, fmt.Errorf("enqueue: config: ReplicaTimeout %v is negative", cfg.ReplicaTimeout)
	}
	store, err := fleet.NewStore(cfg.Redis, fleet.StoreConfig{Space: sp, EventsMax: cfg.EventsMax, Retention: cfg.Retention})
	if err != nil {
		return nil, fmt.Errorf("enqueue: config: %w", err)
	}
	c := &Client{
		rdb:            cfg.Redis,
		store:          store,
		aq:             asynq.NewClientFromRedisClient(batched(cfg.Redis)),
		insp:           asynq.NewInspectorFromRedisClient(cfg.Redis),
		parallel:       cmp.Or(cfg.Parallelism, DefaultParallelism),
		minReplicas:    cfg.MinReplicas,
		replicaTimeout: cmp.Or(cfg.ReplicaTimeout, DefaultReplicaTimeout),
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
	// became ready: the billing guard. Default 0: the workers'
	// PHONESTART_MAX_RUNTIME, if any.
	StopAfter time.Duration
	// Label names the request in its events and outcome: 1 to 64 ASCII
	// letters, digits, '.', '_', ':' or '-'. Optional.
	Label string
	// NotifyURL, when set, is an http(s) URL that `phonestart api`'s
	// webhooks tell when the request has ended (and of each phone's end,
	// with NotifyEach).
	NotifyURL  string
	NotifyEach bool
	// Requeue marks dead phones a person sends back: their step in the
	// events stream is "requeued", not "enqueued".
	Requeue bool
	// Progress, when set, is called as phones settle (enqueued, found a
	// duplicate, or failed) with how many of the request's distinct IDs
	// have settled and how many there are. Calls come one at a time while
	// Start runs; a slow Progress slows Start.
	Progress func(done, total int)
}

// Report says what an enqueue did.
type Report struct {
	// Request names the request: pass it to Wait or Outcome.
	Request string `json:"request"`
	// Enqueued counts the phones newly enqueued.
	Enqueued int `json:"enqueued"`
	// Duplicates lists the phones that already had a start pending,
	// scheduled, retrying or under way (or were given twice): they joined
	// the request all the same.
	Duplicates []string `json:"-"`
	// CancelledStops counts the phones whose waiting stop this request
	// cancelled: the later request wins.
	CancelledStops int `json:"cancelled_stops"`
}

// InputError is a request refused before anything was enqueued. Field names
// what was wrong: "ids[3]" (the third ID, counted from 1), "ids", "width",
// "center", "at", "in", "label", "notify_url".
type InputError struct {
	Field string
	Err   error
}

func (e *InputError) Error() string { return "enqueue: " + e.Field + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// validateIDs checks a request's IDs, naming a bad one by its place from 1.
func validateIDs(ids []string) error {
	if len(ids) == 0 {
		return &InputError{Field: "ids", Err: errors.New("no phone IDs")}
	}
	for i, id := range ids {
		if err := geelark.ValidateID(id); err != nil {
			return &InputError{Field: fmt.Sprintf("ids[%d]", i+1), Err: err}
		}
	}
	return nil
}

// validateWhen checks a request's At and In.
func validateWhen(at time.Time, in time.Duration) error {
	switch {
	case !at.IsZero() && in != 0:
		return &InputError{Field: "at", Err: errors.New("set at most one of At and In")}
	case in < 0:
		return &InputError{Field: "in", Err: fmt.Errorf("%v is negative", in)}
	}
	return nil
}

// validateLabel checks a request's label and notification URL.
func validateLabel(label, notify string) error {
	if err := fleet.ValidateLabel(label); err != nil {
		return &InputError{Field: "label", Err: fmt.Errorf("%q: %w", label, err)}
	}
	if err := ValidateNotifyURL(notify); err != nil {
		return &InputError{Field: "notify_url", Err: err}
	}
	return nil
}

// Validate checks r without touching Redis.
func (r Request) Validate() error {
	if err := validateIDs(r.IDs); err != nil {
		return err
	}
	if err := r.Options.Validate(); err != nil {
		field := "options"
		var oe *geelark.OptionError
		if errors.As(err, &oe) {
			field = oe.Field
		}
		return &InputError{Field: field, Err: err}
	}
	if err := validateWhen(r.At, r.In); err != nil {
		return err
	}
	if r.StopAfter < 0 {
		return &InputError{Field: "stop_after", Err: fmt.Errorf("%v is negative", r.StopAfter)}
	}
	return validateLabel(r.Label, r.NotifyURL)
}

// due is when a request's phones are due: zero for now.
func due(at time.Time, in time.Duration) time.Time {
	switch {
	case !at.IsZero():
		return at
	case in > 0:
		// One time for the whole request, however long its writes take.
		return time.Now().Add(in)
	}
	return time.Time{}
}

// Start validates r, then enqueues it: each phone's record takes the
// request (or reports it a duplicate), and each phone that took it gets
// one start task, Parallelism written at a time.
//
// When Redis fails part way, or ctx ends, Start returns the error with the
// Report of what was enqueued before it. Enqueueing the same phones again
// is safe: phones already enqueued come back as duplicates (a phone whose
// record was written and whose task was not gets its task from the
// workers' reconciler within about a minute). With MinReplicas set, a
// *ReplicaError says the writes, all counted in the Report, did not reach
// enough replicas in time.
func (c *Client) Start(ctx context.Context, r Request) (Report, error) {
	if err := r.Validate(); err != nil {
		return Report{}, err
	}
	in := fleet.Intent{Action: fleet.ActionStart, Label: r.Label, Due: due(r.At, r.In), Options: r.Options,
		StopAfter: r.StopAfter, Notify: r.NotifyURL, Each: r.NotifyEach}
	if r.Requeue {
		in.Event = fleet.EventRequeued
	}
	res, err := c.place(ctx, in, r.IDs, r.Progress)
	rep := Report{Request: res.request, Enqueued: res.placed, Duplicates: res.dups, CancelledStops: res.superseded}
	return rep, c.replicas(ctx, rep.Enqueued, err)
}

// Namespace is the client's namespace.
func (c *Client) Namespace() string { return c.store.Space().Name() }

// replicas waits for MinReplicas once writes were made, joining its error
// to err.
func (c *Client) replicas(ctx context.Context, wrote int, err error) error {
	if c.minReplicas > 0 && wrote > 0 {
		if rerr := c.awaitReplicas(ctx); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return err
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
