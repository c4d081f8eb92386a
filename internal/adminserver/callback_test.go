package adminserver_test

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/adminserver"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redistest"
)

// callbackServer is an admin server taking callbacks signed with the fake's
// default credentials, and the boots it confirms.
type callbackServer struct {
	url   string
	boots *fleet.Boots
	reg   *prometheus.Registry
}

func newCallbackServer(t *testing.T, cb *adminserver.Callbacks) *callbackServer {
	t.Helper()
	rdb := redistest.New(t).Client(t)
	reg := prometheus.NewRegistry()
	srv, err := adminserver.New(adminserver.Config{Addr: "127.0.0.1:0", Redis: rdb, Gatherer: reg,
		Logger: zaptest.NewLogger(t), Callbacks: cb})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return &callbackServer{url: "http://" + srv.Addr() + adminserver.CallbackPath, boots: fleet.NewBoots(rdb), reg: reg}
}

// booting records phones as booting, as a worker does after their start.
func (s *callbackServer) booting(t *testing.T, ids ...string) {
	t.Helper()
	now := time.Now()
	var bs []fleet.Boot
	for _, id := range ids {
		bs = append(bs, fleet.Boot{ID: id, Attempt: 1, StartedAt: now, Deadline: now.Add(5 * time.Minute)})
	}
	if err := s.boots.Begin(context.Background(), now.Add(time.Minute), bs...); err != nil {
		t.Fatal(err)
	}
}

func (s *callbackServer) verdict(t *testing.T, id string) string {
	t.Helper()
	bt, ok, err := s.boots.Get(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("boot of %s: %v, %v", id, ok, err)
	}
	return bt.Verdict
}

// post sends body with headers set by sign (nil: unsigned) and returns the
// status.
func post(t *testing.T, url string, ev geelark.CallbackEvent, sign func(http.Header)) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(geelarktest.CallbackBody(ev)))
	if sign != nil {
		sign(req.Header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var fakeCreds = &adminserver.Callbacks{AppID: geelarktest.DefaultAppID, APIKey: geelarktest.DefaultAPIKey}

// A forged callback (wrong key, unsigned) or one signed ten minutes ago is
// refused with 401 and leaves the boot as it was; a good one records its
// verdict.
func TestCallbackRefusesForgedAndOldEvents(t *testing.T) {
	t.Parallel()
	s := newCallbackServer(t, fakeCreds)
	s.booting(t, "cb1", "cb2")
	start := geelark.CallbackEvent{Type: geelark.CallbackStart, ID: "cb1", Result: true, EventTime: time.Now()}

	if got := post(t, s.url, start, func(h http.Header) {
		geelarktest.SignCallback(h, geelarktest.DefaultAppID, "not-the-key", time.Now())
	}); got != http.StatusUnauthorized {
		t.Errorf("badly signed callback: HTTP %d, want 401", got)
	}
	if got := post(t, s.url, start, nil); got != http.StatusUnauthorized {
		t.Errorf("unsigned callback: HTTP %d, want 401", got)
	}
	late := geelarktest.New(geelarktest.Config{Now: func() time.Time { return time.Now().Add(-10 * time.Minute) }})
	defer late.Close()
	if err := late.SendCallback(context.Background(), s.url, start); err == nil {
		t.Error("a callback signed 10 minutes ago was accepted")
	} else if sent := late.SentCallbacks(); sent[0].StatusCode != http.StatusUnauthorized {
		t.Errorf("a callback signed 10 minutes ago: HTTP %d, want 401", sent[0].StatusCode)
	}
	if v := s.verdict(t, "cb1"); v != "" {
		t.Fatalf("refused callbacks set the verdict %q", v)
	}

	good := geelarktest.New(geelarktest.Config{})
	defer good.Close()
	if err := good.SendCallback(context.Background(), s.url, start); err != nil {
		t.Fatal(err)
	}
	failed := geelark.CallbackEvent{Type: geelark.CallbackStart, ID: "cb2", Result: false, EventTime: time.Now()}
	if err := good.SendCallback(context.Background(), s.url, failed); err != nil {
		t.Fatal(err)
	}
	if v := s.verdict(t, "cb1"); v != fleet.VerdictReady {
		t.Errorf("cb1 verdict %q after result true, want %q", v, fleet.VerdictReady)
	}
	if v := s.verdict(t, "cb2"); v != fleet.VerdictFailed {
		t.Errorf("cb2 verdict %q after result false, want %q", v, fleet.VerdictFailed)
	}
	// A stop event, and a start event of a phone that is not booting, are
	// accepted and change nothing.
	stop := geelark.CallbackEvent{Type: geelark.CallbackStop, ID: "cb2", UseMin: 3, EventTime: time.Now()}
	other := geelark.CallbackEvent{Type: geelark.CallbackStart, ID: "cb9", Result: true, EventTime: time.Now()}
	for _, ev := range []geelark.CallbackEvent{stop, other} {
		if err := good.SendCallback(context.Background(), s.url, ev); err != nil {
			t.Errorf("event %+v: %v", ev, err)
		}
	}
	if v := s.verdict(t, "cb2"); v != fleet.VerdictFailed {
		t.Errorf("cb2 verdict %q after a stop event, want %q", v, fleet.VerdictFailed)
	}
	if _, ok, _ := s.boots.Get(context.Background(), "cb9"); ok {
		t.Error("a start event of a phone that was not booting made it booting")
	}

	want := map[string]float64{
		"accepted/failed": 1, "accepted/ignored": 1, "accepted/not_booting": 1, "accepted/ready": 1,
		"refused/bad_signature": 1, "refused/missing_header": 1, "refused/too_old": 1,
	}
	if got := callbackCounts(t, s.reg); !maps.Equal(got, want) {
		t.Errorf("phonestart_callbacks_total = %v, want %v", got, want)
	}
}

// Without Callbacks in its Config the server has no callback endpoint.
func TestCallbackEndpointOffByDefault(t *testing.T) {
	t.Parallel()
	s := newCallbackServer(t, nil)
	s.booting(t, "cb1")
	good := geelarktest.New(geelarktest.Config{})
	defer good.Close()
	ev := geelark.CallbackEvent{Type: geelark.CallbackStart, ID: "cb1", Result: true, EventTime: time.Now()}
	if err := good.SendCallback(context.Background(), s.url, ev); err == nil {
		t.Fatal("the callback endpoint answered with callbacks off")
	}
	if got := good.SentCallbacks()[0].StatusCode; got != http.StatusNotFound && got != http.StatusMethodNotAllowed {
		t.Errorf("callback with callbacks off: HTTP %d, want 404", got)
	}
	if v := s.verdict(t, "cb1"); v != "" {
		t.Errorf("verdict %q with callbacks off", v)
	}
}

func TestCallbackConfigNeedsKeyModeCredentials(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	if _, err := adminserver.New(adminserver.Config{Redis: rdb, Callbacks: &adminserver.Callbacks{AppID: "a"}}); err == nil {
		t.Fatal("Callbacks without an API key was accepted")
	}
}

// callbackCounts reads phonestart_callbacks_total by "outcome/reason".
func callbackCounts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "phonestart_callbacks_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			out[l["outcome"]+"/"+l["reason"]] = m.GetCounter().GetValue()
		}
	}
	return out
}
