package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/adminserver"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redisconn"
	"github.com/phonestart/phonestart/tasks"
	"github.com/phonestart/phonestart/worker"
)

// workerFlags are the worker's settings.
type workerFlags struct {
	concurrency, batchSize, maxAttempts  int
	batchWait, retryBase, retryMax       time.Duration
	maxWait, shutdownTimeout             time.Duration
	deadRetention, bootPoll, bootTimeout time.Duration
	maxRuntime                           time.Duration
	logFormat, adminAddr                 string
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
		"how long a stopping worker lets calls in flight finish; must exceed GEELARK_CALL_TIMEOUT (unset: call timeout + 10s)", positive)
	s.Duration(&f.bootPoll, "boot-poll", "PHONESTART_BOOT_POLL", worker.DefaultBootPoll,
		"the least time from a start call to a booting phone's first check (the fleet learns a later one when its phones boot longer), and the time between checks", positive)
	s.Duration(&f.bootTimeout, "boot-timeout", "PHONESTART_BOOT_TIMEOUT", worker.DefaultBootTimeout,
		"how long a phone may stay Starting before it failed to boot and is started again (0: no boot confirmation)", nonNegative)
	s.Duration(&f.maxRuntime, "max-runtime", "PHONESTART_MAX_RUNTIME", 0,
		"stop every phone started without --stop-after this long after it is ready (0: off)", nonNegative)
	s.Duration(&f.deadRetention, "dead-retention", "PHONESTART_DEAD_RETENTION", 0,
		"drop dead-letter entries older than this (0: keep until requeued or purged)", nonNegative)
	s.String(&f.logFormat, "log-format", "PHONESTART_LOG_FORMAT", "auto", "json, console, or auto (console on a terminal)")
	s.String(&f.adminAddr, "admin-addr", "PHONESTART_ADMIN_ADDR", adminserver.DefaultAddr,
		"host:port of the admin server (/metrics, /healthz, /readyz, /monitoring/); empty or off: none")
}

func (f *workerFlags) check() error {
	if f.retryMax < f.retryBase {
		return bad("PHONESTART_RETRY_MAX (--retry-max) = %v is less than PHONESTART_RETRY_BASE (--retry-base) = %v",
			f.retryMax, f.retryBase)
	}
	if f.adminAddr == "off" {
		f.adminAddr = ""
	}
	if _, _, err := net.SplitHostPort(f.adminAddr); f.adminAddr != "" && err != nil {
		return bad("PHONESTART_ADMIN_ADDR (--admin-addr) = %q: want host:port, or off", f.adminAddr)
	}
	return nil
}

func (f *workerFlags) config() worker.Config {
	cfg := worker.Config{
		BatchSize: f.batchSize, BatchWait: f.batchWait, Concurrency: f.concurrency,
		MaxAttempts: f.maxAttempts, RetryBase: f.retryBase, RetryMax: f.retryMax,
		MaxWait: f.maxWait, ShutdownTimeout: f.shutdownTimeout, DeadRetention: f.deadRetention,
		BootPoll: f.bootPoll, BootTimeout: f.bootTimeout,
		MaxRuntime: f.maxRuntime,
	}
	if f.bootTimeout == 0 {
		cfg.BootTimeout = -1 // confirmation off
	}
	return cfg
}

func runWorker(ctx context.Context, args []string, env Env) error {
	s := newSettings("worker", env)
	var rf redisFlags
	var af apiFlags
	var wf workerFlags
	var lf limitFlags
	var cf callbackFlags
	rf.register(s, redisRecords)
	af.register(s)
	wf.register(s)
	lf.register(s)
	cf.register(s)
	pos, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return bad("unexpected argument %q", pos[0])
	}
	// PHONESTART_ADMIN_ADDR set but empty turns the admin server off.
	if v, ok := env.lookup("PHONESTART_ADMIN_ADDR"); ok && strings.TrimSpace(v) == "" && !s.set["admin-addr"] {
		wf.adminAddr = ""
	}
	if err := wf.check(); err != nil {
		return err
	}
	callbacks, err := cf.config(&af, wf.adminAddr)
	if err != nil {
		return err
	}
	if _, ok := env.lookup("PHONESTART_SHUTDOWN_TIMEOUT"); !ok && !s.set["shutdown-timeout"] {
		wf.shutdownTimeout = 0 // the worker's default: the call timeout + 10s
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
	c, err := rf.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	rdb, sp := c.rdb, c.store.Space()
	redisconn.Watch(rdb, redisconn.WatchConfig{Addr: redisconn.Describe(rf.url), Logger: log})
	cfg := wf.config()
	cfg.Redis, cfg.API, cfg.Logger, cfg.EventsMax = rdb, api, log, rf.eventsMax
	cfg.Namespace, cfg.Retention = sp.Name(), rf.retention
	if cfg.Limiter, err = lf.limiter(rdb, sp, log); err != nil {
		return err
	}
	cfg.Status, cfg.CallTimeout = api, af.callTimeout
	if cfg.StatusLimiter, err = lf.budget(rdb, sp, fleet.EndpointStatus); err != nil {
		return err
	}
	if cfg.StopLimiter, err = lf.budget(rdb, sp, fleet.EndpointStop); err != nil {
		return err
	}
	var reg *prometheus.Registry // nil: no admin server, no metrics
	if wf.adminAddr != "" {
		reg = adminserver.NewRegistry(rdb)
		cfg.Registerer = reg
	}
	w, err := worker.New(cfg)
	if err != nil {
		return workerConfigErr(err)
	}
	log.Info("connecting", zap.String("redis", redisconn.Describe(rf.url)), zap.String("api", api.BaseURL()),
		zap.String("auth", api.AuthMode()))
	var checked atomic.Bool // /readyz: unready until the start-up check passed
	if reg != nil {
		// An address asked for must work; the default may be taken by
		// another worker on the same machine, which is no reason not to run.
		explicit := s.set["admin-addr"] || strings.TrimSpace(env.Getenv("PHONESTART_ADMIN_ADDR")) != ""
		stop, err := startAdmin(adminserver.Config{Addr: wf.adminAddr, Redis: rdb, Namespace: sp.Name(), Gatherer: reg,
			Logger: log.Named("admin"), Callbacks: callbacks, Checked: checked.Load}, explicit)
		if err != nil {
			return err
		}
		defer stop()
	}
	if ok, err := checkAPI(ctx, api, c.store, &lf, log); !ok {
		return err // nil: stopped during the check
	}
	checked.Store(true)
	return w.Run(ctx)
}

// startAdmin starts the admin server and returns what stops it. A default
// address that can't be listened on is logged and skipped.
func startAdmin(cfg adminserver.Config, explicit bool) (stop func(), err error) {
	log := cfg.Logger
	admin, err := adminserver.New(cfg)
	if err != nil {
		return nil, err
	}
	stop = func() {
		// Called after the worker stopped: its last calls show in /metrics
		// until then.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := admin.Shutdown(ctx); err != nil {
			log.Warn("admin server shutdown", zap.Error(err))
		}
	}
	if err := admin.Start(); err != nil {
		stop()
		if explicit {
			return nil, fmt.Errorf("%v (PHONESTART_ADMIN_ADDR / --admin-addr; off turns the admin server off)", err)
		}
		log.Warn("admin server not started: this worker runs without /metrics, /readyz and /monitoring/; "+
			"set PHONESTART_ADMIN_ADDR to a free host:port, or off", zap.Error(err))
		return func() {}, nil
	}
	base := "http://" + admin.Addr()
	log.Info("admin server listening", zap.String("metrics", base+"/metrics"), zap.String("readyz", base+"/readyz"),
		zap.String("monitoring", base+adminserver.MonitoringPath+"/"))
	return stop, nil
}

// workerVars names the variable that sets each worker.Config field.
var workerVars = map[string]string{
	"BatchSize": "PHONESTART_BATCH_SIZE", "BatchWait": "PHONESTART_BATCH_WAIT",
	"Concurrency": "PHONESTART_CONCURRENCY", "MaxAttempts": "PHONESTART_MAX_ATTEMPTS",
	"RetryBase": "PHONESTART_RETRY_BASE", "RetryMax": "PHONESTART_RETRY_MAX", "MaxWait": "PHONESTART_MAX_WAIT",
	"ShutdownTimeout": "PHONESTART_SHUTDOWN_TIMEOUT", "CallTimeout": "GEELARK_CALL_TIMEOUT",
	"Namespace": "PHONESTART_NAMESPACE", "Retention": "PHONESTART_RETENTION",
	"DeadRetention": "PHONESTART_DEAD_RETENTION", "BootPoll": "PHONESTART_BOOT_POLL",
	"MaxRuntime": "PHONESTART_MAX_RUNTIME",
}

// workerConfigErr is a refused worker configuration, naming the variable.
func workerConfigErr(err error) error {
	var ce *worker.ConfigError
	if errors.As(err, &ce) && workerVars[ce.Field] != "" {
		return bad("%s: %v", workerVars[ce.Field], err)
	}
	return bad("%v", err)
}
