package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Run serves the API on Config.Addr (HTTPS with TLSCert and TLSKey), and
// the webhooks when the server has a WebhookSecret, until ctx ends; then it
// stops taking requests, lets those in flight finish (streams end at once)
// for up to ShutdownTimeout, closes the server and returns nil. An address
// it cannot listen on is an error.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return &ConfigError{Field: "Addr", Env: "PHONESTART_API_ADDR", Err: err}
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener of the caller's; it closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	defer s.Close()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No ReadTimeout or WriteTimeout: they would cut SSE streams and
		// ?wait= answers; readBody bounds the reading of a body.
		ErrorLog: zap.NewStdLog(s.log.Named("http")),
		BaseContext: func(net.Listener) context.Context {
			return context.WithoutCancel(ctx)
		},
	}
	var wg sync.WaitGroup
	wctx, stopWebhooks := context.WithCancel(ctx)
	defer stopWebhooks()
	if s.cfg.WebhookSecret != "" {
		wg.Go(func() {
			if err := s.RunWebhooks(wctx); err != nil {
				s.log.Error("webhooks stopped", zap.Error(err))
			}
		})
	} else {
		s.log.Warn("no PHONESTART_WEBHOOK_SECRET: this process delivers no webhooks, and refuses notify_url")
	}
	scheme := "http"
	if s.cfg.TLSCert != "" {
		scheme = "https"
	}
	s.log.Info("serving the API", zap.String("url", scheme+"://"+ln.Addr().String()+"/v1/"))
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		// Streams and waits end with the tail; the rest may finish.
		s.tail.close()
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		if serr := srv.Shutdown(sctx); serr != nil {
			s.log.Warn("requests still in flight at shutdown were cut", zap.Error(serr))
			_ = srv.Close()
		}
		cancel()
		err = <-errc
	}
	stopWebhooks()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
