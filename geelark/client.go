package geelark

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// DefaultBaseURL is GeeLark's international API host. The .cn twin is
// https://openapi.geelark.cn.
const DefaultBaseURL = "https://openapi.geelark.com"

// Default timeouts of the HTTP client NewClient builds when Config.HTTPClient
// is nil.
const (
	DefaultDialTimeout = 5 * time.Second
	DefaultCallTimeout = 30 * time.Second // the whole call, body included
)

// maxBody caps how much of a reply is read. A full 200-phone reply is about
// 30 KiB.
const maxBody = 4 << 20

// StartPath is the start endpoint's path.
const StartPath = "/open/v1/phone/start"

// Config configures a Client. Exactly one of (AppID and APIKey) or Token
// must be set.
type Config struct {
	// BaseURL is the API's scheme and host. Default DefaultBaseURL.
	BaseURL string
	// AppID and APIKey select key mode: every request is signed.
	AppID  string
	APIKey string
	// Token selects token mode: requests carry "Authorization: Bearer".
	Token string
	// HTTPClient sends the requests. Default: a client with the Default*
	// timeouts above. A caller-supplied client keeps its own timeouts;
	// CallTimeout still bounds each call.
	HTTPClient *http.Client
	// CallTimeout bounds one whole call. Default DefaultCallTimeout.
	CallTimeout time.Duration
	// Now returns the current time for the ts header. Default time.Now.
	Now func() time.Time
}

// Client calls the GeeLark Open API. It is safe for simultaneous use by
// multiple goroutines.
type Client struct {
	base        string
	appID       string
	apiKey      string
	token       string
	http        *http.Client
	callTimeout time.Duration
	now         func() time.Time
}

// ConfigError is a Config that NewClient refuses. Field names the Config
// field to fix ("Credentials" when none is set); the message never carries
// a secret.
type ConfigError struct {
	Field string
	Msg   string
}

func (e *ConfigError) Error() string { return "geelark: config: " + e.Msg }

// NewClient checks cfg and returns a Client. Its errors are *ConfigError.
func NewClient(cfg Config) (*Client, error) {
	keyMode := cfg.AppID != "" || cfg.APIKey != ""
	switch {
	case keyMode && cfg.Token != "":
		return nil, &ConfigError{Field: "Token", Msg: "set either AppID and APIKey or Token, not both"}
	case keyMode && cfg.AppID == "":
		return nil, &ConfigError{Field: "AppID", Msg: "key mode needs both AppID and APIKey"}
	case keyMode && cfg.APIKey == "":
		return nil, &ConfigError{Field: "APIKey", Msg: "key mode needs both AppID and APIKey"}
	case !keyMode && cfg.Token == "":
		return nil, &ConfigError{Field: "Credentials", Msg: "no credentials: set AppID and APIKey, or Token"}
	}
	base := strings.TrimRight(cmp.Or(cfg.BaseURL, DefaultBaseURL), "/")
	u, err := url.Parse(base)
	if err == nil && u.User != nil {
		return nil, &ConfigError{Field: "BaseURL", Msg: "BaseURL must not carry user info"}
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &ConfigError{Field: "BaseURL", Msg: fmt.Sprintf("BaseURL %q is not an http(s) URL with a host", redactURL(base))}
	}
	if cfg.CallTimeout < 0 {
		return nil, &ConfigError{Field: "CallTimeout", Msg: fmt.Sprintf("CallTimeout %v is negative", cfg.CallTimeout)}
	}
	callTimeout := cmp.Or(cfg.CallTimeout, DefaultCallTimeout)
	hc := cfg.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient(callTimeout)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Client{
		base:        base,
		appID:       cfg.AppID,
		apiKey:      cfg.APIKey,
		token:       cfg.Token,
		http:        hc,
		callTimeout: callTimeout,
		now:         now,
	}, nil
}

func defaultHTTPClient(callTimeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = callTimeout
	tr.TLSHandshakeTimeout = DefaultDialTimeout
	tr.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: tr, Timeout: callTimeout}
}

// AuthMode reports "key" or "token".
func (c *Client) AuthMode() string {
	if c.token != "" {
		return "token"
	}
	return "key"
}

// BaseURL returns the base URL calls go to.
func (c *Client) BaseURL() string { return c.base }

// Status is the outcome of one phone in a start or a stop call.
type Status int

const (
	// StatusUnknown: the reply named the phone in neither list. It may have
	// started.
	StatusUnknown Status = iota
	// StatusStarted: GeeLark accepted the start.
	StatusStarted
	// StatusFailed: GeeLark refused the start (or the stop) with Code.
	StatusFailed
	// StatusStopped: GeeLark accepted the stop (StopPhones only).
	StatusStopped
)

func (s Status) String() string {
	switch s {
	case StatusStarted:
		return "started"
	case StatusFailed:
		return "failed"
	case StatusStopped:
		return "stopped"
	}
	return "unknown"
}

// Outcome is what happened to one requested phone of a start or a stop
// call.
type Outcome struct {
	ID             string
	Status         Status
	URL            string // when started
	ChargingMethod string // when started: "Per-minute usage", "Monthly rental" or "Parallels"
	Code           int    // when failed
	Msg            string // when failed
}

// StartResult is the reply to a start call.
type StartResult struct {
	TraceID  string
	Outcomes []Outcome // one per requested ID, in request order
}

// startRequest is the wire body of a start call.
type startRequest struct {
	IDs          []string `json:"ids"`
	HideSideBar  bool     `json:"hideSideBar,omitempty"`
	DisplayTimer bool     `json:"displayTimer,omitempty"`
	Width        int      `json:"width,omitempty"`
	Center       *int     `json:"center,omitempty"`
	HideLibrary  bool     `json:"hideLibrary,omitempty"`
	HideMirror   bool     `json:"hideMirror,omitempty"`
}

// StartPhones asks GeeLark to start ids (1..MaxStartIDs distinct valid IDs)
// with opts. Invalid input returns an error wrapping ErrInvalidRequest before
// any request is made.
//
// On a reply with code 0 (or a batch summary code with details) it returns
// one Outcome per ID and a nil error. Otherwise the error is an *APIError or
// a *TransportError, and the StartResult, when not nil, carries the traceId.
func (c *Client) StartPhones(ctx context.Context, ids []string, opts StartOptions) (*StartResult, error) {
	if err := validateStart(ids, opts); err != nil {
		return nil, err
	}
	req := startRequest{
		IDs: ids, HideSideBar: opts.HideSideBar, DisplayTimer: opts.DisplayTimer, Width: opts.Width,
		Center: opts.Center, HideLibrary: opts.HideLibrary, HideMirror: opts.HideMirror,
	}
	var res *StartResult
	traceID, err := c.call(ctx, "start", StartPath, req, func(raw []byte) (err error) {
		res, err = ParseStartReply(raw, ids)
		return err
	})
	if err != nil {
		return &StartResult{TraceID: traceID}, err
	}
	if res.TraceID == "" {
		res.TraceID = traceID
	}
	return res, nil
}

// call is the one path of every endpoint: it encodes req, signs and sends it
// to path, and hands the reply body to parse. It returns the traceId sent.
// Every *APIError and *TransportError it returns carries a traceId: the
// reply's when it has one, else the one sent, which still finds the call in
// GeeLark's logs.
func (c *Client) call(ctx context.Context, op, path string, req any, parse func(raw []byte) error) (traceID string, err error) {
	body, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("geelark: %s: encode: %w", op, err)
	}
	traceID, raw, ctype, err := c.post(ctx, path, body)
	if err != nil {
		return traceID, err
	}
	if err := parse(raw); err != nil {
		var te *TransportError
		if errors.As(err, &te) {
			te.TraceID = traceID
		}
		var fe *ForeignReplyError
		if errors.As(err, &fe) {
			fe.StatusCode, fe.ContentType = http.StatusOK, ctype
		}
		var ae *APIError
		if errors.As(err, &ae) && ae.TraceID == "" {
			ae.TraceID = traceID
		}
		return traceID, err
	}
	return traceID, nil
}

// post signs and sends one request and returns the traceId sent, and the
// body and content type of a 200 reply.
func (c *Client) post(ctx context.Context, path string, body []byte) (traceID string, raw []byte, ctype string, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	traceID = uuid.NewString()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return traceID, nil, "", fmt.Errorf("geelark: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceId", traceID)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	} else {
		// Signed last, right before sending.
		ts := Timestamp(c.now())
		nonce := Nonce(traceID)
		req.Header.Set("appId", c.appID)
		req.Header.Set("ts", ts)
		req.Header.Set("nonce", nonce)
		req.Header.Set("sign", Sign(c.appID, traceID, ts, nonce, c.apiKey))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return traceID, nil, "", &TransportError{Op: "send", TraceID: traceID, Err: sendError(req.URL.Host, scrub(err))}
	}
	defer resp.Body.Close()
	raw, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	ctype = resp.Header.Get("Content-Type")
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed ||
		resp.StatusCode == http.StatusNotImplemented:
		// GeeLark serves every path phonestart calls, by POST: a 404 comes
		// from another server, or from a base URL with a path of its own;
		// a 405 or 501 from a server that takes no POST there (a web or
		// file server).
		return traceID, nil, ctype, &TransportError{Op: "status", StatusCode: resp.StatusCode, TraceID: traceID,
			Err: &ForeignReplyError{StatusCode: resp.StatusCode, ContentType: ctype}}
	case resp.StatusCode != http.StatusOK:
		return traceID, nil, ctype, &TransportError{Op: "status", StatusCode: resp.StatusCode, TraceID: traceID}
	case err != nil:
		return traceID, nil, ctype, &TransportError{Op: "read", TraceID: traceID, Err: scrub(err)}
	}
	return traceID, raw, ctype, nil
}

// redactURL hides whatever sits between "//" and "@", in case a malformed
// URL carries credentials that url.Parse could not separate.
func redactURL(s string) string {
	if i := strings.Index(s, "//"); i >= 0 {
		if j := strings.LastIndex(s[i+2:], "@"); j >= 0 {
			return s[:i+2] + "****@" + s[i+2+j+1:]
		}
	}
	return s
}

// scrub keeps the cause of an HTTP error but drops the URL wrapper, so error
// strings stay short; no credential is ever in the URL or the cause.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
