package geelark_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// transportCase sets up one way for a call's outcome to become unknown.
type transportCase struct {
	name    string
	cfg     geelarktest.Config                            // of the fake
	setup   func(srv *geelarktest.Server)                 // e.g. queue a fault
	client  func(*geelark.Config)                         // edits the client's Config
	ctx     func(srv *geelarktest.Server) context.Context // the call's context
	op      string                                        // TransportError.Op
	status  int                                           // TransportError.StatusCode
	is      error                                         // errors.Is target, if any
	started bool                                          // whether the fake started the phone
}

var transportCases = []transportCase{
	{
		name:   "HTTP 500",
		setup:  func(s *geelarktest.Server) { s.FailNext(1, geelarktest.Fault{Kind: geelarktest.Fault500}) },
		op:     "status",
		status: http.StatusInternalServerError,
	},
	{
		name:    "truncated body",
		setup:   func(s *geelarktest.Server) { s.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultTruncated}) },
		op:      "decode",
		started: true,
	},
	{
		name:    "dropped connection",
		setup:   func(s *geelarktest.Server) { s.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultDrop}) },
		op:      "send",
		started: true,
	},
	{
		name: "timeout",
		cfg:  geelarktest.Config{Latency: time.Hour},
		// Long enough for the call to reach the fake on a loaded machine.
		client:  func(c *geelark.Config) { c.CallTimeout = time.Second },
		op:      "send",
		is:      context.DeadlineExceeded,
		started: true,
	},
	{
		name: "context cancelled during the call",
		cfg:  geelarktest.Config{Latency: time.Hour},
		ctx: func(s *geelarktest.Server) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				defer cancel()
				for deadline := time.Now().Add(10 * time.Second); len(s.Calls()) == 0 && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
			}()
			return ctx
		},
		op:      "send",
		is:      context.Canceled,
		started: true,
	},
}

func TestTransportFaultsAreOutcomeUnknown(t *testing.T) {
	t.Parallel()
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, err := runTransportCase(t, tc, keyClient)
			var te *geelark.TransportError
			if !errors.As(err, &te) {
				t.Fatalf("err %v (%T), want a *TransportError", err, err)
			}
			if !geelark.IsOutcomeUnknown(err) {
				t.Error("IsOutcomeUnknown = false")
			}
			if te.Op != tc.op || te.StatusCode != tc.status {
				t.Errorf("Op %q StatusCode %d, want %q %d", te.Op, te.StatusCode, tc.op, tc.status)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err %v does not wrap %v", err, tc.is)
			}
			calls := srv.Calls()
			if len(calls) != 1 {
				t.Fatalf("%d calls reached the fake, want 1 (the client must not resend)", len(calls))
			}
			if te.TraceID == "" || te.TraceID != calls[0].TraceID {
				t.Errorf("TransportError traceId %q, fake saw %q", te.TraceID, calls[0].TraceID)
			}
			// The point of "unknown": the phone may well have started.
			if got, want := srv.Starts("p1") == 1, tc.started; got != want {
				t.Errorf("fake started p1: %t, want %t", got, want)
			}
		})
	}
}

// runTransportCase runs tc against a fresh fake, calling it with a client
// made by client, and returns the fake and the error of the call.
func runTransportCase(t *testing.T, tc transportCase,
	client func(*testing.T, *geelarktest.Server, func(*geelark.Config)) *geelark.Client,
) (*geelarktest.Server, error) {
	t.Helper()
	srv := newServer(t, tc.cfg)
	if tc.setup != nil {
		tc.setup(srv)
	}
	ctx := context.Background()
	if tc.ctx != nil {
		ctx = tc.ctx(srv)
	}
	res, err := client(t, srv, tc.client).StartPhones(ctx, []string{"p1"}, geelark.StartOptions{})
	if err == nil {
		t.Fatalf("StartPhones succeeded: %+v", res)
	}
	if res == nil || res.TraceID == "" || len(res.Outcomes) != 0 {
		t.Errorf("result %+v, want only the traceId", res)
	}
	return srv, err
}

func TestAlreadyCancelledContext(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := keyClient(t, srv, nil).StartPhones(ctx, []string{"p1"}, geelark.StartOptions{})
	var te *geelark.TransportError
	if !errors.As(err, &te) || !errors.Is(err, context.Canceled) || !geelark.IsOutcomeUnknown(err) {
		t.Fatalf("err %v, want a *TransportError wrapping context.Canceled", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := geelarktest.NewServer(geelarktest.Config{})
	base := srv.URL
	srv.Close()
	c := newClient(t, geelark.Config{BaseURL: base, Token: testToken}, nil)
	_, err := start(t, c, "p1")
	var te *geelark.TransportError
	if !errors.As(err, &te) || te.Op != "send" || !geelark.IsOutcomeUnknown(err) {
		t.Fatalf("err %v, want a send *TransportError", err)
	}
}
