package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/logging"
)

// WebhookQueue is the asynq queue of a namespace's webhooks.
func WebhookQueue(sp fleet.Space) string { return sp.Name() + "-webhook" }

// webhookRetention keeps a delivered webhook's task (and so its ID) a day:
// a relay that enqueues the same outbox entry again meanwhile (it died
// between enqueueing and removing it) is refused by the ID, and nothing is
// sent twice.
const webhookRetention = 24 * time.Hour

// relayRecover is how often a relay looks for outbox entries a relay left
// behind (it died between taking and relaying them).
const relayRecover = 30 * time.Second

// relay moves the webhook outbox ({NAME}:outbox, filled by the scripts that
// end requests) into asynq tasks. Each entry is first moved (LMOVE) to
// {NAME}:outbox:processing, then enqueued under a task ID made from the
// entry, then removed: a relay that dies part way leaves the entry in the
// processing list, which every relay goes through again at start and every
// relayRecover; the task ID keeps a second enqueue from sending it twice.
type relay struct {
	s     *Server
	aq    *asynq.Client
	queue string
	log   *zap.Logger
}

func (r *relay) keys() (outbox, processing string) {
	return r.s.sp.Key("outbox"), r.s.sp.Key("outbox", "processing")
}

// run relays until ctx ends.
func (r *relay) run(ctx context.Context) {
	outbox, processing := r.keys()
	rdb := r.s.cfg.Redis
	r.recover(ctx)
	recovered := time.Now()
	for ctx.Err() == nil {
		if time.Since(recovered) > relayRecover {
			r.recover(ctx)
			recovered = time.Now()
		}
		entry, err := rdb.BLMove(ctx, outbox, processing, "LEFT", "RIGHT", time.Second).Result()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case err != nil:
			if ctx.Err() == nil {
				r.log.Warn("reading the webhook outbox failed; trying again in a second", zap.Error(err))
				sleep(ctx, time.Second)
			}
			continue
		}
		r.relay(ctx, entry)
	}
}

// recover relays the entries of the processing list.
func (r *relay) recover(ctx context.Context) {
	_, processing := r.keys()
	entries, err := r.s.cfg.Redis.LRange(ctx, processing, 0, -1).Result()
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("reading the webhook outbox failed", zap.Error(err))
		}
		return
	}
	for _, e := range entries {
		r.relay(ctx, e)
	}
}

// errDrop is an outbox entry with nothing to send.
var errDrop = errors.New("nothing to send")

// relay enqueues the task of one entry and removes the entry. An entry
// whose task could not be made or written stays, for the next recover.
func (r *relay) relay(ctx context.Context, entry string) {
	_, processing := r.keys()
	t, err := r.task(ctx, entry)
	switch {
	case errors.Is(err, errDrop):
		r.log.Warn("webhook outbox entry dropped", zap.String("entry", entry), zap.Error(err))
	case err != nil:
		if ctx.Err() == nil {
			r.log.Warn("webhook outbox entry not relayed yet", zap.String("entry", entry), zap.Error(err))
		}
		return
	default:
		if _, err := r.aq.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			if ctx.Err() == nil {
				r.log.Warn("webhook outbox entry not relayed yet", zap.String("entry", entry), zap.Error(err))
			}
			return
		}
	}
	if err := r.s.cfg.Redis.LRem(ctx, processing, 1, entry).Err(); err != nil && ctx.Err() == nil {
		r.log.Warn("webhook outbox entry relayed but not removed: the next look relays it again, and its task ID refuses it",
			zap.String("entry", entry), zap.Error(err))
	}
}

// task makes the task of an outbox entry: "request <ID>" (the request
// ended) or "phone <request> <phone>" (a phone of a request with
// notify_each ended). Its ID is made from the entry.
func (r *relay) task(ctx context.Context, entry string) (*asynq.Task, error) {
	f := strings.Fields(entry)
	if len(f) < 2 || (f[0] != "request" && f[0] != "phone") || (f[0] == "phone" && len(f) != 3) {
		return nil, errDrop
	}
	req, err := r.s.store.Request(ctx, f[1])
	if errors.Is(err, fleet.ErrNoRequest) {
		return nil, errors.Join(errDrop, err)
	}
	if err != nil {
		return nil, err
	}
	if req.Notify == "" {
		return nil, errors.Join(errDrop, errors.New("the request has no notify_url"))
	}
	w := Webhook{URL: req.Notify, Request: req.ID}
	var body any
	id := "request:" + req.ID
	if f[0] == "request" {
		w.Event = EventRequestEnded
		o, err := r.s.enq.Outcome(ctx, req.ID)
		if err != nil {
			return nil, err
		}
		body = o
	} else {
		w.Event, w.Phone = EventPhoneEnded, f[2]
		oc, ok := req.Outcomes[f[2]]
		if !ok {
			return nil, errors.Join(errDrop, errors.New("the phone has no outcome in the request"))
		}
		body = PhoneEnded{Request: req.ID, Label: req.Label, ID: f[2], State: oc.State, Action: oc.Action, Code: oc.Code,
			Reason: oc.Reason, Msg: oc.Msg, URL: oc.URL, At: oc.At.UTC()}
		id = "phone:" + req.ID + ":" + f[2]
	}
	if w.Body, err = json.Marshal(body); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	wc := r.s.cfg.Webhook
	return asynq.NewTask(TypeWebhook, payload, asynq.TaskID(id), asynq.Queue(r.queue), asynq.MaxRetry(wc.Attempts-1),
		asynq.Timeout(wc.Timeout+5*time.Second), asynq.Retention(webhookRetention)), nil
}

// RunWebhooks relays the webhook outbox and delivers the webhooks, until
// ctx ends; Run calls it. Every `phonestart api` process with a
// WebhookSecret does both: they share the work through Redis, and
// notifications wait in the outbox while none runs. It returns an error
// when the server has no WebhookSecret.
func (s *Server) RunWebhooks(ctx context.Context) error {
	if s.cfg.WebhookSecret == "" {
		return &ConfigError{Field: "WebhookSecret", Env: "PHONESTART_WEBHOOK_SECRET", Err: errors.New("required to deliver webhooks")}
	}
	wc := s.cfg.Webhook
	log := s.log.Named("webhook")
	queue := WebhookQueue(s.sp)
	transport := wc.Transport
	if transport == nil {
		transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	d := &deliverer{secret: []byte(s.cfg.WebhookSecret), now: s.cfg.Now, timeout: wc.Timeout,
		client: &http.Client{Transport: transport, CheckRedirect: noRedirects}}
	srv := asynq.NewServerFromRedisClient(s.cfg.Redis, asynq.Config{
		Concurrency: wc.Concurrency,
		Queues:      map[string]int{queue: 1},
		RetryDelayFunc: func(n int, _ error, _ *asynq.Task) time.Duration {
			return wc.RetryDelay(n + 1)
		},
		ErrorHandler:             webhookErrors(log),
		Logger:                   logging.Asynq(log),
		LogLevel:                 asynq.WarnLevel,
		ShutdownTimeout:          s.cfg.ShutdownTimeout,
		DelayedTaskCheckInterval: wc.CheckInterval,
		TaskCheckInterval:        min(time.Second, wc.CheckInterval),
	})
	mux := asynq.NewServeMux()
	mux.Handle(TypeWebhook, d)
	if err := srv.Start(mux); err != nil {
		return err
	}
	aq := asynq.NewClientFromRedisClient(s.cfg.Redis)
	r := &relay{s: s, aq: aq, queue: queue, log: log}
	r.run(ctx)
	srv.Shutdown()
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
