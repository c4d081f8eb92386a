package geelark

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// CallbackSetPath is the path of the endpoint that registers the webhook URL.
const CallbackSetPath = "/open/v1/callback/set"

// MaxCallbackAge is how far a callback's ts header may lie from the
// receiver's clock, in either direction, before VerifyCallback refuses it.
// GeeLark documents no tolerance; five minutes bounds how long a captured
// callback can be replayed.
const MaxCallbackAge = 5 * time.Minute

// Callback event types phonestart reads (GeeLark's "Callback Type" table).
const (
	// CallbackStart is a phone's start (boot) event: Result says whether
	// it booted.
	CallbackStart = 1
	// CallbackStop is a phone's stop event.
	CallbackStop = 8
)

// SetCallback registers rawURL as the account's webhook: GeeLark POSTs its
// events there (see CallbackEvent and VerifyCallback). It replaces any URL
// set before. rawURL must be an absolute http(s) URL with a host and no user
// info; anything else returns an error wrapping ErrInvalidRequest before any
// request is made. Other errors are an *APIError or a *TransportError.
func (c *Client) SetCallback(ctx context.Context, rawURL string) error {
	if err := ValidateCallbackURL(rawURL); err != nil {
		return fmt.Errorf("geelark: callback set: %w: %w", ErrInvalidRequest, err)
	}
	req := struct {
		URL string `json:"url"`
	}{rawURL}
	_, err := c.call(ctx, "callback set", CallbackSetPath, req, parseAck)
	return err
}

// ValidateCallbackURL reports why rawURL cannot be a webhook URL: not an
// absolute http or https URL with a host, or carrying user info (which
// would put a secret where GeeLark and every log shows it).
func ValidateCallbackURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		return fmt.Errorf("callback URL %q does not parse", redactURL(rawURL))
	case u.User != nil:
		return errors.New("callback URL must not carry user info")
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return fmt.Errorf("callback URL %q is not an http(s) URL with a host", rawURL)
	}
	return nil
}

// parseAck reads a reply that carries no data: code 0 or an *APIError.
func parseAck(body []byte) error {
	r, err := decodeReply[json.RawMessage](body)
	if err != nil {
		return err
	}
	if *r.Code != 0 {
		return &APIError{Code: *r.Code, Msg: r.Msg, TraceID: r.TraceID}
	}
	return nil
}

// CallbackEvent is one event GeeLark POSTs to the webhook URL. Fields an
// event type does not carry are zero.
type CallbackEvent struct {
	// Type is the event type: CallbackStart, CallbackStop, or one of
	// GeeLark's others (task, file, screenshot events), which phonestart
	// does not read.
	Type int
	// ID is the cloud phone's ID.
	ID string
	// Result is the outcome: for a start event, true when the phone booted.
	Result bool
	// EventTime is when the event happened, to the second.
	EventTime time.Time
	// Username and IP are the GeeLark user and address that caused it.
	Username string
	IP       string
	// UseMin is a stop event's usage in minutes.
	UseMin int
}

// callbackBody is the wire form of a CallbackEvent.
type callbackBody struct {
	Type      *int   `json:"type"`
	ID        flexID `json:"id"`
	Result    *bool  `json:"result"`
	EventTime int64  `json:"eventTime"`
	Username  string `json:"username"`
	IP        string `json:"ip"`
	UseMin    int    `json:"useMin"`
}

// maxCallbackBody caps the callback body ParseCallbackEvent reads; an event
// is well under 1 KiB.
const maxCallbackBody = 64 << 10

// ParseCallbackEvent decodes the body of a callback. It returns a
// *CallbackError with Check CheckBody when the body is not a JSON object
// with a type, when a start event has no id or no result, or when the body
// is larger than 64 KiB. It does not check who sent it: call VerifyCallback
// on the headers first.
func ParseCallbackEvent(body []byte) (CallbackEvent, error) {
	bad := func(format string, args ...any) (CallbackEvent, error) {
		return CallbackEvent{}, &CallbackError{Check: CheckBody, Err: fmt.Errorf(format, args...)}
	}
	if len(body) > maxCallbackBody {
		return bad("body of %d bytes, more than %d", len(body), maxCallbackBody)
	}
	var b callbackBody
	if err := json.Unmarshal(body, &b); err != nil {
		return bad("body is not a JSON event: %v", err)
	}
	if b.Type == nil {
		return bad("event has no type")
	}
	ev := CallbackEvent{Type: *b.Type, ID: string(b.ID), Username: b.Username, IP: b.IP, UseMin: b.UseMin}
	if b.Result != nil {
		ev.Result = *b.Result
	}
	if b.EventTime != 0 {
		ev.EventTime = time.Unix(b.EventTime, 0).UTC()
	}
	if ev.Type == CallbackStart {
		switch {
		case ev.ID == "":
			return bad("start event has no id")
		case b.Result == nil:
			return bad("start event %q has no result", ev.ID)
		}
	}
	return ev, nil
}

// CallbackCheck names the check a callback failed.
type CallbackCheck int

const (
	// CheckHeader: a signature header (appId, traceId, ts, nonce, sign) is
	// missing. Header names it.
	CheckHeader CallbackCheck = iota + 1
	// CheckTokenMode: the callback came in token mode (a bearer token, no
	// signature). Its age cannot be checked, so it is refused.
	CheckTokenMode
	// CheckAppID: the appId header is not the account's.
	CheckAppID
	// CheckTimestamp: the ts header is not Unix milliseconds.
	CheckTimestamp
	// CheckTooOld: ts is more than MaxCallbackAge before now.
	CheckTooOld
	// CheckTooNew: ts is more than MaxCallbackAge after now.
	CheckTooNew
	// CheckSignature: the sign header does not match.
	CheckSignature
	// CheckBody: the body is not a callback event (ParseCallbackEvent).
	CheckBody
)

var callbackCheckNames = map[CallbackCheck]string{
	CheckHeader:    "missing header",
	CheckTokenMode: "token mode",
	CheckAppID:     "wrong appId",
	CheckTimestamp: "bad ts",
	CheckTooOld:    "too old",
	CheckTooNew:    "too new",
	CheckSignature: "bad signature",
	CheckBody:      "bad body",
}

func (c CallbackCheck) String() string {
	if s, ok := callbackCheckNames[c]; ok {
		return s
	}
	return fmt.Sprintf("CallbackCheck(%d)", int(c))
}

// CallbackError says why a callback was refused. It never carries the API
// key, nor the sign header received.
type CallbackError struct {
	Check  CallbackCheck
	Header string        // for CheckHeader: the missing header
	Skew   time.Duration // for CheckTooOld and CheckTooNew: now - ts
	Err    error         // for CheckBody: what is wrong with it
}

func (e *CallbackError) Error() string {
	msg := "geelark: callback refused: " + e.Check.String()
	switch {
	case e.Header != "":
		msg += " " + e.Header
	case e.Check == CheckTooOld:
		msg += fmt.Sprintf(": signed %v ago, more than %v", e.Skew.Round(time.Second), MaxCallbackAge)
	case e.Check == CheckTooNew:
		msg += fmt.Sprintf(": signed %v ahead, more than %v", (-e.Skew).Round(time.Second), MaxCallbackAge)
	case e.Check == CheckTokenMode:
		msg += ": phonestart accepts only signed (key-mode) callbacks"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *CallbackError) Unwrap() error { return e.Err }

// VerifyCallback checks the headers of a callback GeeLark POSTed, at now.
// GeeLark signs its callbacks as a client signs its requests in key mode:
// appId, traceId, ts (Unix milliseconds), nonce and sign, the uppercase hex
// SHA-256 of appId + traceId + ts + nonce + apiKey. It returns nil when
// every header is there, appId is appID, ts lies within MaxCallbackAge of
// now, and sign matches; otherwise a *CallbackError naming the first check
// that failed, in that order.
//
// Callbacks need key mode: GeeLark can also call a webhook in token mode,
// with a bearer token and no timestamp, which cannot be told from a replay;
// VerifyCallback refuses those (CheckTokenMode). A verified callback can
// still be replayed within MaxCallbackAge; a receiver that must not act
// twice remembers the traceIds it accepted for that long.
func VerifyCallback(h http.Header, appID, apiKey string, now time.Time) error {
	for _, name := range []string{"appId", "traceId", "ts", "nonce", "sign"} {
		if h.Get(name) != "" {
			continue
		}
		if name == "appId" && h.Get("Authorization") != "" {
			return &CallbackError{Check: CheckTokenMode}
		}
		return &CallbackError{Check: CheckHeader, Header: name}
	}
	gotApp, traceID, ts, nonce, sign := h.Get("appId"), h.Get("traceId"), h.Get("ts"), h.Get("nonce"), h.Get("sign")
	if subtle.ConstantTimeCompare([]byte(gotApp), []byte(appID)) != 1 {
		return &CallbackError{Check: CheckAppID}
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return &CallbackError{Check: CheckTimestamp}
	}
	skew := now.Sub(time.UnixMilli(ms))
	switch {
	case skew > MaxCallbackAge:
		return &CallbackError{Check: CheckTooOld, Skew: skew}
	case skew < -MaxCallbackAge:
		return &CallbackError{Check: CheckTooNew, Skew: skew}
	}
	// GeeLark documents uppercase hex; a lowercase sign is the same digest.
	want := Sign(gotApp, traceID, ts, nonce, apiKey)
	if subtle.ConstantTimeCompare([]byte(strings.ToUpper(sign)), []byte(want)) != 1 {
		return &CallbackError{Check: CheckSignature}
	}
	return nil
}
