package geelark_test

import (
	"context"
	"errors"
	"testing"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

func TestStopPhones(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	srv.Script("gone", geelarktest.Script{Code: 42001})
	srv.ScriptStop("busy", geelarktest.Script{Code: 43005, Times: 2})
	srv.ScriptStop("remote", geelarktest.Script{Code: 43006})
	c := keyClient(t, srv, nil)
	ctx := context.Background()
	mustStart(t, c, "up", "busy", "remote")
	ids := []string{"up", "busy", "remote", "gone", "off"}
	wants := [][]geelark.Status{
		{geelark.StatusStopped, geelark.StatusFailed, geelark.StatusFailed, geelark.StatusFailed, geelark.StatusStopped},
		{geelark.StatusStopped, geelark.StatusFailed, geelark.StatusFailed, geelark.StatusFailed, geelark.StatusStopped},
		{geelark.StatusStopped, geelark.StatusStopped, geelark.StatusFailed, geelark.StatusFailed, geelark.StatusStopped},
	}
	for n, want := range wants {
		res, err := c.StopPhones(ctx, ids)
		if err != nil {
			t.Fatalf("stop call %d: %v", n+1, err)
		}
		if res.TraceID == "" {
			t.Errorf("stop call %d: no traceId", n+1)
		}
		for i, o := range res.Outcomes {
			if o.ID != ids[i] || o.Status != want[i] {
				t.Errorf("stop call %d: %s: %+v, want %s", n+1, ids[i], o, want[i])
			}
		}
		codes := map[string]int{"gone": 42001, "remote": 43006}
		if n < 2 {
			codes["busy"] = 43005
		}
		for i, o := range res.Outcomes {
			if o.Code != codes[ids[i]] {
				t.Errorf("stop call %d: %s: code %d, want %d", n+1, ids[i], o.Code, codes[ids[i]])
			}
			if o.Code != 0 && geelark.Lookup(o.Code).Class == geelark.ClassUnknown {
				t.Errorf("stop code %d is not in the code table", o.Code)
			}
		}
	}
	for id, want := range map[string]int{"up": 3, "busy": 1, "remote": 0, "gone": 0, "off": 3} {
		if got := srv.Stops(id); got != want {
			t.Errorf("Stops(%s) = %d, want %d", id, got, want)
		}
	}
	res, err := c.StatusPhones(ctx, []string{"up", "busy", "remote"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []geelark.PhoneState{geelark.StateShutDown, geelark.StateShutDown, geelark.StateStarted} {
		if o := res.Outcomes[i]; o.State != want {
			t.Errorf("after the stops, %s is %v, want %v", o.ID, o.State, want)
		}
	}
}

func TestParseStopReply(t *testing.T) {
	t.Parallel()
	S, F, U := geelark.StatusStopped, geelark.StatusFailed, geelark.StatusUnknown
	tests := []struct {
		name    string
		body    string
		ids     []string
		want    []geelark.Status
		codes   []int
		wantErr bool
	}{
		{"successDetails name the stopped", `{"code":0,"data":{"successAmount":1,"failAmount":1,
			"successDetails":[{"id":"A","serialName":"n","status":0}],"failDetails":[{"code":43005,"id":"B","msg":"busy"}]}}`,
			[]string{"A", "B", "C"}, []geelark.Status{S, F, U}, []int{0, 43005, 0}, false},
		{"as documented: amounts and failDetails only", `{"code":0,"data":{"totalAmount":3,"successAmount":2,"failAmount":1,
			"failDetails":[{"code":43006,"id":"B","msg":"remote"}]}}`,
			[]string{"A", "B", "C"}, []geelark.Status{S, F, S}, []int{0, 43006, 0}, false},
		{"failDetails id as a number", `{"code":0,"data":{"successAmount":1,"failAmount":1,
			"failDetails":[{"code":42001,"id":528086321789535232}]}}`,
			[]string{"528086321789535232", "528086321789535233"}, []geelark.Status{F, S}, []int{42001, 0}, false},
		{"amounts that do not add up stay unknown", `{"code":0,"data":{"successAmount":1,"failAmount":1,
			"failDetails":[{"code":43005,"id":"B"}]}}`,
			[]string{"A", "B", "C"}, []geelark.Status{U, F, U}, []int{0, 43005, 0}, false},
		{"no amounts stay unknown", `{"code":0,"data":{}}`, []string{"A"}, []geelark.Status{U}, []int{0}, false},
		{"an empty successDetails names none", `{"code":0,"data":{"successAmount":1,"successDetails":[]}}`,
			[]string{"A"}, []geelark.Status{U}, []int{0}, false},
		{"40009 with details", `{"code":40009,"data":{"failAmount":2,"failDetails":[{"code":43005,"id":"A"},{"code":43005,"id":"B"}]}}`,
			[]string{"A", "B"}, []geelark.Status{F, F}, []int{43005, 43005}, false},
		{"call-level code", `{"code":40004,"msg":"bad ids"}`, []string{"A"}, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := geelark.ParseStopReply([]byte(tt.body), tt.ids)
			if tt.wantErr {
				var ae *geelark.APIError
				if !errors.As(err, &ae) || res != nil {
					t.Fatalf("got %+v, %v; want an *APIError", res, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, o := range res.Outcomes {
				if o.ID != tt.ids[i] || o.Status != tt.want[i] || o.Code != tt.codes[i] {
					t.Errorf("Outcomes[%d] = %+v, want %s with code %d", i, o, tt.want[i], tt.codes[i])
				}
			}
		})
	}
}
