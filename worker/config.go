package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redisconn"
	"github.com/phonestart/phonestart/tasks"
)

// Defaults of Config.
const (
	DefaultBatchSize       = geelark.MaxStartIDs
	DefaultBatchWait       = 500 * time.Millisecond
	DefaultMaxAttempts     = 10
	DefaultRetryBase       = 10 * time.Second
	DefaultRetryMax        = 10 * time.Minute
	DefaultMaxWait         = 24 * time.Hour
	DefaultBootPoll        = 10 * time.Second
	DefaultBootTimeout     = 5 * time.Minute
	DefaultShutdownTimeout = geelark.DefaultCallTimeout + shutdownMargin
	shutdownMargin         = 10 * time.Second
	// AccountProbeInterval is how long calls pause after an account-wide
	// code before one call probes whether a person fixed it.
	AccountProbeInterval = time.Minute
)

// Starter starts phones; *geelark.Client is one.
type Starter interface {
	StartPhones(ctx context.Context, ids []string, opts geelark.StartOptions) (*geelark.StartResult, error)
}

// Stopper stops phones; *geelark.Client is one.
type Stopper interface {
	StopPhones(ctx context.Context, ids []string) (*geelark.StopResult, error)
}

// StatusChecker reports phones' power states; *geelark.Client is one.
type StatusChecker interface {
	StatusPhones(ctx context.Context, ids []string) (*geelark.StatusResult, error)
}

// Limiter meters API calls. Wait blocks until one call may be made, or ctx
// is done.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Config configures a Worker.
type Config struct {
	// Redis is where records, tasks, pauses and budgets live. Required; a
	// Redis Cluster client is refused. The Worker does not close it.
	Redis redis.UniversalClient
	// Namespace is the deployment's namespace (PHONESTART_NAMESPACE): it
	// prefixes every key and names the asynq queues. Default "phonestart".
	Namespace string
	// Retention is how long an ended phone's record, and an ended request,
	// are kept. Default 7 days.
	Retention time.Duration
	// API starts phones. Required.
	API Starter
	// Logger receives one line per API call and every pause. Default: none.
	Logger *zap.Logger
	// Limiter meters start calls; nil calls as fast as batches form.
	Limiter Limiter
	// Status checks phones whose last start call went unanswered before
	// they are started again. Nil starts them again without a check, and
	// such a phone may be started twice. *geelark.Client is one.
	Status StatusChecker
	// StatusLimiter meters status calls (GeeLark meters each endpoint on
	// its own); nil calls unmetered.
	StatusLimiter Limiter
	// Stop stops phones (stop tasks, tasks.StopQueue). Default: API, when
	// it is a Stopper too (*geelark.Client is); without one, stop tasks
	// wait unprocessed.
	Stop Stopper
	// StopLimiter meters stop calls; nil calls unmetered.
	StopLimiter Limiter
	// MaxRuntime, when positive, stops every phone this worker started
	// without a stop-after of its own that long after it became ready (or
	// after its start was accepted, with boot confirmation off). Default 0:
	// off.
	MaxRuntime time.Duration
	// BootPoll is the least time from a start call to a booting phone's
	// first check with the status endpoint, and the time between checks.
	// The workers learn a later first check, kept in Redis, when the
	// fleet's phones boot for longer (fleet.Checks), up to half of
	// BootTimeout. Default 10s.
	BootPoll time.Duration
	// BootTimeout is how long a phone may stay Starting after GeeLark
	// accepted its start; after it, or once GeeLark reports it shut down
	// or expired, the phone failed to boot and is started again as a new
	// attempt. Default 5m; negative turns boot confirmation off: a phone is
	// done when its start is accepted. Confirmation needs Status: without
	// it, it is off.
	BootTimeout time.Duration
	// EventsMax caps the events stream, about. Default
	// fleet.DefaultEventsMax.
	EventsMax int
	// DeadRetention, when positive, drops dead-letter entries older than
	// it. Default 0: kept until requeued or purged.
	DeadRetention time.Duration
	// Registerer, when set, receives the worker's Metrics; New fails if
	// they are registered there already. Default: no metrics.
	Registerer prometheus.Registerer

	// BatchSize is the most IDs per call, 1..200. Default 200.
	BatchSize int
	// BatchWait is how long the oldest phone of a partial batch waits for
	// more before the call is made anyway. Default 500ms.
	BatchWait time.Duration
	// Concurrency is how many phones one worker holds at once. Default
	// 2 x BatchSize, so one batch fills while another is in flight.
	Concurrency int
	// MaxAttempts is how many calls may fail for a phone before it is
	// dead-lettered with its last code. Waits for the API budget or for an
	// account-wide problem do not count. Default 10.
	MaxAttempts int
	// RetryBase and RetryMax bound the exponential, fully jittered backoff
	// between attempts. Defaults 10s and 10m.
	RetryBase time.Duration
	RetryMax  time.Duration
	// MaxWait is how long phones wait out an account-wide error (bad
	// credentials, balance, plan, whitelist) before they are dead-lettered
	// with its code. Default 24h.
	MaxWait time.Duration
	// ShutdownTimeout is how long a stopping worker lets the calls in
	// flight finish; phones not yet in a call are handed back at once. It
	// must exceed CallTimeout. The phones of a call cut at shutdown are
	// checked with the status endpoint before a second start. Default
	// CallTimeout + 10s.
	ShutdownTimeout time.Duration
	// CallTimeout is the API client's timeout for one call. It sets how
	// long before asynq's deadline a phone not yet in a call is handed back
	// (twice it), and ShutdownTimeout must exceed it. Default
	// geelark.DefaultCallTimeout.
	CallTimeout time.Duration
	// PollInterval is how often an idle worker looks for new tasks, and
	// how often scheduled and retrying tasks are promoted. Default 1s.
	PollInterval time.Duration
	// Now is the clock of pauses and retry times. Default: fleet time,
	// Redis's clock (see fleet.Clock).
	Now func() time.Time
}

func (c Config) withDefaults() (Config, error) {
	if c.Redis == nil {
		return c, configErr("Redis", "Redis is required")
	}
	if err := redisconn.RefuseCluster(c.Redis); err != nil {
		return c, configErr("Redis", "Redis: %v", err)
	}
	if c.API == nil {
		return c, configErr("API", "API is required")
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Now == nil {
		c.Now = fleet.NewClock(c.Redis, nil).Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	def(&c.BatchWait, DefaultBatchWait)
	if c.Concurrency == 0 {
		c.Concurrency = 2 * c.BatchSize
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	def(&c.RetryBase, DefaultRetryBase)
	def(&c.RetryMax, DefaultRetryMax)
	def(&c.MaxWait, DefaultMaxWait)
	def(&c.CallTimeout, geelark.DefaultCallTimeout)
	def(&c.BootPoll, DefaultBootPoll)
	def(&c.BootTimeout, DefaultBootTimeout)
	if c.Status == nil {
		c.BootTimeout = -1 // nothing to confirm boots with
	}
	def(&c.ShutdownTimeout, c.CallTimeout+shutdownMargin)
	def(&c.PollInterval, time.Second)
	if c.Stop == nil {
		c.Stop, _ = c.API.(Stopper)
	}

	switch {
	case c.BatchSize < 1 || c.BatchSize > geelark.MaxStartIDs:
		return c, configErr("BatchSize", "BatchSize %d is outside 1..%d", c.BatchSize, geelark.MaxStartIDs)
	case c.BatchWait < 0:
		return c, configErr("BatchWait", "BatchWait %v is negative", c.BatchWait)
	case c.Concurrency < 1:
		return c, configErr("Concurrency", "Concurrency %d is less than 1", c.Concurrency)
	case c.MaxAttempts < 1 || c.MaxAttempts > tasks.MaxRetry:
		return c, configErr("MaxAttempts", "MaxAttempts %d is outside 1..%d", c.MaxAttempts, tasks.MaxRetry)
	case c.RetryBase <= 0:
		return c, configErr("RetryBase", "RetryBase %v is not positive", c.RetryBase)
	case c.RetryMax < c.RetryBase:
		return c, configErr("RetryMax", "RetryMax %v is less than RetryBase %v", c.RetryMax, c.RetryBase)
	case c.MaxWait <= 0:
		return c, configErr("MaxWait", "MaxWait %v is not positive", c.MaxWait)
	case c.ShutdownTimeout <= 0:
		return c, configErr("ShutdownTimeout", "ShutdownTimeout %v is not positive", c.ShutdownTimeout)
	case c.CallTimeout <= 0:
		return c, configErr("CallTimeout", "CallTimeout %v is not positive", c.CallTimeout)
	case c.ShutdownTimeout <= c.CallTimeout:
		return c, configErr("ShutdownTimeout", "ShutdownTimeout %v does not exceed CallTimeout %v: "+
			"a stopping worker would cut calls that may still answer", c.ShutdownTimeout, c.CallTimeout)
	case 2*c.CallTimeout+c.BatchWait >= tasks.Timeout:
		return c, configErr("CallTimeout", "CallTimeout %v is too long: a phone is handed back 2 x CallTimeout (%v) "+
			"before its task's deadline of %v, which leaves no time to batch and call", c.CallTimeout, 2*c.CallTimeout, tasks.Timeout)
	case c.BootPoll <= 0:
		return c, configErr("BootPoll", "BootPoll %v is not positive", c.BootPoll)
	case c.DeadRetention < 0:
		return c, configErr("DeadRetention", "DeadRetention %v is negative", c.DeadRetention)
	case c.Retention < 0:
		return c, configErr("Retention", "Retention %v is negative", c.Retention)
	case c.MaxRuntime < 0:
		return c, configErr("MaxRuntime", "MaxRuntime %v is negative", c.MaxRuntime)
	case c.PollInterval <= 0:
		return c, configErr("PollInterval", "PollInterval %v is not positive", c.PollInterval)
	}
	return c, nil
}

// ConfigError is a Config that New refuses; Field names the Config field.
type ConfigError struct {
	Field string
	Msg   string
}

func (e *ConfigError) Error() string { return "worker: config: " + e.Msg }

func configErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
