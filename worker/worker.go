// Package worker runs phonestart's workers: asynq servers that take
// start-phone and stop-phone tasks from Redis, pack their phones into as
// few GeeLark calls as the limits allow, and settle each phone in its
// record: started and booting (then ready), retried with backoff,
// stopped, or dead with its code in the dead-letter ledger.
//
// A Worker keeps no state of its own beyond the batch it is forming: every
// record, task, pause and budget lives in Redis, so a fleet scales by
// running more workers against the same Redis.
package worker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/internal/clock"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/logging"
	"github.com/phonestart/phonestart/tasks"
)

// Worker processes start-phone and stop-phone tasks until shut down.
type Worker struct {
	cfg       Config
	log       *zap.Logger
	srv       *asynq.Server
	store     *fleet.Store
	sp        fleet.Space
	pauses    *fleet.Pauses
	workers   *fleet.Workers
	aq        *asynq.Client // writes the tasks of failed boots and of the billing guard
	local     local         // this worker's own pause
	epoch     atomic.Int64  // the fleet's lift epoch this worker last acted on
	id        string        // host:pid:n, as the registry knows it
	beat      context.CancelFunc
	bootsDone chan struct{} // closed when watchBoots returns
	starts    *action
	stops     *action
	stopStats *stopMetrics // nil without Config.Registerer
	stats     *counters
	metrics   *Metrics // nil without Config.Registerer

	stopOnce sync.Once
	stopped  chan struct{} // closed when Shutdown is done
}

// New checks cfg and returns a Worker that has not started yet.
func New(cfg Config) (*Worker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	sp, err := fleet.NewSpace(cfg.Namespace)
	if err != nil {
		return nil, configErr("Namespace", "Namespace: %v", err)
	}
	store, err := fleet.NewStore(cfg.Redis, fleet.StoreConfig{Space: sp, EventsMax: cfg.EventsMax, Retention: cfg.Retention,
		DeadRetention: cfg.DeadRetention, Now: cfg.Now})
	if err != nil {
		return nil, configErr("Redis", "%v", err)
	}
	w := &Worker{
		cfg:     cfg,
		log:     cfg.Logger,
		store:   store,
		sp:      sp,
		pauses:  store.Pauses(cfg.Now),
		workers: store.Workers(cfg.Now),
		aq:      asynq.NewClientFromRedisClient(cfg.Redis),
		id:      fleet.Self() + ":" + strconv.FormatUint(rand.Uint64()%1e6, 10),
		stats:   newCounters(),
	}
	if cfg.Registerer != nil {
		w.metrics = newMetrics(w.pauses.Last)
		if err := cfg.Registerer.Register(w.metrics); err != nil {
			return nil, fmt.Errorf("worker: config: Registerer: %w", err)
		}
	}
	w.starts = w.newStarts()
	if w.stops, err = w.newStops(); err != nil {
		return nil, err
	}
	w.srv = asynq.NewServerFromRedisClient(cfg.Redis, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   map[string]int{sp.StartQueue(): 1, sp.StopQueue(): 1},
		RetryDelayFunc:           w.retryDelay,
		IsFailure:                isFailure,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		TaskCheckInterval:        cfg.PollInterval,
		DelayedTaskCheckInterval: cfg.PollInterval,
		Logger:                   logging.Asynq(cfg.Logger),
		LogLevel:                 asynq.WarnLevel,
	})
	return w, nil
}

// Start starts processing in the background. A worker starting moves the
// dead-letter entries an earlier version kept into the ledger (see
// docs/upgrade.md).
func (w *Worker) Start() error {
	mctx, cancelMigrate := context.WithTimeout(context.Background(), 30*time.Second)
	moved, err := w.store.MigrateLegacyLedger(mctx)
	cancelMigrate()
	if err != nil {
		w.log.Warn("cannot move the dead-letter entries of an earlier version into the ledger; trying again at the next start", zap.Error(err))
	} else if moved > 0 {
		w.log.Info("moved the dead-letter entries of an earlier version into the ledger", zap.Int("n", moved))
	}
	mux := asynq.NewServeMux()
	mux.Handle(tasks.TypeStartPhone, &startHandler{w: w})
	mux.Handle(tasks.TypeStopPhone, &stopHandler{w: w})
	if err := w.srv.Start(mux); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.beat = cancel
	go w.heartbeat(ctx)
	if w.cfg.BootTimeout > 0 {
		w.bootsDone = make(chan struct{})
		go w.watchBoots(ctx)
	}
	w.log.Info("worker started",
		zap.Int("concurrency", w.cfg.Concurrency), zap.Int("batch_size", w.cfg.BatchSize),
		zap.Duration("batch_wait", w.cfg.BatchWait), zap.Int("max_attempts", w.cfg.MaxAttempts),
		zap.String("namespace", w.sp.Name()))
	return nil
}

// Run processes tasks until ctx is done, then shuts down.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), w.cfg.ShutdownTimeout+shutdownMargin)
	defer cancel()
	return w.Shutdown(sctx)
}

// Shutdown stops taking tasks, hands back phones not yet in a call, lets
// the calls in flight finish for up to ShutdownTimeout, and returns. The
// phones of a call that outlasts it stay in the call in their records:
// they are checked with the status endpoint before a second start. It
// returns ctx's error if ctx ends first (the shutdown goes on in the
// background). It is safe to call more than once.
func (w *Worker) Shutdown(ctx context.Context) error {
	w.stopOnce.Do(func() {
		w.stopped = make(chan struct{})
		go func() {
			defer close(w.stopped)
			w.log.Info("worker stopping: no new tasks; finishing calls in flight")
			w.srv.Stop()
			w.starts.batcher.drain()
			w.stops.batcher.drain()
			w.srv.Shutdown()
			if w.beat != nil {
				w.beat()
			}
			if w.bootsDone != nil {
				<-w.bootsDone
			}
			w.log.Info("worker stopped")
		}()
	})
	select {
	case <-w.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("worker: shutdown: %w", ctx.Err())
	}
}

// Stats returns what this worker has done so far.
func (w *Worker) Stats() Stats { return w.stats.snapshot() }

// heartbeat announces the worker in Redis until ctx is done, then removes
// it. At each beat it also runs the reconciler, when no other worker
// holds its lease.
func (w *Worker) heartbeat(ctx context.Context) {
	lease := w.store.Lease("reconcile", w.id)
	for {
		if err := w.workers.Beat(ctx, w.id); err != nil && ctx.Err() == nil {
			w.log.Warn("cannot announce this worker in Redis", zap.Error(err))
		}
		w.reconcileTasks(ctx, lease)
		if clock.Sleep(ctx, fleet.HeartbeatTTL/3) != nil {
			break
		}
	}
	lctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = w.workers.Leave(lctx, w.id)
	_ = lease.Release(lctx)
}

// reconcileTasks runs one round of the reconciler under lease.
func (w *Worker) reconcileTasks(ctx context.Context, lease *fleet.Lease) {
	ok, err := lease.Take(ctx, 2*fleet.HeartbeatTTL)
	if err != nil || !ok {
		return
	}
	st, err := w.store.Reconcile(ctx, 200)
	switch {
	case err != nil && ctx.Err() == nil:
		w.log.Warn("cannot reconcile phones' records with their tasks", zap.Error(err))
	case st.Rewritten > 0:
		w.log.Warn("wrote the missing tasks of phones whose record waited for one (a process died between the two writes)",
			zap.Int("n", st.Rewritten), zap.Int("looked", st.Looked))
	}
}
