package geelarktest

import (
	"net/http"
	"net/http/httptest"
)

// Server is a Fake listening on a random port of 127.0.0.1.
type Server struct {
	*Fake
	// URL is the base URL of the server, "http://127.0.0.1:port", for
	// geelark.Config.BaseURL.
	URL string

	srv *httptest.Server
}

// NewServer starts a Server running a Fake configured by cfg. The caller
// must Close it.
func NewServer(cfg Config) *Server {
	f := New(cfg)
	srv := httptest.NewServer(f)
	return &Server{Fake: f, URL: srv.URL, srv: srv}
}

// Client returns an HTTP client configured for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close shuts the server down and waits for its calls to finish. Calls still
// waiting out Config.Latency are dropped without a reply.
func (s *Server) Close() {
	s.Fake.Close()
	s.srv.Close()
}
