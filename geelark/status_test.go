package geelark_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// StatusPhones follows each phone through its boot, as a boot-confirming
// worker would see it.
func TestStatusPhonesFollowsBoots(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	srv := newServer(t, geelarktest.Config{Now: clk.Now,
		Boot: func(string) geelarktest.Boot { return geelarktest.Boot{Time: 3 * time.Second} }})
	srv.ScriptBoot("instant", geelarktest.Boot{})
	srv.ScriptBoot("never", geelarktest.Boot{Never: true})
	srv.ScriptBoot("falls", geelarktest.Boot{Time: 5 * time.Second, FallBack: true})
	srv.Script("gone", geelarktest.Script{Code: 42001})
	srv.Script("expired", geelarktest.Script{Code: 43004})
	c := keyClient(t, srv, func(cfg *geelark.Config) { cfg.Now = clk.Now })
	ctx := context.Background()
	mustStart(t, c, "booting", "instant", "never", "falls", "stopped")
	if _, err := c.StopPhones(ctx, []string{"stopped"}); err != nil {
		t.Fatal(err)
	}
	ids := []string{"booting", "instant", "never", "falls", "stopped", "off", "gone", "expired"}
	const U = geelark.StateUnknown
	steps := []struct {
		after time.Duration // since the start
		want  []geelark.PhoneState
	}{
		{0, []geelark.PhoneState{1, 0, 1, 1, 2, 2, U, 3}},
		{2999 * time.Millisecond, []geelark.PhoneState{1, 0, 1, 1, 2, 2, U, 3}},
		{3 * time.Second, []geelark.PhoneState{0, 0, 1, 1, 2, 2, U, 3}},
		{5 * time.Second, []geelark.PhoneState{0, 0, 1, 2, 2, 2, U, 3}},
		{time.Hour, []geelark.PhoneState{0, 0, 1, 2, 2, 2, U, 3}},
	}
	var elapsed time.Duration
	for _, st := range steps {
		clk.Advance(st.after - elapsed)
		elapsed = st.after
		res, err := c.StatusPhones(ctx, ids)
		if err != nil {
			t.Fatalf("after %v: %v", st.after, err)
		}
		if res.TraceID == "" || len(res.Outcomes) != len(ids) {
			t.Fatalf("after %v: traceId %q, %d outcomes", st.after, res.TraceID, len(res.Outcomes))
		}
		for i, o := range res.Outcomes {
			if o.ID != ids[i] || !o.Known || o.State != st.want[i] {
				t.Errorf("after %v: %s: %+v, want known state %v", st.after, ids[i], o, st.want[i])
			}
		}
		if g := res.Outcomes[6]; g.Code != 42001 || g.Msg == "" {
			t.Errorf("after %v: gone: %+v, want code 42001 with a message", st.after, g)
		}
	}
}

// A phone the reply leaves out is not known, and nothing is read into it.
func TestStatusPhonesOmitted(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	c := tokenClient(t, srv, nil)
	mustStart(t, c, "a", "b")
	srv.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultOmit})
	res, err := c.StatusPhones(context.Background(), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	want := []geelark.StatusOutcome{
		{ID: "a", State: geelark.StateUnknown},
		{ID: "b", Known: true, State: geelark.StateStarted},
	}
	for i, o := range res.Outcomes {
		if o != want[i] {
			t.Errorf("Outcomes[%d] = %+v, want %+v", i, o, want[i])
		}
	}
}

func TestStatusPhonesErrors(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{RatePerMinute: 1})
	c := keyClient(t, srv, nil)
	ctx := context.Background()
	if _, err := c.StatusPhones(ctx, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	// The status endpoint has a budget of its own: a start still goes out.
	if _, err := c.StartPhones(ctx, []string{"a"}, geelark.StartOptions{}); err != nil {
		t.Fatalf("start after a status call: %v", err)
	}
	res, err := c.StatusPhones(ctx, []string{"a"})
	if ae := apiError(t, err); ae.Code != geelark.CodeTooManyRequests || ae.TraceID == "" {
		t.Errorf("second status call: %+v, want 40007 with a traceId", ae)
	}
	if res == nil || res.TraceID == "" || res.Outcomes != nil {
		t.Errorf("result with the error: %+v, want only a traceId", res)
	}
	srv2 := newServer(t, geelarktest.Config{})
	srv2.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultTruncated})
	_, err = tokenClient(t, srv2, nil).StatusPhones(ctx, []string{"a"})
	if !geelark.IsOutcomeUnknown(err) {
		t.Errorf("truncated reply: %v, want a *TransportError", err)
	}
}

func TestParseStatusReply(t *testing.T) {
	t.Parallel()
	const U = geelark.StateUnknown
	tests := []struct {
		name    string
		body    string
		ids     []string
		want    []geelark.StatusOutcome
		wantErr string // "api" or "transport"
	}{
		{"doc example", docStatusReply, []string{"A", "B", "C", "D", "E"}, []geelark.StatusOutcome{
			{ID: "A", Known: true, State: 0, SerialName: "name1"},
			{ID: "B", Known: true, State: 1, SerialName: "name2"},
			{ID: "C", Known: true, State: 2, SerialName: "name3"},
			{ID: "D", Known: true, State: U, Code: 42001, Msg: "env not found"},
			{ID: "E", State: U},
		}, ""},
		{"numeric ids", `{"code":0,"data":{"successDetails":[{"id":528086321789535232,"status":0}],
			"failDetails":[{"code":42001,"id":528086321789535233}]}}`, []string{"528086321789535232", "528086321789535233"},
			[]geelark.StatusOutcome{
				{ID: "528086321789535232", Known: true, State: 0},
				{ID: "528086321789535233", Known: true, State: U, Code: 42001},
			}, ""},
		{"status missing or null is not known", `{"code":0,"data":{"successDetails":[{"id":"A"},{"id":"B","status":null}]}}`,
			[]string{"A", "B"}, []geelark.StatusOutcome{{ID: "A", State: U}, {ID: "B", State: U}}, ""},
		{"an undocumented status is kept", `{"code":0,"data":{"successDetails":[{"id":"A","status":7}]}}`,
			[]string{"A"}, []geelark.StatusOutcome{{ID: "A", Known: true, State: 7}}, ""},
		{"a state beats a failure", `{"code":0,"data":{"failDetails":[{"code":50000,"id":"A"}],"successDetails":[{"id":"A","status":1}]}}`,
			[]string{"A"}, []geelark.StatusOutcome{{ID: "A", Known: true, State: 1}}, ""},
		{"unrequested IDs are ignored", `{"code":0,"data":{"successDetails":[{"id":"Z","status":0}]}}`,
			[]string{"A"}, []geelark.StatusOutcome{{ID: "A", State: U}}, ""},
		{"null data", `{"code":0,"data":null}`, []string{"A"}, []geelark.StatusOutcome{{ID: "A", State: U}}, ""},
		{"40009 with details", `{"code":40009,"data":{"failDetails":[{"code":42001,"id":"A","msg":"x"}]}}`,
			[]string{"A"}, []geelark.StatusOutcome{{ID: "A", Known: true, State: U, Code: 42001, Msg: "x"}}, ""},
		{"40009 without details", `{"code":40009,"msg":"batch failed"}`, []string{"A"}, nil, "api"},
		{"call-level code", `{"code":40003,"msg":"sign"}`, []string{"A"}, nil, "api"},
		{"not JSON", `<html>502</html>`, []string{"A"}, nil, "transport"},
		{"no code", `{"data":{}}`, []string{"A"}, nil, "transport"},
		{"status of the wrong type", `{"code":0,"data":{"successDetails":[{"id":"A","status":"0"}]}}`, []string{"A"}, nil, "transport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := geelark.ParseStatusReply([]byte(tt.body), tt.ids)
			var ae *geelark.APIError
			var te *geelark.TransportError
			switch tt.wantErr {
			case "api":
				if !errors.As(err, &ae) || res != nil {
					t.Fatalf("got %+v, %v; want an *APIError", res, err)
				}
				return
			case "transport":
				if !errors.As(err, &te) || res != nil {
					t.Fatalf("got %+v, %v; want a *TransportError", res, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Outcomes) != len(tt.want) {
				t.Fatalf("%d outcomes, want %d", len(res.Outcomes), len(tt.want))
			}
			for i, o := range res.Outcomes {
				if o != tt.want[i] {
					t.Errorf("Outcomes[%d] = %+v, want %+v", i, o, tt.want[i])
				}
			}
		})
	}
}

func TestPhoneStateString(t *testing.T) {
	t.Parallel()
	for s, want := range map[geelark.PhoneState]string{
		geelark.StateUnknown: "unknown", geelark.StateStarted: "started", geelark.StateStarting: "starting",
		geelark.StateShutDown: "shut down", geelark.StateExpired: "expired", 7: "PhoneState(7)",
	} {
		if got := s.String(); got != want {
			t.Errorf("PhoneState(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

// docStatusReply is the status endpoint's documented reply, with distinct
// IDs (the documentation repeats one placeholder) and one more state.
const docStatusReply = `{
    "code": 0,
    "msg": "成功",
    "traceId": "123456ABCDEF",
    "data": {
        "totalAmount": 5,
        "successAmount": 3,
        "failAmount": 1,
        "successDetails": [
            {"id": "A", "serialName": "name1", "status": 0},
            {"id": "B", "serialName": "name2", "status": 1},
            {"id": "C", "serialName": "name3", "status": 2}
        ],
        "failDetails": [
            {"code": 42001, "id": "D", "msg": "env not found"}
        ]
    }
}`
