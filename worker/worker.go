// Package worker runs phonestart's workers: asynq servers that take
// start-phone tasks from Redis, pack their phones into as few GeeLark calls
// as the limits allow, and settle each phone: started (its url and charging
// method written as the task's result), retried with backoff, or
// dead-lettered with its code in asynq's archive.
//
// A Worker keeps no state of its own beyond the batch it is forming: every
// task, pause and budget lives in Redis, so a fleet scales by running more
// workers against the same Redis.
package worker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/logging"
	"github.com/phonestart/phonestart/tasks"
)

// Worker processes start-phone tasks until shut down.
type Worker struct {
	cfg       Config
	log       *zap.Logger
	srv       *asynq.Server
	pauses    *fleet.Pauses
	sent      *fleet.Sent
	ledger    *fleet.Ledger
	workers   *fleet.Workers
	journal   *fleet.Journal
	boots     *fleet.Boots
	aq        *asynq.Client    // starts a phone again after a failed boot
	insp      *asynq.Inspector // ... replacing its completed task
	local     local            // this worker's own pause
	id        string           // host:pid:n, as the registry knows it
	beat      context.CancelFunc
	bootsDone chan struct{} // closed when watchBoots returns
	batcher   *batcher
	stops     *batcher // stop tasks, within the stop endpoint's budget
	stopping  *fleet.Stopping
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
	w := &Worker{
		cfg:     cfg,
		log:     cfg.Logger,
		pauses:  fleet.NewPauses(cfg.Redis, cfg.Now),
		sent:    fleet.NewSent(cfg.Redis),
		ledger:  fleet.NewLedger(cfg.Redis, cfg.DeadRetention),
		workers: fleet.NewWorkers(cfg.Redis, cfg.Now),
		journal: fleet.NewJournal(cfg.Redis, cfg.EventsMax),
		boots:   fleet.NewBoots(cfg.Redis),
		aq:      asynq.NewClientFromRedisClient(cfg.Redis),
		insp:    asynq.NewInspectorFromRedisClient(cfg.Redis),
		id:      fleet.Self() + ":" + strconv.FormatUint(rand.Uint64()%1e6, 10),
		stats:   newCounters(),
	}
	if cfg.Registerer != nil {
		w.metrics = newMetrics(w.pauses.Last)
		if err := cfg.Registerer.Register(w.metrics); err != nil {
			return nil, fmt.Errorf("worker: config: Registerer: %w", err)
		}
	}
	w.batcher = newBatcher(cfg.BatchSize, cfg.BatchWait, time.Now, w.admit, w.send)
	if err := w.newStops(); err != nil {
		return nil, err
	}
	w.srv = asynq.NewServerFromRedisClient(cfg.Redis, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   map[string]int{tasks.Queue: 1, tasks.StopQueue: 1},
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

// Start starts processing in the background.
func (w *Worker) Start() error {
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
		zap.Duration("batch_wait", w.cfg.BatchWait), zap.Int("max_attempts", w.cfg.MaxAttempts))
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
// phones of a call that outlasts it go back to the queue, marked as sent:
// they are checked before a second start. It returns ctx's error if ctx
// ends first (the shutdown goes on in the background). It is safe to call
// more than once.
func (w *Worker) Shutdown(ctx context.Context) error {
	w.stopOnce.Do(func() {
		w.stopped = make(chan struct{})
		go func() {
			defer close(w.stopped)
			w.log.Info("worker stopping: no new tasks; finishing calls in flight")
			w.srv.Stop()
			w.batcher.drain()
			w.stops.drain()
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
