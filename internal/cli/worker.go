package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/tasks"
	"github.com/phonestart/phonestart/worker"
	"go.uber.org/zap"
)

// workerFlags are the worker's settings.
type workerFlags struct {
	concurrency, batchSize, maxAttempts int
	batchWait, retryBase, retryMax      time.Duration
	maxWait, shutdownTimeout            time.Duration
	logFormat                           string
}

func (f *workerFlags) register(s *settings) {
	s.Int(&f.batchSize, "batch-size", "PHONESTART_BATCH_SIZE", worker.DefaultBatchSize,
		"most phone IDs per API call", between(1, geelark.MaxStartIDs))
	s.Int(&f.concurrency, "concurrency", "PHONESTART_CONCURRENCY", 0,
		"phones one worker holds at once (default 2 x batch size)", between(0, 100000))
	s.Duration(&f.batchWait, "batch-wait", "PHONESTART_BATCH_WAIT", worker.DefaultBatchWait,
		"longest a phone waits for its batch to fill", positive)
	s.Int(&f.maxAttempts, "max-attempts", "PHONESTART_MAX_ATTEMPTS", worker.DefaultMaxAttempts,
		"failed calls before a phone is dead-lettered", between(1, tasks.MaxRetry))
	s.Duration(&f.retryBase, "retry-base", "PHONESTART_RETRY_BASE", worker.DefaultRetryBase,
		"shortest retry backoff", positive)
	s.Duration(&f.retryMax, "retry-max", "PHONESTART_RETRY_MAX", worker.DefaultRetryMax,
		"longest retry backoff", positive)
	s.Duration(&f.maxWait, "max-wait", "PHONESTART_MAX_WAIT", worker.DefaultMaxWait,
		"how long phones wait out an account-wide error before being dead-lettered", positive)
	s.Duration(&f.shutdownTimeout, "shutdown-timeout", "PHONESTART_SHUTDOWN_TIMEOUT", worker.DefaultShutdownTimeout,
		"how long a stopping worker lets calls in flight finish", positive)
	s.String(&f.logFormat, "log-format", "PHONESTART_LOG_FORMAT", "auto", "json, console, or auto (console on a terminal)")
}

func (f *workerFlags) check() error {
	if f.retryMax < f.retryBase {
		return bad("PHONESTART_RETRY_MAX (--retry-max) = %v is less than PHONESTART_RETRY_BASE (--retry-base) = %v",
			f.retryMax, f.retryBase)
	}
	return nil
}

func (f *workerFlags) config() worker.Config {
	return worker.Config{
		BatchSize: f.batchSize, BatchWait: f.batchWait, Concurrency: f.concurrency,
		MaxAttempts: f.maxAttempts, RetryBase: f.retryBase, RetryMax: f.retryMax,
		MaxWait: f.maxWait, ShutdownTimeout: f.shutdownTimeout,
	}
}

func runWorker(ctx context.Context, args []string, env Env) error {
	s := newSettings("worker", env)
	var rf redisFlags
	var af apiFlags
	var wf workerFlags
	var lf limitFlags
	rf.register(s)
	af.register(s)
	wf.register(s)
	lf.register(s)
	pos, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return bad("unexpected argument %q", pos[0])
	}
	if err := wf.check(); err != nil {
		return err
	}
	log, err := newLogger(env.Stderr, wf.logFormat)
	if err != nil {
		return err
	}
	defer log.Sync()
	api, err := af.client()
	if err != nil {
		return err
	}
	rdb, err := rf.client()
	if err != nil {
		return err
	}
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cannot reach Redis at %s: %v", rdb.Options().Addr, err)
	}
	cfg := wf.config()
	cfg.Redis, cfg.API, cfg.Logger = rdb, api, log
	if cfg.Limiter, err = lf.limiter(rdb, log); err != nil {
		return err
	}
	w, err := worker.New(cfg)
	if err != nil {
		return bad("%v", err)
	}
	log.Info("connecting", zap.String("redis", rdb.Options().Addr), zap.String("api", api.BaseURL()),
		zap.String("auth", api.AuthMode()))
	return w.Run(ctx)
}
