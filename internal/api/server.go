package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redisconn"
)

// Server is the HTTP API of one deployment. Its handler serves requests
// concurrently; Run serves it on Config.Addr with the webhooks. Close it
// when done (Run does).
type Server struct {
	cfg     Config
	log     *zap.Logger
	sp      fleet.Space
	enq     *enqueue.Client
	store   *fleet.Store
	pauses  *fleet.Pauses
	tokens  *tokenSet
	budgets *budgets
	idem    *idempotency
	tail    *tail
	openapi []byte
	handler http.Handler
}

// New checks cfg, reads the tokens file and returns a Server. Its errors
// are *ConfigError, naming the field and its environment variable.
func New(cfg Config) (*Server, error) {
	sp, err := cfg.check()
	if err != nil {
		return nil, err
	}
	if err := redisconn.RefuseCluster(cfg.Redis); err != nil {
		return nil, &ConfigError{Field: "Redis", Env: "REDIS_URL", Err: err}
	}
	tokens, err := newTokenSet(cfg.TokensFile, cfg.TokensPoll, cfg.Now, cfg.Logger)
	if err != nil {
		return nil, &ConfigError{Field: "TokensFile", Env: "PHONESTART_API_TOKENS_FILE", Err: err}
	}
	enq, err := enqueue.New(enqueue.Config{Redis: cfg.Redis, Namespace: sp.Name(), EventsMax: cfg.EventsMax,
		MinReplicas: cfg.MinReplicas, Retention: cfg.Retention})
	if err != nil {
		return nil, &ConfigError{Field: "Redis", Err: err}
	}
	store, err := fleet.NewStore(cfg.Redis, fleet.StoreConfig{Space: sp, EventsMax: cfg.EventsMax, Retention: cfg.Retention})
	if err != nil {
		return nil, &ConfigError{Field: "Redis", Err: err}
	}
	doc, err := openAPIJSON()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, sp: sp, enq: enq, store: store, pauses: store.Pauses(nil), tokens: tokens,
		budgets: newBudgets(cfg.Rate, cfg.Burst, cfg.Now),
		idem:    &idempotency{rdb: cfg.Redis, sp: sp, ttl: cfg.IdempotencyTTL, lease: DefaultIdempotencyLease},
		tail:    newTail(store.Events(), cfg.Logger),
		openapi: doc,
	}
	s.handler = s.routes()
	return s, nil
}

// Handler is the API's http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the server's reader of the events stream. Streams and waits
// still open end.
func (s *Server) Close() { s.tail.close() }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	methods := map[string][]string{}
	handle := func(method, path string, h http.HandlerFunc) {
		mux.HandleFunc(method+" "+path, h)
		methods[path] = append(methods[path], method)
	}
	get := func(path string, f func(http.ResponseWriter, *http.Request, caller) error) {
		handle(http.MethodGet, path, s.guard(f, ScopeRead))
	}
	post := func(path string, f postFunc, need ...string) {
		handle(http.MethodPost, path, s.guard(s.posting(f), need...))
	}
	post("/v1/starts", s.postStarts, ScopeStart)
	post("/v1/stops", s.postStops, ScopeStop)
	post("/v1/cancels", s.postCancels, ScopeStart, ScopeStop)
	get("/v1/requests/{request}", s.getRequest)
	get("/v1/phones/{id}", s.getPhone)
	get("/v1/dead", s.getDead)
	post("/v1/dead/requeue", s.postRequeue, ScopeAdmin)
	get("/v1/status", s.getStatus)
	get("/v1/pause", s.getPause)
	post("/v1/pause/lift", s.postLift, ScopeAdmin)
	get("/v1/events", s.getEvents)
	handle(http.MethodGet, "/v1/openapi.json", s.logged(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.openapi)
		return nil
	}))
	for path, ms := range methods {
		allow := strings.Join(ms, ", ")
		if slices.Contains(ms, http.MethodGet) {
			allow += ", HEAD"
		}
		mux.HandleFunc(path, s.logged(func(w http.ResponseWriter, r *http.Request) error {
			p := problem(ProblemMethod, "", "%s %s: this path takes %s", r.Method, r.URL.Path, allow)
			p.header = http.Header{"Allow": {allow}}
			return p
		}))
	}
	mux.HandleFunc("/", s.logged(func(w http.ResponseWriter, r *http.Request) error {
		return problem(ProblemNotFound, "", "no such endpoint: %s (see GET /v1/openapi.json)", r.URL.Path)
	}))
	return mux
}

// statusWriter remembers the status written, for the log line.
type statusWriter struct {
	http.ResponseWriter
	status int
	name   string // the token's name, once known
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logged runs f, writes its error as a problem, and logs one line: method,
// route, status, the token's name and the time taken. Never a header.
func (s *Server) logged(f func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		began := time.Now()
		w := &statusWriter{ResponseWriter: rw}
		if err := f(w, r); err != nil {
			s.fail(w, r, err)
		}
		status := w.status
		if status == 0 {
			status = http.StatusOK
		}
		fields := []zap.Field{zap.String("method", r.Method), zap.String("path", r.URL.Path),
			zap.Int("status", status), zap.Duration("took", time.Since(began))}
		if w.name != "" {
			fields = append(fields, zap.String("token", w.name))
		}
		s.log.Info("request", fields...)
	}
}

// fail writes err: a *Problem as it is; the input errors of package enqueue
// as 400 naming the field; a missing request as 404; anything else as a
// 500 whose cause is logged, not sent.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	var ie *enqueue.InputError
	var ip *internalProblem
	switch {
	case errors.As(err, &ip):
		s.log.Error("request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(ip.cause))
		p = ip.p
	case errors.As(err, &p):
	case errors.As(err, &ie):
		p = invalid(apiField(ie.Field), "%v", ie.Err)
	case errors.Is(err, enqueue.ErrNoRequest):
		p = problem(ProblemNotFound, "request", "no such request (never made, or ended longer ago than the retention)")
	default:
		if r.Context().Err() == nil {
			s.log.Error("request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
		}
		p = problem(ProblemInternal, "", "the server failed to answer; see its log")
	}
	writeProblem(w, p)
}

// apiField names an enqueue.InputError's field as the API's body has it.
func apiField(f string) string {
	switch f {
	case "width", "center":
		return "options." + f
	}
	return f
}

// guard authenticates the request, checks the token holds need and has
// budget left, then runs f.
func (s *Server) guard(f func(http.ResponseWriter, *http.Request, caller) error, need ...string) http.HandlerFunc {
	return s.logged(func(w http.ResponseWriter, r *http.Request) error {
		token, ok := bearer(r)
		if !ok {
			return unauthorized("send Authorization: Bearer <token>")
		}
		c, ok := s.tokens.lookup(token)
		if !ok {
			return unauthorized("the token is not known (revoked, or mistyped)")
		}
		if sw, ok := w.(*statusWriter); ok {
			sw.name = c.name
		}
		if !c.may(need...) {
			return problem(ProblemForbidden, "", "token %s lacks the scope %s (it holds %s)", c.name,
				strings.Join(need, " and "), strings.Join(c.scopes, ", "))
		}
		if ok, wait := s.budgets.take(c.name); !ok {
			p := problem(ProblemRateLimited, "", "token %s is over its budget of %g requests a second (burst %d)",
				c.name, s.cfg.Rate, s.cfg.Burst)
			p.retryAfter = retryAfter(wait)
			return p
		}
		return f(w, r, c)
	})
}

// postFunc checks a POST's body and says what carrying it out does.
type postFunc func(r *http.Request, c caller, body []byte) (*post, error)

// post is a checked POST: the canonical form of its body, for the
// Idempotency-Key's fingerprint, and what it does.
type post struct {
	canon any
	do    func(ctx context.Context) (reply, error)
}

// reply is a POST's answer.
type reply struct {
	status   int
	body     any
	location string
}

// postTimeout bounds what a POST does once it began, whether or not its
// caller is still there: the Idempotency-Key keeps its answer either way.
const postTimeout = DefaultIdempotencyLease - 30*time.Second

// posting reads and checks a POST's body with f, then carries it out once
// per Idempotency-Key (see idempotency), and writes its answer.
func (s *Server) posting(f postFunc) func(http.ResponseWriter, *http.Request, caller) error {
	return func(w http.ResponseWriter, r *http.Request, c caller) error {
		_, keyed := r.Header["Idempotency-Key"]
		key := r.Header.Get("Idempotency-Key")
		if keyed && !validIdempotencyKey(key) {
			return invalid("Idempotency-Key", "want 1 to %d printable ASCII characters", MaxIdempotencyKey)
		}
		body, err := readBody(w, r)
		if err != nil {
			return err
		}
		p, err := f(r, c, body)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), postTimeout)
		defer cancel()
		if !keyed {
			rep, err := p.do(ctx)
			if err != nil {
				return err
			}
			writeReply(w, rep.status, rep.location, mustJSON(rep.body), false)
			return nil
		}
		canon, _ := json.Marshal(p.canon)
		sum := sha256.Sum256([]byte(r.Method + " " + r.URL.Path + "\n" + string(canon)))
		fp := hex.EncodeToString(sum[:])
		k := s.idem.key(c, key)
		h, err := s.awaitKey(r.Context(), k, fp, w)
		if h == nil || err != nil {
			return err // replayed, or refused
		}
		rep, err := p.do(ctx)
		if err != nil {
			if rerr := s.idem.release(ctx, h); rerr != nil {
				s.log.Warn("could not free an Idempotency-Key: it frees itself after its lease",
					zap.Duration("lease", DefaultIdempotencyLease), zap.Error(rerr))
			}
			return err
		}
		b := mustJSON(rep.body)
		if err := s.idem.keep(ctx, h, fp, rep.status, b, rep.location); err != nil {
			s.log.Warn("could not keep a POST's answer for its Idempotency-Key", zap.Error(err))
		}
		writeReply(w, rep.status, rep.location, b, false)
		return nil
	}
}

// keyWait is how long a POST waits for another one with the same
// Idempotency-Key to finish before answering 409.
const keyWait = 5 * time.Second

// awaitKey takes the Idempotency-Key k for a POST of fingerprint fp. When
// another POST with k answered already, it replays that answer and returns
// nil; when one is under way, it waits up to keyWait for its answer.
func (s *Server) awaitKey(ctx context.Context, k, fp string, w http.ResponseWriter) (*held, error) {
	deadline := time.Now().Add(keyWait)
	for {
		h, cur, err := s.idem.take(ctx, k, fp)
		switch {
		case err != nil:
			return nil, err
		case h != nil:
			return h, nil
		case cur == nil:
			continue // it expired between two commands
		case cur.FP != fp:
			return nil, problem(ProblemKeyReused, "Idempotency-Key",
				"this key was used for another request (another method, path or body) within the last %v", s.cfg.IdempotencyTTL)
		case cur.Lease == "":
			writeReply(w, cur.Status, cur.Location, cur.Body, true)
			return nil, nil
		case time.Now().After(deadline):
			p := problem(ProblemKeyInUse, "Idempotency-Key", "a request with this key is still being carried out: retry later")
			p.retryAfter = 1
			return nil, p
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // every answer is a struct of plain fields
	}
	return b
}

// writeReply writes a POST's answer, replayed or not.
func writeReply(w http.ResponseWriter, status int, location string, body []byte, replayed bool) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if location != "" {
		h.Set("Location", location)
	}
	if replayed {
		h.Set("Idempotent-Replayed", "true")
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
