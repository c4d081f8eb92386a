package geelark_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/phonestart/phonestart/geelark"
)

// FuzzParseStartReply feeds ParseStartReply arbitrary bodies and requested
// ID lists (comma-separated). It must never panic, must answer one Outcome
// per requested ID in request order, and must fail only with the two error
// types callers act on.
func FuzzParseStartReply(f *testing.F) {
	f.Add([]byte(docReply), "C,B,A,D")
	f.Fuzz(func(t *testing.T, body []byte, idList string) {
		var ids []string
		if idList != "" {
			ids = strings.Split(idList, ",")
		}
		res, err := geelark.ParseStartReply(body, ids)
		if err != nil {
			var ae *geelark.APIError
			var te *geelark.TransportError
			switch {
			case errors.As(err, &ae):
				if ae.Code == 0 {
					t.Fatalf("APIError with code 0: %v", err)
				}
			case errors.As(err, &te):
			default:
				t.Fatalf("error %v (%T) is neither an *APIError nor a *TransportError", err, err)
			}
			if res != nil {
				t.Fatalf("result %+v returned with error %v", res, err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("a body that is not JSON parsed: %q", body)
		}
		if len(res.Outcomes) != len(ids) {
			t.Fatalf("%d outcomes for %d IDs", len(res.Outcomes), len(ids))
		}
		for i, o := range res.Outcomes {
			if o.ID != ids[i] {
				t.Fatalf("Outcomes[%d].ID = %q, want %q", i, o.ID, ids[i])
			}
			switch o.Status {
			case geelark.StatusUnknown:
				if o != (geelark.Outcome{ID: o.ID}) {
					t.Fatalf("unknown outcome with details: %+v", o)
				}
			case geelark.StatusStarted:
				if o.Code != 0 || o.Msg != "" {
					t.Fatalf("started outcome with a failure: %+v", o)
				}
			case geelark.StatusFailed:
				if o.URL != "" || o.ChargingMethod != "" {
					t.Fatalf("failed outcome with a start: %+v", o)
				}
			default:
				t.Fatalf("outcome with status %d", o.Status)
			}
		}
	})
}

// FuzzParseListReply feeds ParseListReply arbitrary bodies. It must never
// panic, must fail only with the two error types callers act on, and must
// answer a page only for JSON.
func FuzzParseListReply(f *testing.F) {
	f.Add([]byte(docListReply))
	f.Add([]byte(`{"code":0,"data":{"total":1,"items":[{"id":"A","status":null,"group":null}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := geelark.ParseListReply(body)
		if err != nil {
			var ae *geelark.APIError
			var te *geelark.TransportError
			switch {
			case errors.As(err, &ae):
				if ae.Code == 0 {
					t.Fatalf("APIError with code 0: %v", err)
				}
			case errors.As(err, &te):
			default:
				t.Fatalf("error %v (%T) is neither an *APIError nor a *TransportError", err, err)
			}
			if page != nil {
				t.Fatalf("page %+v returned with error %v", page, err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("a body that is not JSON parsed: %q", body)
		}
		if page.Items == nil {
			t.Fatal("a parsed page has nil Items")
		}
	})
}

// FuzzParseStatusReply feeds ParseStatusReply arbitrary bodies and requested
// ID lists (comma-separated). It must never panic, must answer one
// StatusOutcome per requested ID in request order, must never claim a
// state it was not given, and must fail only with the two error types
// callers act on.
func FuzzParseStatusReply(f *testing.F) {
	f.Add([]byte(docStatusReply), "A,B,C,D,E")
	f.Fuzz(func(t *testing.T, body []byte, idList string) {
		var ids []string
		if idList != "" {
			ids = strings.Split(idList, ",")
		}
		res, err := geelark.ParseStatusReply(body, ids)
		if err != nil {
			var ae *geelark.APIError
			var te *geelark.TransportError
			switch {
			case errors.As(err, &ae):
				if ae.Code == 0 {
					t.Fatalf("APIError with code 0: %v", err)
				}
			case errors.As(err, &te):
			default:
				t.Fatalf("error %v (%T) is neither an *APIError nor a *TransportError", err, err)
			}
			if res != nil {
				t.Fatalf("result %+v returned with error %v", res, err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("a body that is not JSON parsed: %q", body)
		}
		if len(res.Outcomes) != len(ids) {
			t.Fatalf("%d outcomes for %d IDs", len(res.Outcomes), len(ids))
		}
		for i, o := range res.Outcomes {
			if o.ID != ids[i] {
				t.Fatalf("Outcomes[%d].ID = %q, want %q", i, o.ID, ids[i])
			}
			switch {
			case !o.Known:
				if o != (geelark.StatusOutcome{ID: o.ID, State: geelark.StateUnknown}) {
					t.Fatalf("unknown outcome with details: %+v", o)
				}
			case o.Code != 0:
				if o.State != geelark.StateUnknown {
					t.Fatalf("failed outcome with a state: %+v", o)
				}
			}
		}
	})
}
