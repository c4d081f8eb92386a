package geelarktest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// post sends one start call to srv.
func post(ctx context.Context, srv *geelarktest.Server, hdr http.Header, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+geelark.StartPath, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = hdr
	return srv.Client().Do(req)
}

// waitForCall waits up to 10 seconds for srv to record a call and reports
// whether it did.
func waitForCall(srv *geelarktest.Server) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if len(srv.Calls()) > 0 {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

func TestServerDrop(t *testing.T) {
	t.Parallel()
	srv := geelarktest.NewServer(geelarktest.Config{})
	defer srv.Close()
	srv.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultDrop})
	resp, err := post(context.Background(), srv, goodHeaders(), idsBody("p1"))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("dropped call answered HTTP %d", resp.StatusCode)
	}
	if n := len(srv.Calls()); n != 1 {
		t.Errorf("%d calls recorded, want 1 (a POST is never resent by net/http)", n)
	}
	if srv.Starts("p1") != 1 {
		t.Errorf("Starts %d, want the phone started although the client never heard", srv.Starts("p1"))
	}
	resp, err = post(context.Background(), srv, goodHeaders(), idsBody("p1"))
	if err != nil {
		t.Fatalf("call after the drop: %v", err)
	}
	resp.Body.Close()
}

func TestServerLatencyAndCancel(t *testing.T) {
	t.Parallel()
	srv := geelarktest.NewServer(geelarktest.Config{Latency: time.Hour})
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer cancel()
		waitForCall(srv)
	}()
	start := time.Now()
	_, err := post(ctx, srv, goodHeaders(), idsBody("p1"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the cancelled call took %v", d)
	}
	if srv.Starts("p1") != 1 {
		t.Errorf("Starts %d, want 1: the phone started before the client gave up", srv.Starts("p1"))
	}
}

func TestServerLatencyDelaysReply(t *testing.T) {
	t.Parallel()
	const latency = 50 * time.Millisecond
	srv := geelarktest.NewServer(geelarktest.Config{Latency: latency})
	defer srv.Close()
	start := time.Now()
	resp, err := post(context.Background(), srv, goodHeaders(), idsBody("p1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); d < latency {
		t.Errorf("answered after %v, before the latency of %v", d, latency)
	}
}

func TestServerCloseDuringLatency(t *testing.T) {
	t.Parallel()
	srv := geelarktest.NewServer(geelarktest.Config{Latency: time.Hour})
	errc := make(chan error, 1)
	go func() {
		resp, err := post(context.Background(), srv, goodHeaders(), idsBody("p1"))
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("answered HTTP %d", resp.StatusCode)
		}
		errc <- err
	}()
	if !waitForCall(srv) {
		t.Fatal("the call never reached the fake")
	}
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the call's latency")
	}
	if err := <-errc; err == nil || strings.HasPrefix(err.Error(), "answered") {
		t.Errorf("waiting call: %v, want the connection dropped", err)
	}
	srv.Close() // a second Close is harmless
}

func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	srv := geelarktest.NewServer(geelarktest.Config{RatePerMinute: 100, Default: geelarktest.Mix()})
	defer srv.Close()
	srv.SetFaults(func(n int) geelarktest.Fault {
		if n%7 == 0 {
			return geelarktest.Fault{Kind: geelarktest.FaultOmit}
		}
		return geelarktest.Fault{}
	})
	const workers, each = 16, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				resp, err := post(context.Background(), srv, goodHeaders(), idsBody(fmt.Sprint("w", w), fmt.Sprint("p", i)))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	calls := srv.Calls()
	if len(calls) != workers*each {
		t.Fatalf("%d calls, want %d", len(calls), workers*each)
	}
	accepted := 0
	for i, c := range calls {
		if c.N != i+1 {
			t.Fatalf("calls[%d].N = %d", i, c.N)
		}
		if c.Code == 0 {
			accepted++
		}
	}
	if accepted != 100 || srv.Violations() != workers*each-100 {
		t.Errorf("%d accepted, %d violations; want 100 and %d", accepted, srv.Violations(), workers*each-100)
	}
	attempts := 0
	for w := range workers {
		attempts += srv.Attempts(fmt.Sprint("w", w))
	}
	if attempts != accepted {
		t.Errorf("%d attempts of the w* phones, want one per accepted call (%d)", attempts, accepted)
	}
}
