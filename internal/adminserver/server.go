// Package adminserver is a worker's admin HTTP server: Prometheus metrics,
// liveness and readiness probes, and the asynqmon web UI, for the people and
// systems watching a fleet. It serves no phone starts, and none of its
// answers carries a credential.
package adminserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hibiken/asynqmon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/internal/fleet"
)

// Defaults of Config.
const (
	DefaultAddr         = "127.0.0.1:9090"
	DefaultReadyTimeout = time.Second
	// MonitoringPath is where the asynqmon UI is served.
	MonitoringPath = "/monitoring"
)

// Config configures a Server.
type Config struct {
	// Addr is the host:port to listen on; port 0 picks a free one.
	// Default DefaultAddr.
	Addr string
	// Redis is the fleet's Redis. /readyz pings it and reads the pause
	// there; /monitoring/ opens connections of its own with the same
	// options. Required. The Server does not close it.
	Redis *redis.Client
	// Namespace is the deployment's namespace. Default "phonestart".
	Namespace string
	// Gatherer is what /metrics serves. Default: NewRegistry(Redis), which
	// holds no worker metrics.
	Gatherer prometheus.Gatherer
	// ReadyTimeout bounds /readyz's look at Redis. Default 1s.
	ReadyTimeout time.Duration
	// Logger receives the server's errors. Default: none.
	Logger *zap.Logger
	// Now is the clock /readyz compares the pause with, and callbacks'
	// timestamps. Default time.Now.
	Now func() time.Time
	// Callbacks, when set, serves POST /geelark/callback: GeeLark's signed
	// events, a start event confirming or failing a booting phone
	// (fleet.Store.Verdict). Default nil: no such endpoint (404).
	Callbacks *Callbacks
	// Registerer is where the server registers its own metrics (the
	// callback counter). Default: Gatherer when it is a
	// *prometheus.Registry, else none.
	Registerer prometheus.Registerer
	// Checked, when set, reports whether the worker's start-up check of
	// GeeLark has passed; until it does, /readyz answers 503. It is
	// called from the server's goroutines. Default nil: no check to wait
	// for.
	Checked func() bool
}

// Server is the admin HTTP server. Start it once and shut it down once; it
// serves requests concurrently.
type Server struct {
	cfg   Config
	store *fleet.Store
	cbm   *callbackMetrics
	mon   *asynqmon.HTTPHandler
	srv   *http.Server
	addr  net.Addr
}

// New checks cfg and returns a Server that is not listening yet.
func New(cfg Config) (*Server, error) {
	if cfg.Redis == nil {
		return nil, errors.New("adminserver: config: Redis is required")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Gatherer == nil {
		cfg.Gatherer = NewRegistry(cfg.Redis)
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Registerer == nil {
		cfg.Registerer, _ = cfg.Gatherer.(*prometheus.Registry)
	}
	if cb := cfg.Callbacks; cb != nil && (cb.AppID == "" || cb.APIKey == "") {
		return nil, errors.New("adminserver: config: Callbacks needs the AppID and APIKey GeeLark signs callbacks with")
	}
	sp, err := fleet.NewSpace(cfg.Namespace)
	if err != nil {
		return nil, fmt.Errorf("adminserver: config: Namespace: %w", err)
	}
	store, err := fleet.NewStore(cfg.Redis, fleet.StoreConfig{Space: sp})
	if err != nil {
		return nil, fmt.Errorf("adminserver: config: %w", err)
	}
	s := &Server{cfg: cfg, store: store}
	if cfg.Callbacks != nil {
		m, err := newCallbackMetrics(cfg.Registerer)
		if err != nil {
			return nil, fmt.Errorf("adminserver: callback metrics: %w", err)
		}
		s.cbm = m
	}
	s.mon = newMonitoring(cfg.Redis)
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          zap.NewStdLog(cfg.Logger.Named("http")),
	}
	return s, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{
		ErrorLog: zap.NewStdLog(s.cfg.Logger.Named("metrics")), ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.cfg.Callbacks != nil {
		mux.HandleFunc("POST "+CallbackPath, s.callback)
	}
	// asynqmon changes tasks with bodyless POSTs: refuse those that another
	// site's page makes the operator's browser send.
	mux.Handle(MonitoringPath+"/", http.NewCrossOriginProtection().Handler(s.mon))
	mux.Handle("GET "+MonitoringPath, http.RedirectHandler(MonitoringPath+"/", http.StatusMovedPermanently))
	mux.HandleFunc("GET /{$}", index)
	return mux
}

// Start listens on Config.Addr and serves in the background. It fails when
// the address can't be listened on. An address beyond the loopback
// interface is logged as a warning: nothing on the server asks for a
// password.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("admin server: %w", err)
	}
	s.addr = ln.Addr()
	if tcp, ok := s.addr.(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		s.cfg.Logger.Warn(fmt.Sprintf("the admin server listens on %s, reachable from other machines: it asks for no password, "+
			"and its web UI (%s/) can run, requeue, archive and delete tasks; set PHONESTART_ADMIN_ADDR to 127.0.0.1:PORT "+
			"(the default) unless a firewall or an authenticating proxy guards the port", s.addr, MonitoringPath),
			zap.String("addr", s.addr.String()))
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Error("admin server stopped", zap.Error(err))
		}
	}()
	return nil
}

// Addr is the address the server listens on, once started.
func (s *Server) Addr() string {
	if s.addr == nil {
		return ""
	}
	return s.addr.String()
}

// Shutdown stops listening, waits for requests in progress (up to ctx), and
// closes asynqmon's Redis connections.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	return errors.Join(err, s.mon.Close())
}

func index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "phonestart worker admin\n\n"+
		"/metrics      Prometheus metrics\n"+
		"/healthz      200 while the process is up\n"+
		"/readyz       200 when the start-up check of GeeLark passed, Redis answers and no account-wide error pauses the fleet, else 503 and why\n"+
		MonitoringPath+"/  asynqmon: queues, tasks, dead-lettered phones\n"+
		CallbackPath+"  GeeLark's callbacks (POST, signed; served when PHONESTART_CALLBACK=on)\n")
}
