package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"
)

// TypeWebhook is the asynq task type of a webhook delivery. It never
// changes once shipped.
const TypeWebhook = "webhook:deliver"

// Webhook events: the Phonestart-Event header, and Webhook.Event.
const (
	EventRequestEnded = "request.ended" // body: the request's enqueue.Outcome
	EventPhoneEnded   = "phone.ended"   // body: a PhoneEnded
)

// Webhook headers.
const (
	HeaderEvent     = "Phonestart-Event"
	HeaderDelivery  = "Phonestart-Delivery"
	HeaderTimestamp = "Phonestart-Timestamp"
	HeaderSignature = "Phonestart-Signature"
)

// Webhook is the payload of a TypeWebhook task: where to POST what. The
// body is made once, when the outbox entry is relayed, so that every
// attempt sends the same bytes.
type Webhook struct {
	URL     string          `json:"url"`
	Event   string          `json:"event"`
	Request string          `json:"request"`
	Phone   string          `json:"phone,omitempty"`
	Body    json.RawMessage `json:"body"`
}

// PhoneEnded is the body of a phone.ended webhook: how one phone of a
// request with notify_each ended.
type PhoneEnded struct {
	Request string    `json:"request"`
	Label   string    `json:"label,omitempty"`
	ID      string    `json:"id"`
	State   string    `json:"state"` // ready, dead, cancelled or stopped
	Action  string    `json:"action"`
	Code    int       `json:"code"`
	Reason  string    `json:"reason,omitempty"`
	Msg     string    `json:"msg,omitempty"`
	URL     string    `json:"url,omitempty"`
	At      time.Time `json:"at"`
}

// Sign returns the Phonestart-Signature of body sent at timestamp (Unix
// seconds, as in Phonestart-Timestamp): "v1=" and the hex HMAC-SHA256, keyed
// with the secret, of the timestamp, a '.', and the body.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a webhook as a receiver should: the signature matches (in
// constant time) and the timestamp is within tolerance of now, so that a
// captured webhook cannot be replayed later.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook: bad timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook: timestamp %v off", d.Round(time.Second))
	}
	if !hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature)) {
		return errors.New("webhook: signature does not match")
	}
	return nil
}

// deliverer POSTs webhooks: asynq's handler of TypeWebhook.
type deliverer struct {
	secret  []byte
	client  *http.Client
	now     func() time.Time
	timeout time.Duration
}

var _ asynq.Handler = (*deliverer)(nil)

// errGone ends the retries of a webhook whose receiver answered 410 Gone.
var errGone = errors.New("the receiver answered 410 Gone")

// ProcessTask POSTs the webhook, signed now. A 2xx answer delivers it; any
// other answer, or none, is an error asynq retries, but 410 Gone, which
// archives it at once.
func (d *deliverer) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var w Webhook
	if err := json.Unmarshal(t.Payload(), &w); err != nil || w.URL == "" || len(w.Body) == 0 {
		return fmt.Errorf("webhook: bad payload: %v: %w", err, asynq.SkipRetry)
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(w.Body))
	if err != nil {
		return fmt.Errorf("webhook: %v: %w", err, asynq.SkipRetry)
	}
	ts := strconv.FormatInt(d.now().Unix(), 10)
	id, _ := asynq.GetTaskID(ctx)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "phonestart-webhook/1")
	req.Header.Set(HeaderEvent, w.Event)
	req.Header.Set(HeaderDelivery, id)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(d.secret, ts, w.Body))
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is logged apart, without its query
		}
		return fmt.Errorf("webhook: POST %s: %w", safeURL(w.URL), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusGone:
		return fmt.Errorf("webhook: POST %s: %w: %w", safeURL(w.URL), errGone, asynq.SkipRetry)
	}
	return fmt.Errorf("webhook: POST %s: HTTP %d", safeURL(w.URL), resp.StatusCode)
}

// safeURL is u without its query, fragment or user info: those may hold a
// receiver's secret, and it goes to logs.
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparseable URL)"
	}
	return (&url.URL{Scheme: p.Scheme, Host: p.Host, Path: p.Path}).String()
}

// webhookErrors logs each failed delivery: a warning while attempts are
// left, an error when the webhook is archived.
func webhookErrors(log *zap.Logger) asynq.ErrorHandlerFunc {
	return func(ctx context.Context, t *asynq.Task, err error) {
		var w Webhook
		_ = json.Unmarshal(t.Payload(), &w)
		n, _ := asynq.GetRetryCount(ctx)
		maxRetry, _ := asynq.GetMaxRetry(ctx)
		id, _ := asynq.GetTaskID(ctx)
		fields := []zap.Field{zap.String("delivery", id), zap.String("event", w.Event), zap.String("request", w.Request),
			zap.String("url", safeURL(w.URL)), zap.Int("attempt", n+1), zap.Int("attempts", maxRetry+1), zap.Error(err)}
		if n >= maxRetry || errors.Is(err, asynq.SkipRetry) {
			log.Error("webhook archived: no more attempts (see the asynq archive of its queue)", fields...)
			return
		}
		log.Warn("webhook failed: it is tried again", fields...)
	}
}

// noRedirects keeps a webhook where its notify_url says.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
