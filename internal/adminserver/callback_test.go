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

// callbackServer is an admin server of namespace "fleet-a" taking
// callbacks signed with the fake's default credentials, and the records of
// that namespace.
type callbackServer struct {
	url   string
	store *fleet.Store
	reg   *prometheus.Registry
}

func newCallbackServer(t *testing.T, cb *adminserver.Callbacks) *callbackServer {
	t.Helper()
	rdb := redistest.New(t).Client(t)
	reg := prometheus.NewRegistry()
	srv, err := adminserver.New(adminserver.Config{Addr: "127.0.0.1:0", Redis: rdb, Namespace: "fleet-a", Gatherer: reg,
		Logger: zaptest.NewLogger(t), Callbacks: cb})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	store, err := fleet.NewStore(rdb, fleet.StoreConfig{Space: fleet.MustSpace("fleet-a")})
	if err != nil {
		t.Fatal(err)
	}
	return &callbackServer{url: "http://" + srv.Addr() + adminserver.CallbackPath, store: store, reg: reg}
}

// booting takes phones to booting as a worker does: their start is
// enqueued, claimed for a call, and the call's answer (accepted) settled.
func (s *callbackServer) booting(t *testing.T, ids ...string) {
	t.Helper()
	ctx := context.Background()
	placed, err := s.store.Place(ctx, fleet.Intent{Action: fleet.ActionStart}, ids)
	if err != nil {
		t.Fatal(err)
	}
	cs := make([]fleet.Claim, len(placed))
	for i, p := range placed {
		cs[i] = fleet.Claim{ID: p.ID, Gen: p.Gen, Task: p.Task}
	}
	token := fleet.NewToken(fleet.ActionStart)
	if _, err := s.store.ClaimCall(ctx, fleet.ActionStart, token, cs); err != nil {
		t.Fatal(err)
	}
	now := s.store.Now()
	ss := make([]fleet.Settle, len(placed))
	for i, p := range placed {
		ss[i] = fleet.Settle{ID: p.ID, Gen: p.Gen, To: fleet.ToBooting, Due: now.Add(time.Minute), Deadline: now.Add(5 * time.Minute)}
	}
	res, err := s.store.SettleCall(ctx, fleet.ActionStart, token, 0, ss)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Outcome != fleet.SettledOK {
			t.Fatalf("phone %s: settle %s, want it booting", r.ID, r.Outcome)
		}
	}
}

// phone returns phone id's record.
func (s *callbackServer) phone(t *testing.T, id string) fleet.Phone {
	t.Helper()
	p, err := s.store.Phone(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// verdict returns the callback's verdict on booting phone id.
func (s *callbackServer) verdict(t *testing.T, id string) string {
	t.Helper()
	p := s.phone(t, id)
	if p.State != fleet.StateBooting {
		t.Fatalf("phone %s is %s, want booting", id, p.State)
	}
	return p.Boot.Verdict
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
	if p := s.phone(t, "cb9"); p.Known() {
		t.Errorf("a start event of a phone phonestart does not know made a record: %+v", p)
	}

	want := map[string]float64{
		"accepted/failed": 1, "accepted/ignored": 1, "accepted/not_booting": 1, "accepted/ready": 1,
		"refused/bad_signature": 1, "refused/missing_header": 1, "refused/too_old": 1,
	}
	got := callbackCounts(t, s.reg)
	maps.DeleteFunc(got, func(_ string, v float64) bool { return v == 0 }) // exported at 0 from the start
	if !maps.Equal(got, want) {
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

// The callback counter is exported at 0 for every outcome and reason from
// the start: an alert on its rate sees 0, not nothing, before the first
// callback.
func TestCallbackCounterStartsAtZero(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	rdb := redistest.New(t).Client(t)
	if _, err := adminserver.New(adminserver.Config{Redis: rdb, Gatherer: reg, Registerer: reg,
		Callbacks: &adminserver.Callbacks{AppID: "app", APIKey: "key"}}); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "phonestart_callbacks_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetValue() + "/"
			}
			seen[key] = m.GetCounter().GetValue()
		}
	}
	for _, want := range []string{"accepted/ready/", "accepted/failed/", "accepted/not_booting/", "accepted/ignored/",
		"refused/bad_signature/", "refused/too_old/", "refused/missing_header/", "refused/bad_body/"} {
		if v, ok := seen[want]; !ok || v != 0 {
			t.Errorf("phonestart_callbacks_total{%s} = %v (exported %v), want 0 from the start", want, v, ok)
		}
	}
}
