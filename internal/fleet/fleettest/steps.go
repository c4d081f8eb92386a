// Package fleettest takes phones through the record transitions a worker
// makes (claim a call, settle it), for the tests of the packages that read
// the records without running a worker.
package fleettest

import (
	"context"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
)

// ReadyURL prefixes the URL of a phone the steps settle started.
const ReadyURL = "https://fake.geelark.test/phone/"

// chunk is how many phones one claim or settle script takes.
const chunk = 500

// Steps moves the phones of Store as a worker would, failing T on an error.
type Steps struct {
	T     testing.TB
	Store *fleet.Store
}

// Claim takes ids' current tasks into one call of action and returns its
// token; every phone must be claimed.
func (s Steps) Claim(action string, ids ...string) string {
	s.T.Helper()
	ctx := context.Background()
	token := fleet.NewToken(action)
	for lo := 0; lo < len(ids); lo += chunk {
		ps, err := s.Store.Phones(ctx, ids[lo:min(lo+chunk, len(ids))]...)
		if err != nil {
			s.T.Fatal(err)
		}
		cs := make([]fleet.Claim, len(ps))
		for i, p := range ps {
			cs[i] = fleet.Claim{ID: p.ID, Gen: p.Gen, Task: p.Task}
		}
		got, err := s.Store.ClaimCall(ctx, action, token, cs)
		if err != nil {
			s.T.Fatal(err)
		}
		for _, c := range got {
			if c.Verdict != fleet.ClaimGo {
				s.T.Fatalf("claim of %s for a %s: %s", c.ID, action, c.Verdict)
			}
		}
	}
	return token
}

// Settle writes the word w of the call of token on each of ids (w.URL, when
// set, is prefixed to each phone's ID), and returns what it did.
func (s Steps) Settle(action, token string, w fleet.Settle, ids ...string) []fleet.Settled {
	s.T.Helper()
	ctx := context.Background()
	var out []fleet.Settled
	for lo := 0; lo < len(ids); lo += chunk {
		ps, err := s.Store.Phones(ctx, ids[lo:min(lo+chunk, len(ids))]...)
		if err != nil {
			s.T.Fatal(err)
		}
		ss := make([]fleet.Settle, len(ps))
		for i, p := range ps {
			ss[i] = w
			ss[i].ID, ss[i].Gen = p.ID, p.Gen
			if w.URL != "" {
				ss[i].URL = w.URL + p.ID
			}
		}
		got, err := s.Store.SettleCall(ctx, action, token, 0, ss)
		if err != nil {
			s.T.Fatal(err)
		}
		out = append(out, got...)
	}
	return out
}

// SettleOK is Settle, and every phone must have moved as asked.
func (s Steps) SettleOK(action, token string, w fleet.Settle, ids ...string) {
	s.T.Helper()
	for _, r := range s.Settle(action, token, w, ids...) {
		if r.Outcome != fleet.SettledOK {
			s.T.Fatalf("settle of %s: %s", r.ID, r.Outcome)
		}
	}
}

// Ready starts ids: GeeLark accepts the call, and the phones are usable.
func (s Steps) Ready(ids ...string) {
	s.T.Helper()
	token := s.Claim(fleet.ActionStart, ids...)
	s.SettleOK(fleet.ActionStart, token, fleet.Settle{To: fleet.ToReady, URL: ReadyURL}, ids...)
}

// Boot starts ids: GeeLark accepts the call, and the phones boot.
func (s Steps) Boot(ids ...string) {
	s.T.Helper()
	token := s.Claim(fleet.ActionStart, ids...)
	now := s.Store.Now()
	s.SettleOK(fleet.ActionStart, token, fleet.Settle{To: fleet.ToBooting, URL: ReadyURL, Due: now.Add(time.Minute),
		Deadline: now.Add(5 * time.Minute)}, ids...)
}

// Retry takes ids through a start call that fails with code: they wait for
// their next attempt.
func (s Steps) Retry(code int, ids ...string) {
	s.T.Helper()
	token := s.Claim(fleet.ActionStart, ids...)
	s.SettleOK(fleet.ActionStart, token, fleet.Settle{To: fleet.ToRetry, Code: code, Reason: fleet.ReasonGeeLark,
		Due: s.Store.Now().Add(time.Hour)}, ids...)
}

// Kill takes ids' current intent of action through a call GeeLark answers
// with code: they are dead, each with a dead-list entry.
func (s Steps) Kill(action string, code int, msg string, ids ...string) {
	s.T.Helper()
	token := s.Claim(action, ids...)
	s.SettleOK(action, token, fleet.Settle{To: fleet.ToDead, Code: code, Reason: fleet.ReasonGeeLark, Msg: msg}, ids...)
}

// Stopped takes ids' waiting stops through a call GeeLark accepts.
func (s Steps) Stopped(ids ...string) {
	s.T.Helper()
	token := s.Claim(fleet.ActionStop, ids...)
	s.SettleOK(fleet.ActionStop, token, fleet.Settle{To: fleet.ToStopped}, ids...)
}
