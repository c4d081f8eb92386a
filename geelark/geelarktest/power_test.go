package geelarktest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// server starts a fake with cfg and returns it with a token-mode client.
func server(t *testing.T, cfg geelarktest.Config) (*geelarktest.Server, *geelark.Client) {
	t.Helper()
	srv := geelarktest.NewServer(cfg)
	t.Cleanup(srv.Close)
	c, err := geelark.NewClient(geelark.Config{BaseURL: srv.URL, Token: geelarktest.DefaultToken})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func startIDs(t *testing.T, c *geelark.Client, ids ...string) {
	t.Helper()
	res, err := c.StartPhones(context.Background(), ids, geelark.StartOptions{})
	if err != nil {
		t.Fatalf("start %v: %v", ids, err)
	}
	for _, o := range res.Outcomes {
		if o.Status != geelark.StatusStarted {
			t.Fatalf("start: %+v", o)
		}
	}
}

func states(t *testing.T, c *geelark.Client, ids ...string) []geelark.PhoneState {
	t.Helper()
	res, err := c.StatusPhones(context.Background(), ids)
	if err != nil {
		t.Fatalf("status %v: %v", ids, err)
	}
	out := make([]geelark.PhoneState, len(res.Outcomes))
	for i, o := range res.Outcomes {
		out[i] = o.State
	}
	return out
}

func TestBoots(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		boot  geelarktest.Boot
		steps map[time.Duration]geelark.PhoneState // since the start
	}{
		{"at once", geelarktest.Boot{}, map[time.Duration]geelark.PhoneState{0: 0, time.Hour: 0}},
		{"3s", geelarktest.Boot{Time: 3 * time.Second},
			map[time.Duration]geelark.PhoneState{0: 1, 2999 * time.Millisecond: 1, 3 * time.Second: 0}},
		{"never", geelarktest.Boot{Time: time.Second, Never: true},
			map[time.Duration]geelark.PhoneState{0: 1, time.Second: 1, 24 * time.Hour: 1}},
		{"falls back", geelarktest.Boot{Time: 3 * time.Second, FallBack: true},
			map[time.Duration]geelark.PhoneState{0: 1, 2 * time.Second: 1, 3 * time.Second: 2, time.Hour: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for after, want := range tt.steps {
				clk := newClock(t0)
				srv, c := server(t, geelarktest.Config{Now: clk.Now,
					Boot: func(string) geelarktest.Boot { return tt.boot }})
				startIDs(t, c, "p1")
				clk.Advance(after)
				if got := states(t, c, "p1")[0]; got != want {
					t.Errorf("%v after the start: state %v, want %v", after, got, want)
				}
				if got := srv.State("p1"); got != want {
					t.Errorf("%v after the start: State %v, want %v", after, got, want)
				}
				if srv.Running("p1") != (want == 0 || want == 1) {
					t.Errorf("%v after the start: Running %t in state %v", after, srv.Running("p1"), want)
				}
			}
		})
	}
}

// ScriptBoot wins over Config.Boot; Times limits a failing boot to the
// first ones; the list endpoint shows the same state.
func TestScriptBootAndTimes(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	srv, c := server(t, geelarktest.Config{Now: clk.Now,
		Boot: func(string) geelarktest.Boot { return geelarktest.Boot{Time: time.Minute} }})
	srv.ScriptBoot("once", geelarktest.Boot{Time: time.Second, FallBack: true, Times: 1})
	srv.AddPhones(geelarktest.Phone{ID: "slow"})
	startIDs(t, c, "slow", "once")
	clk.Advance(time.Second)
	if got := states(t, c, "slow", "once"); got[0] != 1 || got[1] != 2 {
		t.Fatalf("after 1s: %v, want [starting shut down]", got)
	}
	page, err := c.ListPhones(context.Background(), 1, 10, geelark.ListFilter{})
	if err != nil || len(page.Items) != 1 || page.Items[0].Status != 1 {
		t.Fatalf("list while booting: %+v, %v; want slow at 1", page, err)
	}
	startIDs(t, c, "once") // its second boot comes up
	clk.Advance(time.Second)
	if got := states(t, c, "once")[0]; got != 0 {
		t.Errorf("second boot: %v, want started", got)
	}
	if n := srv.DoubleStarts(); n != 0 {
		t.Errorf("DoubleStarts = %d after starting a fallen-back phone, want 0", n)
	}
}

func TestDoubleStarts(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	srv, c := server(t, geelarktest.Config{Now: clk.Now,
		Boot: func(string) geelarktest.Boot { return geelarktest.Boot{Time: 10 * time.Second} }})
	startIDs(t, c, "p1", "p2")
	startIDs(t, c, "p1") // booting: a double start
	clk.Advance(10 * time.Second)
	startIDs(t, c, "p1") // up: a double start, which does not reboot it
	if got := states(t, c, "p1")[0]; got != 0 {
		t.Errorf("a double start rebooted the phone: %v", got)
	}
	if _, err := c.StopPhones(context.Background(), []string{"p2"}); err != nil {
		t.Fatal(err)
	}
	startIDs(t, c, "p2") // stopped: a fresh start
	if got, want := srv.DoubleStarts(), 2; got != want {
		t.Errorf("DoubleStarts = %d, want %d", got, want)
	}
	if srv.Starts("p1") != 3 || srv.Starts("p2") != 2 {
		t.Errorf("Starts p1 %d p2 %d, want 3 and 2", srv.Starts("p1"), srv.Starts("p2"))
	}
}

// Poison answers the call-level code for any start call naming the ID,
// processes none of its phones, and lets the same call without it through.
func TestPoison(t *testing.T) {
	t.Parallel()
	srv, c := server(t, geelarktest.Config{RatePerMinute: 3})
	srv.Poison("bad", 40004)
	srv.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultOmit})
	ctx := context.Background()
	_, err := c.StartPhones(ctx, []string{"a", "bad", "b"}, geelark.StartOptions{})
	var ae *geelark.APIError
	if !errors.As(err, &ae) || ae.Code != 40004 {
		t.Fatalf("poisoned call: %v, want 40004", err)
	}
	for _, id := range []string{"a", "bad", "b"} {
		if srv.Starts(id) != 0 || srv.Attempts(id) != 0 {
			t.Errorf("%s: %d starts, %d attempts after a poisoned call, want 0", id, srv.Starts(id), srv.Attempts(id))
		}
	}
	if c := srv.Calls()[0]; c.Poisoned != "bad" || c.Code != 40004 || c.Fault != geelarktest.FaultNone {
		t.Errorf("call recorded Poisoned %q code %d fault %s", c.Poisoned, c.Code, c.Fault)
	}
	res, err := c.StartPhones(ctx, []string{"a", "b"}, geelark.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcomes[0].Status != geelark.StatusUnknown {
		t.Errorf("the queued fault skipped the poisoned call but did not land on the next: %+v", res.Outcomes)
	}
	srv.Poison("bad", 0)
	startIDs(t, c, "bad")
	// Three accepted calls, the poisoned one included: the budget is spent.
	_, err = c.StartPhones(ctx, []string{"c"}, geelark.StartOptions{})
	if !errors.As(err, &ae) || ae.Code != geelark.CodeTooManyRequests {
		t.Errorf("fourth call: %v, want 40007", err)
	}
	if len(srv.Calls()) != 4 {
		t.Errorf("%d calls recorded, want 4", len(srv.Calls()))
	}
}

func TestStopScriptAndCodes(t *testing.T) {
	t.Parallel()
	srv, c := server(t, geelarktest.Config{})
	srv.ScriptStop("busy", geelarktest.Script{Code: 43005, Times: 2, Msg: "task running"})
	startIDs(t, c, "busy")
	ctx := context.Background()
	for i, want := range []int{43005, 43005, 0, 0} {
		res, err := c.StopPhones(ctx, []string{"busy"})
		if err != nil {
			t.Fatal(err)
		}
		o := res.Outcomes[0]
		if o.Code != want || (want == 0) != (o.Status == geelark.StatusStopped) {
			t.Errorf("stop %d: %+v, want code %d", i+1, o, want)
		}
		if want != 0 && o.Msg != "task running" {
			t.Errorf("stop %d: msg %q", i+1, o.Msg)
		}
	}
	if srv.Stops("busy") != 2 || srv.Running("busy") {
		t.Errorf("Stops %d Running %t, want 2 false", srv.Stops("busy"), srv.Running("busy"))
	}
	calls := srv.Calls()
	if last := calls[len(calls)-1]; last.Path != geelark.StopPath || len(last.Stopped) != 1 || last.Stopped[0] != "busy" {
		t.Errorf("last call recorded %+v", last)
	}
}

// ScriptStatus answers a code for one phone in its first status calls
// while the phone goes on booting, then its power state.
func TestStatusScript(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	srv, c := server(t, geelarktest.Config{Now: clk.Now,
		Boot: func(string) geelarktest.Boot { return geelarktest.Boot{Time: 10 * time.Second} }})
	startIDs(t, c, "busy", "calm")
	srv.ScriptStatus("busy", geelarktest.Script{Code: 50000, Times: 2, Msg: "try again"})
	ctx := context.Background()
	for i, want := range []int{50000, 50000, 0} {
		res, err := c.StatusPhones(ctx, []string{"busy", "calm"})
		if err != nil {
			t.Fatal(err)
		}
		busy, calm := res.Outcomes[0], res.Outcomes[1]
		if !busy.Known || busy.Code != want || (want != 0 && busy.Msg != "try again") {
			t.Errorf("status %d of busy: %+v, want code %d", i+1, busy, want)
		}
		if want == 0 && busy.State != geelark.StateStarting {
			t.Errorf("status %d of busy: %v, want starting", i+1, busy.State)
		}
		if calm.Code != 0 || calm.State != geelark.StateStarting {
			t.Errorf("status %d of calm: %+v", i+1, calm)
		}
	}
	if !srv.Running("busy") || srv.Starts("busy") != 1 {
		t.Errorf("a scripted status code changed the phone: running %t, %d starts", srv.Running("busy"), srv.Starts("busy"))
	}
	if got := srv.CallsTo(geelark.StatusPath)[0].Failed["busy"]; got != 50000 {
		t.Errorf("status call recorded failed code %d, want 50000", got)
	}
}

// The status, stop and callback/set endpoints validate their bodies,
// authenticate and spend their own budget, like the others.
func TestNewEndpointsValidate(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{})
	t.Cleanup(f.Close)
	many := func(n int) string {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = "p" + strings.Repeat("1", i+1)
		}
		return idsBody(ids...)
	}
	tests := []struct {
		path, body string
		want       int
	}{
		{geelark.StatusPath, many(100), 0},
		{geelark.StatusPath, many(101), 40004},
		{geelark.StatusPath, `{"ids":[]}`, 40004},
		{geelark.StatusPath, `{"ids":["a","a"]}`, 40004},
		{geelark.StatusPath, `not json`, 40004},
		{geelark.StopPath, many(200), 0},
		{geelark.StopPath, many(201), 40004},
		{geelark.StopPath, `{"ids":[""]}`, 40004},
		{geelark.CallbackSetPath, `{"url":"https://example.com/cb"}`, 0},
		{geelark.CallbackSetPath, `{"url":"ftp://example.com/cb"}`, 40004},
		{geelark.CallbackSetPath, `{}`, 40004},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
		req.Header = goodHeaders()
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), `"code":`+strconv.Itoa(tt.want)+`,`) {
			t.Errorf("%s %.40s: reply %s, want code %d", tt.path, tt.body, rec.Body, tt.want)
		}
	}
	req := httptest.NewRequest(http.MethodPost, geelark.StatusPath, strings.NewReader(`{"ids":["a"]}`))
	req.Header = tokenHeaders("wrong")
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `"code":40003`) {
		t.Errorf("status with a wrong token: %s", rec.Body)
	}
}
