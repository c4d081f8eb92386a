package geelarktest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/phonestart/phonestart/geelark"
)

// callbackTimeout bounds one callback POST.
const callbackTimeout = 5 * time.Second

// CallbackUser and CallbackIP are the username and ip of the events the fake
// sends.
const (
	CallbackUser = "fake@geelark.test"
	CallbackIP   = "127.0.0.1"
)

// SentCallback is one callback the fake POSTed.
type SentCallback struct {
	URL        string
	Event      geelark.CallbackEvent
	StatusCode int    // the receiver's HTTP status; 0 when no reply came
	Err        string // why the POST failed; "" when a reply came
}

// CallbackURL returns the URL the last accepted callback/set call set, or "".
func (f *Fake) CallbackURL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.callbackURL
}

// SentCallbacks returns a copy of every callback sent so far, in order.
func (f *Fake) SentCallbacks() []SentCallback {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// CallbackBody returns ev as the JSON body GeeLark POSTs: type, id, result,
// username, ip and eventTime in Unix seconds (and useMin for a stop event).
func CallbackBody(ev geelark.CallbackEvent) []byte {
	b := map[string]any{"type": ev.Type, "id": ev.ID, "result": ev.Result,
		"username": ev.Username, "ip": ev.IP, "eventTime": ev.EventTime.Unix()}
	if ev.Type == geelark.CallbackStop {
		b["useMin"] = ev.UseMin
		delete(b, "result")
	}
	raw, err := json.Marshal(b)
	if err != nil {
		panic(err) // strings, ints and a bool
	}
	return raw
}

// SignCallback sets on h the headers GeeLark signs a callback with, as of
// ts, for appID and apiKey: Content-Type, a fresh traceId, appId, ts, nonce
// and sign. Tests forge bad callbacks by signing with the wrong key, app ID
// or time, or by deleting a header afterwards.
func SignCallback(h http.Header, appID, apiKey string, ts time.Time) {
	traceID := uuid.NewString()
	stamp, nonce := geelark.Timestamp(ts), geelark.Nonce(traceID)
	h.Set("Content-Type", "application/json")
	h.Set("traceId", traceID)
	h.Set("appId", appID)
	h.Set("ts", stamp)
	h.Set("nonce", nonce)
	h.Set("sign", geelark.Sign(appID, traceID, stamp, nonce, apiKey))
}

// SendCallback POSTs ev to url now, signed with the fake's key-mode
// credentials at Config.Now, and records it in SentCallbacks. It returns an
// error when the POST fails or the receiver answers other than 2xx. It
// works whether Config.Callbacks is on or not.
func (f *Fake) SendCallback(ctx context.Context, url string, ev geelark.CallbackEvent) error {
	f.mu.Lock()
	appID, apiKey, now := f.cfg.AppID, f.cfg.APIKey, f.cfg.Now()
	f.mu.Unlock()
	sent := SentCallback{URL: url, Event: ev}
	err := f.post(ctx, url, ev, appID, apiKey, now, &sent.StatusCode)
	if err != nil && sent.StatusCode == 0 {
		sent.Err = err.Error()
	}
	f.mu.Lock()
	f.sent = append(f.sent, sent)
	f.mu.Unlock()
	return err
}

// post sends one signed callback and stores the reply's status in status.
func (f *Fake) post(ctx context.Context, url string, ev geelark.CallbackEvent, appID, apiKey string, ts time.Time, status *int) error {
	ctx, cancel := context.WithTimeout(ctx, callbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(CallbackBody(ev)))
	if err != nil {
		return fmt.Errorf("geelarktest: callback to %s: %w", url, err)
	}
	SignCallback(req.Header, appID, apiKey, ts)
	resp, err := f.hc.Do(req)
	if err != nil {
		return fmt.Errorf("geelarktest: callback: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	*status = resp.StatusCode
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("geelarktest: callback to %s answered HTTP %d", url, resp.StatusCode)
	}
	return nil
}

// DeliverCallbacks sends the start events that are due by Config.Now to the
// callback URL, one POST each, oldest first, and returns how many it sent
// and the errors of those that failed. An event is due when a started phone
// finished booting (result true) or fell back to shut down (result false);
// its eventTime is that moment. Each event is taken once, even when its POST
// fails; events due while no URL is set are dropped, as they would be by
// GeeLark. It does nothing unless Config.Callbacks is on.
func (f *Fake) DeliverCallbacks(ctx context.Context) (int, error) {
	f.mu.Lock()
	if !f.cfg.Callbacks {
		f.mu.Unlock()
		return 0, nil
	}
	now, url := f.cfg.Now(), f.callbackURL
	var due []geelark.CallbackEvent
	for id := range f.pending {
		p := f.power[id]
		end := p.since.Add(p.boot.Time)
		if now.Before(end) {
			continue
		}
		p.notified = true
		delete(f.pending, id)
		due = append(due, geelark.CallbackEvent{Type: geelark.CallbackStart, ID: id, Result: !p.boot.FallBack,
			EventTime: end.Truncate(time.Second), Username: CallbackUser, IP: CallbackIP})
	}
	f.mu.Unlock()
	if url == "" {
		return 0, nil
	}
	slices.SortFunc(due, func(a, b geelark.CallbackEvent) int {
		return cmp.Or(a.EventTime.Compare(b.EventTime), cmp.Compare(a.ID, b.ID))
	})
	var errs []error
	for _, ev := range due {
		if err := f.SendCallback(ctx, url, ev); err != nil {
			errs = append(errs, err)
		}
	}
	return len(due), errors.Join(errs...)
}

// callbackLoop calls DeliverCallbacks every Config.CallbackEvery until
// Close.
func (f *Fake) callbackLoop() {
	defer f.loop.Done()
	t := time.NewTicker(f.cfg.CallbackEvery)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			f.deliverUntilClosed()
		}
	}
}

// deliverUntilClosed runs DeliverCallbacks, cut short by Close.
func (f *Fake) deliverUntilClosed() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = f.DeliverCallbacks(ctx) // failures are in SentCallbacks
	}()
	select {
	case <-done:
	case <-f.stop:
		cancel()
		<-done
	}
}
