package geelark_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// Credentials shared by the tests. The key and the token are distinctive so
// that a leak into an error string is easy to spot.
const (
	testAppID  = "app-eH6gQR4oHr3F"
	testAPIKey = "KEY-SECRET-YjmFIUuq0oJgSDJ42fxLEb"
	testToken  = "TOKEN-SECRET-9c1e7f30b2d84a55"
)

// secrets are the strings no error may contain.
var secrets = []string{testAPIKey, testToken}

// newServer starts a fake that accepts the test credentials, closed when the
// test ends.
func newServer(t *testing.T, cfg geelarktest.Config) *geelarktest.Server {
	t.Helper()
	if cfg.AppID == "" && cfg.APIKey == "" {
		cfg.AppID, cfg.APIKey = testAppID, testAPIKey
	}
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	srv := geelarktest.NewServer(cfg)
	t.Cleanup(srv.Close)
	return srv
}

// keyClient returns a key-mode client of srv; edit, when not nil, changes
// its Config first.
func keyClient(t *testing.T, srv *geelarktest.Server, edit func(*geelark.Config)) *geelark.Client {
	t.Helper()
	return newClient(t, geelark.Config{BaseURL: srv.URL, AppID: testAppID, APIKey: testAPIKey}, edit)
}

// tokenClient returns a token-mode client of srv.
func tokenClient(t *testing.T, srv *geelarktest.Server, edit func(*geelark.Config)) *geelark.Client {
	t.Helper()
	return newClient(t, geelark.Config{BaseURL: srv.URL, Token: testToken}, edit)
}

func newClient(t *testing.T, cfg geelark.Config, edit func(*geelark.Config)) *geelark.Client {
	t.Helper()
	if edit != nil {
		edit(&cfg)
	}
	c, err := geelark.NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// start calls StartPhones with default options and a background context.
func start(t *testing.T, c *geelark.Client, ids ...string) (*geelark.StartResult, error) {
	t.Helper()
	return c.StartPhones(context.Background(), ids, geelark.StartOptions{})
}

// mustStart calls StartPhones and fails the test on an error.
func mustStart(t *testing.T, c *geelark.Client, ids ...string) *geelark.StartResult {
	t.Helper()
	res, err := start(t, c, ids...)
	if err != nil {
		t.Fatalf("StartPhones(%v): %v", ids, err)
	}
	return res
}

// apiError returns err as an *APIError, failing the test when it is not one.
func apiError(t *testing.T, err error) *geelark.APIError {
	t.Helper()
	var ae *geelark.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}
	return ae
}

func ptr[T any](v T) *T { return &v }

// clock is a settable clock, shared by a fake and a client.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
