package api

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/internal/fleet"
)

// Defaults of Config.
const (
	DefaultAddr           = "127.0.0.1:8080"
	DefaultRate           = 20
	DefaultBurst          = 40
	DefaultMaxWait        = 5 * time.Minute
	DefaultHeartbeat      = 15 * time.Second
	DefaultTokensPoll     = 2 * time.Second
	DefaultIdempotencyTTL = 24 * time.Hour
	// DefaultIdempotencyLease is how long an Idempotency-Key is held for a
	// POST still being carried out: a process that dies meanwhile frees
	// it after this long.
	DefaultIdempotencyLease = 5 * time.Minute
	DefaultShutdownTimeout  = 10 * time.Second
	// MinWebhookSecret is the shortest webhook secret accepted, in bytes.
	MinWebhookSecret = 16
)

// Input limits, the same as the command line's.
const (
	// MaxIDs is the most phone IDs one request may carry; more is 413.
	MaxIDs = 10_000
	// MaxBody is the largest request body, in bytes; more is 413.
	MaxBody = 1 << 20
)

// Config configures a Server. The comment of each field names the
// environment variable `phonestart api` sets it from.
type Config struct {
	// Redis is the fleet's Redis. Required; the Server does not close it.
	// Each SSE stream and ?wait= holds no connection of its own: the
	// server reads the events stream once for all of them.
	Redis redis.UniversalClient
	// Namespace is the deployment's namespace (PHONESTART_NAMESPACE).
	// Default "phonestart".
	Namespace string
	// Addr is the host:port Run listens on (PHONESTART_API_ADDR); port 0
	// picks a free one. Default DefaultAddr, loopback only: put a TLS
	// proxy in front, or set TLSCert and TLSKey, to serve other hosts.
	Addr string
	// TokensFile is the file of the tokens' names, scopes and SHA-256
	// hashes (PHONESTART_API_TOKENS_FILE). Required; it may be empty. A
	// change to it is picked up within TokensPoll, without a restart.
	TokensFile string
	// TLSCert and TLSKey are PEM files (PHONESTART_API_TLS_CERT,
	// PHONESTART_API_TLS_KEY): set both to serve HTTPS, or neither.
	TLSCert, TLSKey string
	// WebhookSecret signs the webhooks (PHONESTART_WEBHOOK_SECRET), at
	// least MinWebhookSecret bytes. Default "": this server delivers no
	// webhooks, and refuses requests with a notify_url.
	WebhookSecret string
	// Logger receives one line per request (never a token) and the
	// webhooks' failures. Default: none.
	Logger *zap.Logger
	// Now is the clock of the request budgets, the webhooks' timestamps
	// and the check that "at" is not past. Default time.Now.
	Now func() time.Time
	// Rate and Burst are each token's request budget: Rate requests a
	// second on average, Burst at once (PHONESTART_API_RATE,
	// PHONESTART_API_BURST). Per process. Defaults 20 and 40.
	Rate  float64
	Burst int
	// MaxWait caps GET /v1/requests/{request}?wait=. Default 5m.
	MaxWait time.Duration
	// Heartbeat is how often an idle SSE stream gets a comment line, so
	// that proxies keep it open. Default 15s.
	Heartbeat time.Duration
	// TokensPoll is how often the tokens file is looked at for a change,
	// at most. Default 2s.
	TokensPoll time.Duration
	// IdempotencyTTL is how long a POST's answer is kept for its
	// Idempotency-Key. Default 24h.
	IdempotencyTTL time.Duration
	// EventsMax caps the events stream the enqueues append to, about
	// (PHONESTART_EVENTS_MAX). Default fleet.DefaultEventsMax.
	EventsMax int
	// MinReplicas is enqueue.Config.MinReplicas
	// (PHONESTART_REDIS_MIN_REPLICAS). Default 0.
	MinReplicas int
	// Retention is how long ended records and requests are kept
	// (PHONESTART_RETENTION). Default 7 days.
	Retention time.Duration
	// ShutdownTimeout bounds how long Run waits for requests in flight
	// and webhook deliveries once its context ends. Default 10s.
	ShutdownTimeout time.Duration
	// Webhook configures the delivery of webhooks.
	Webhook WebhookConfig
}

// WebhookConfig configures the relay and delivery of webhooks.
type WebhookConfig struct {
	// Attempts is how many times a webhook is tried before it is
	// archived in asynq (and logged). Default 10.
	Attempts int
	// RetryDelay is the wait before attempt n+1 after n failed (n from
	// 1). Default DefaultWebhookDelay: 10s doubling, at most an hour.
	RetryDelay func(n int) time.Duration
	// Timeout bounds one delivery, the receiver's answer included.
	// Default 10s.
	Timeout time.Duration
	// Concurrency is how many deliveries one process makes at once.
	// Default 10.
	Concurrency int
	// CheckInterval is how often asynq looks for webhooks whose retry
	// came due. Default 5s.
	CheckInterval time.Duration
	// Transport sends the webhooks. Default: http.DefaultTransport's
	// settings. Redirects are never followed.
	Transport http.RoundTripper
}

// ConfigError is the error of New: Field names the Config field, and Env
// the environment variable that sets it ("" when none does).
type ConfigError struct {
	Field, Env string
	Err        error
}

func (e *ConfigError) Error() string {
	name := e.Field
	if e.Env != "" {
		name = e.Env + " (" + e.Field + ")"
	}
	return "api: config: " + name + ": " + e.Err.Error()
}

func (e *ConfigError) Unwrap() error { return e.Err }

func cfgErr(field, env, format string, args ...any) error {
	return &ConfigError{Field: field, Env: env, Err: fmt.Errorf(format, args...)}
}

// check validates cfg and fills in its defaults.
func (cfg *Config) check() (fleet.Space, error) {
	if cfg.Redis == nil {
		return fleet.Space{}, &ConfigError{Field: "Redis", Err: errors.New("required")}
	}
	sp, err := fleet.NewSpace(cfg.Namespace)
	if err != nil {
		return sp, &ConfigError{Field: "Namespace", Env: "PHONESTART_NAMESPACE", Err: err}
	}
	cfg.Addr = cmp.Or(cfg.Addr, DefaultAddr)
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return sp, cfgErr("Addr", "PHONESTART_API_ADDR", "%q is not host:port", cfg.Addr)
	}
	if cfg.TokensFile == "" {
		return sp, cfgErr("TokensFile", "PHONESTART_API_TOKENS_FILE",
			"required: the file of the API's tokens (create it with `phonestart api token new`)")
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		if cfg.TLSCert == "" {
			return sp, cfgErr("TLSCert", "PHONESTART_API_TLS_CERT", "set with PHONESTART_API_TLS_KEY: give both or neither")
		}
		return sp, cfgErr("TLSKey", "PHONESTART_API_TLS_KEY", "set with PHONESTART_API_TLS_CERT: give both or neither")
	}
	for _, f := range []struct{ field, env, path string }{
		{"TLSCert", "PHONESTART_API_TLS_CERT", cfg.TLSCert}, {"TLSKey", "PHONESTART_API_TLS_KEY", cfg.TLSKey},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return sp, &ConfigError{Field: f.field, Env: f.env, Err: err}
		}
	}
	if s := cfg.WebhookSecret; s != "" && len(s) < MinWebhookSecret {
		return sp, cfgErr("WebhookSecret", "PHONESTART_WEBHOOK_SECRET", "%d bytes: want at least %d", len(s), MinWebhookSecret)
	}
	switch {
	case cfg.Rate < 0:
		return sp, cfgErr("Rate", "PHONESTART_API_RATE", "%v is negative", cfg.Rate)
	case cfg.Burst < 0:
		return sp, cfgErr("Burst", "PHONESTART_API_BURST", "%d is negative", cfg.Burst)
	case cfg.MaxWait < 0, cfg.Heartbeat < 0, cfg.TokensPoll < 0, cfg.IdempotencyTTL < 0, cfg.ShutdownTimeout < 0:
		return sp, &ConfigError{Field: "MaxWait, Heartbeat, TokensPoll, IdempotencyTTL or ShutdownTimeout",
			Err: errors.New("negative")}
	case cfg.EventsMax < 0:
		return sp, cfgErr("EventsMax", "PHONESTART_EVENTS_MAX", "%d is negative", cfg.EventsMax)
	case cfg.MinReplicas < 0:
		return sp, cfgErr("MinReplicas", "PHONESTART_REDIS_MIN_REPLICAS", "%d is negative", cfg.MinReplicas)
	}
	cfg.Rate = cmp.Or(cfg.Rate, DefaultRate)
	cfg.Burst = cmp.Or(cfg.Burst, DefaultBurst)
	cfg.MaxWait = cmp.Or(cfg.MaxWait, DefaultMaxWait)
	cfg.Heartbeat = cmp.Or(cfg.Heartbeat, DefaultHeartbeat)
	cfg.TokensPoll = cmp.Or(cfg.TokensPoll, DefaultTokensPoll)
	cfg.IdempotencyTTL = cmp.Or(cfg.IdempotencyTTL, DefaultIdempotencyTTL)
	cfg.ShutdownTimeout = cmp.Or(cfg.ShutdownTimeout, DefaultShutdownTimeout)
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return sp, cfg.Webhook.check()
}

func (w *WebhookConfig) check() error {
	switch {
	case w.Attempts < 0:
		return cfgErr("Webhook.Attempts", "", "%d is negative", w.Attempts)
	case w.Timeout < 0, w.CheckInterval < 0:
		return cfgErr("Webhook.Timeout or Webhook.CheckInterval", "", "negative")
	case w.Concurrency < 0:
		return cfgErr("Webhook.Concurrency", "", "%d is negative", w.Concurrency)
	}
	w.Attempts = cmp.Or(w.Attempts, 10)
	if w.RetryDelay == nil {
		w.RetryDelay = DefaultWebhookDelay
	}
	w.Timeout = cmp.Or(w.Timeout, 10*time.Second)
	w.Concurrency = cmp.Or(w.Concurrency, 10)
	w.CheckInterval = cmp.Or(w.CheckInterval, 5*time.Second)
	return nil
}

// DefaultWebhookDelay waits 10s before the second attempt of a webhook,
// doubling each time up to an hour: 10 attempts span about 1h25m.
func DefaultWebhookDelay(n int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}
