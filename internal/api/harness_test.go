package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/api"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redistest"
)

// secret is the webhook secret of the tests' servers.
const secret = "test-webhook-secret-0123456789"

// harness is one test's API: a Redis, a server over HTTP, tokens of each
// kind, and the OpenAPI document every exchange is checked against.
type harness struct {
	t      testing.TB
	redis  *redistest.Redis
	rdb    *redis.Client
	srv    *api.Server
	ts     *httptest.Server
	enq    *enqueue.Client
	store  *fleet.Store
	tokens map[string]string // by name: admin, starter, stopper, reader, canceller
	file   string
	logs   *observer.ObservedLogs
	clock  *clock
	doc    *openapi3.T
	router routers.Router

	mu   sync.Mutex
	seen map[string]bool // operation IDs whose answers were checked
}

// clock is a settable clock; it starts at the real time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newHarness starts an API; cfg's zero fields take the harness's values.
func newHarness(t testing.TB, cfg api.Config) *harness {
	t.Helper()
	r := redistest.New(t)
	h := &harness{t: t, redis: r, rdb: r.Client(t), tokens: map[string]string{}, seen: map[string]bool{},
		clock: &clock{t: time.Now()}}
	h.file = filepath.Join(t.TempDir(), "tokens.jsonl")
	for name, scopes := range map[string][]string{
		"admin": {api.ScopeAdmin}, "starter": {api.ScopeStart, api.ScopeRead}, "stopper": {api.ScopeStop},
		"reader": {api.ScopeRead}, "canceller": {api.ScopeStart, api.ScopeStop},
	} {
		tok, err := api.NewToken(h.file, name, scopes)
		if err != nil {
			t.Fatal(err)
		}
		h.tokens[name] = tok
	}
	core, logs := observer.New(zapcore.DebugLevel)
	h.logs = logs
	if cfg.Redis == nil {
		cfg.Redis = h.rdb
	}
	if cfg.TokensFile == "" {
		cfg.TokensFile = h.file
	}
	if cfg.WebhookSecret == "" {
		cfg.WebhookSecret = secret
	}
	if cfg.Now == nil {
		cfg.Now = h.clock.Now
	}
	if cfg.Rate == 0 {
		cfg.Rate, cfg.Burst = 1e6, 1e6 // budgets have a test of their own
	}
	cfg.Logger = zap.New(core)
	srv, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	h.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		h.ts.Close()
		srv.Close()
	})
	if h.enq, err = enqueue.New(enqueue.Config{Redis: h.rdb, Namespace: cfg.Namespace}); err != nil {
		t.Fatal(err)
	}
	if h.store, err = fleet.NewStore(h.rdb, fleet.StoreConfig{Space: fleet.MustSpace(cfg.Namespace)}); err != nil {
		t.Fatal(err)
	}
	h.loadDoc()
	return h
}

// loadDoc reads the document the server serves, checks it, and routes the
// test's requests with it.
func (h *harness) loadDoc() {
	h.t.Helper()
	resp, err := http.Get(h.ts.URL + "/v1/openapi.json")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		h.t.Fatalf("GET /v1/openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(b)
	if err != nil {
		h.t.Fatalf("the served OpenAPI document does not load: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		h.t.Fatalf("the served OpenAPI document is not valid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: h.ts.URL}}
	if h.router, err = gorillamux.NewRouter(doc); err != nil {
		h.t.Fatal(err)
	}
	h.doc = doc
}

// exchange is one request and its answer.
type exchange struct {
	Status int
	Header http.Header
	Body   []byte
	// ReqErr is the OpenAPI document's verdict on the request: nil when
	// the document allows it.
	ReqErr error
}

// problem decodes the answer as a problem.
func (e exchange) problem(t testing.TB) api.Problem {
	t.Helper()
	if ct := e.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, e.Body)
	}
	var p api.Problem
	if err := json.Unmarshal(e.Body, &p); err != nil {
		t.Fatalf("problem: %v: %s", err, e.Body)
	}
	if p.Status != e.Status || p.Type == "" || p.Title == "" || p.Detail == "" {
		t.Fatalf("problem %+v does not match its status %d or lacks a member", p, e.Status)
	}
	return p
}

func (e exchange) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(e.Body, v); err != nil {
		t.Fatalf("%v: %s", err, e.Body)
	}
}

// req describes a request: the token (by name; "" for none, or a raw
// "Bearer ..." value in auth), a body (a string is sent as is, anything
// else as JSON) and headers.
type req struct {
	method, path string
	token        string
	auth         string
	body         any
	header       map[string]string
}

// do sends r and checks the answer against the OpenAPI document: an answer
// the document does not describe fails the test. The request's own verdict
// is in ReqErr.
func (h *harness) do(r req) exchange {
	h.t.Helper()
	var body []byte
	switch b := r.body.(type) {
	case nil:
	case string:
		body = []byte(b)
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			h.t.Fatal(err)
		}
	}
	hr, err := http.NewRequest(r.method, h.ts.URL+r.path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	switch {
	case r.auth != "":
		hr.Header.Set("Authorization", r.auth)
	case r.token != "":
		tok, ok := h.tokens[r.token]
		if !ok {
			h.t.Fatalf("no token %q", r.token)
		}
		hr.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	route, params, rerr := h.router.FindRoute(hr)
	if rerr != nil {
		h.t.Fatalf("%s %s: not in the OpenAPI document: %v", r.method, r.path, rerr)
	}
	in := &openapi3filter.RequestValidationInput{Request: hr.Clone(context.Background()), PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: bearerPresent, MultiError: true}}
	in.Request.Body = io.NopCloser(bytes.NewReader(body))
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(got)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		h.t.Errorf("%s %s: answer %d not as the OpenAPI document says: %v\nbody: %.2000s", r.method, r.path, resp.StatusCode, err, got)
	}
	h.mu.Lock()
	h.seen[route.Operation.OperationID] = true
	h.mu.Unlock()
	return exchange{Status: resp.StatusCode, Header: resp.Header, Body: got, ReqErr: reqErr}
}

// bearerPresent is the document's security check as a client sees it:
// some bearer token is sent.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
		return nil
	}
	return fmt.Errorf("no bearer token")
}

// state is what Redis holds, for checking that a refused request wrote
// nothing: every key with its type and size, and the events stream's length.
func (h *harness) state() string {
	h.t.Helper()
	ctx := context.Background()
	keys, err := h.rdb.Keys(ctx, "*").Result()
	if err != nil {
		h.t.Fatal(err)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		typ := h.rdb.Type(ctx, k).Val()
		var n int64
		switch typ {
		case "string":
			n = h.rdb.StrLen(ctx, k).Val()
		case "list":
			n = h.rdb.LLen(ctx, k).Val()
		case "hash":
			n = h.rdb.HLen(ctx, k).Val()
		case "set":
			n = h.rdb.SCard(ctx, k).Val()
		case "zset":
			n = h.rdb.ZCard(ctx, k).Val()
		case "stream":
			n = h.rdb.XLen(ctx, k).Val()
		}
		fmt.Fprintf(&b, "%s %s %d\n", k, typ, n)
	}
	return b.String()
}

// start enqueues ids directly, for tests that need phones.
func (h *harness) start(ids ...string) enqueue.Report {
	h.t.Helper()
	rep, err := h.enq.Start(context.Background(), enqueue.Request{IDs: ids})
	if err != nil {
		h.t.Fatal(err)
	}
	return rep
}

// phones returns n phone IDs starting at from.
func phones(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("5577%014d", from+i)
	}
	return out
}

// operations lists the operation IDs of the document.
func (h *harness) operations() []string {
	var ops []string
	for _, p := range h.doc.Paths.Map() {
		for _, op := range p.Operations() {
			ops = append(ops, op.OperationID)
		}
	}
	slices.Sort(ops)
	return ops
}

// logText is every log line the server wrote, with its fields.
func (h *harness) logText() string {
	var b strings.Builder
	for _, e := range h.logs.All() {
		b.WriteString(e.Message)
		for k, v := range e.ContextMap() {
			fmt.Fprintf(&b, " %s=%v", k, v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
