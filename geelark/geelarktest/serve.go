package geelarktest

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/phonestart/phonestart/geelark"
)

// codeInternal is what FaultCode answers when its Code is 0.
const codeInternal = 50000

// ServeHTTP answers a call to one of the fake's endpoints.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var read func(io.Reader) request
	switch r.URL.Path {
	case geelark.StartPath:
		read = readRequest
	case geelark.StatusPath:
		read = readIDsRequest(geelark.MaxStatusIDs)
	case geelark.StopPath:
		read = readIDsRequest(geelark.MaxStopIDs)
	case geelark.ListPath:
		read = readListRequest
	case geelark.CallbackSetPath:
		read = readCallbackRequest
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a := f.handle(r.URL.Path, r.Header, read(r.Body))
	if !f.wait(r.Context(), r.URL.Path) {
		return // the client is gone: there is no one to answer
	}
	a.write(w)
}

// answer is what the fake decided to answer to one call.
type answer struct {
	fault FaultKind
	env   envelope
}

// handle runs one call to path through authentication, validation, the
// rate budget, its fault and its phones, and records it.
func (f *Fake) handle(path string, h http.Header, req request) answer {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.cfg.Now()
	c := Call{N: len(f.calls) + 1, Time: now, Path: path, TraceID: h.Get("traceId"),
		IDs: req.ids, Options: req.opts, Page: req.page, PageSize: req.pageSize, Filter: req.filter, URL: req.url}
	a := answer{env: envelope{TraceID: c.TraceID}}
	mode, code := f.authenticate(h, now)
	c.Auth = mode
	if code == 0 {
		code = req.code
	}
	if code == 0 {
		code = f.spend(path, now)
	}
	if code == 0 && path == geelark.StartPath {
		code = f.poisoned(&c, req.ids)
	}
	if code == 0 {
		fault := f.nextFault(c.N)
		a.fault, c.Fault = fault.Kind, fault.Kind
		switch fault.Kind {
		case Fault500:
			// Answered without processing a phone.
		case FaultCode:
			code = cmp.Or(fault.Code, codeInternal)
			a.env.Msg = message(code, fault.Msg)
		default:
			omit := fault.Kind == FaultOmit
			switch path {
			case geelark.ListPath:
				a.env.Data = f.listPhones(&c, req)
			case geelark.StatusPath:
				a.env.Data = f.statusPhones(&c, req.ids, omit)
			case geelark.StopPath:
				a.env.Data = f.stopPhones(&c, req.ids, omit)
			case geelark.CallbackSetPath:
				f.callbackURL, c.URL = req.url, req.url
			default:
				a.env.Data = f.startPhones(&c, req.ids, omit)
			}
		}
	}
	c.Code, a.env.Code = code, code
	if a.env.Msg == "" {
		a.env.Msg = message(code, "")
	}
	f.calls = append(f.calls, c)
	return a
}

// startPhones decides the outcome of each phone of an accepted call, records
// it in c and returns the reply's data. f.mu must be held.
func (f *Fake) startPhones(c *Call, ids []string, omit bool) *startData {
	d := &startData{TotalAmount: len(ids), SuccessDetails: []successDetail{}, FailDetails: []failDetail{}}
	for _, id := range ids {
		f.attempts[id]++
		r := f.outcome(id, f.attempts[id])
		if r.Code != 0 {
			d.FailDetails = append(d.FailDetails, failDetail{Code: r.Code, ID: id, Msg: message(r.Code, r.Msg)})
			if c.Failed == nil {
				c.Failed = make(map[string]int)
			}
			c.Failed[id] = r.Code
			continue
		}
		f.starts[id]++
		f.accept(id, c.Time)
		if omit && c.Omitted == "" {
			c.Omitted = id
			continue
		}
		d.SuccessDetails = append(d.SuccessDetails, successDetail{ID: id, URL: PhoneURL(id), ChargingMethod: ChargingMethod})
		c.Started = append(c.Started, id)
	}
	d.SuccessAmount, d.FailAmount = len(d.SuccessDetails), len(d.FailDetails)
	return d
}

// poisoned returns the code of the first poisoned ID among ids, recording
// it in c, or 0. f.mu must be held.
func (f *Fake) poisoned(c *Call, ids []string) int {
	for _, id := range ids {
		if code, ok := f.poison[id]; ok {
			c.Poisoned = id
			return code
		}
	}
	return 0
}

// outcome returns the outcome of attempt (from 1) of phone id. f.mu must be
// held.
func (f *Fake) outcome(id string, attempt int) Reply {
	if s, ok := f.scripts[id]; ok {
		if s.Code != 0 && (s.Times == 0 || attempt <= s.Times) {
			return Reply{Code: s.Code, Msg: s.Msg}
		}
		return Reply{}
	}
	if f.cfg.Default != nil {
		return f.cfg.Default(id, attempt)
	}
	return Reply{}
}

// wait waits out Config.Latency. It reports false when ctx ends first, and
// aborts the connection when the Server is closed meanwhile.
func (f *Fake) wait(ctx context.Context, path string) bool {
	d := f.cfg.Latency
	if f.cfg.StartLatency > 0 && path == geelark.StartPath {
		d = f.cfg.StartLatency
	}
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-f.stop:
		panic(http.ErrAbortHandler)
	}
}

// write sends the answer, mangled by its fault.
func (a answer) write(w http.ResponseWriter) {
	switch a.fault {
	case Fault500:
		w.WriteHeader(http.StatusInternalServerError)
		return
	case FaultDrop:
		drop(w)
		return
	}
	body, err := json.Marshal(a.env)
	if err != nil {
		panic(err) // the envelope holds only strings and ints
	}
	if a.fault == FaultTruncated {
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body) // a client that left cannot be answered
}

// drop closes the connection without a reply.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http closes the connection or resets the stream
}
