package cli

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/clock"
	"github.com/phonestart/phonestart/internal/fleet"
)

// Backoff of the start-up check while GeeLark can't be reached: 1s,
// doubling, at most a minute, each less up to a quarter at random.
const (
	checkRetryBase = time.Second
	checkRetryMax  = time.Minute
)

// checkAPI is the start-up check of a worker or scheduler: one list call
// (page 1, one phone) within the list endpoint's fleet budget, before any
// phone is taken.
//
// A code that means the deployment is set up wrong (geelark.CodeInfo.Setup:
// credentials, IP whitelist, API access, permissions) is a configuration
// error (exit 2) naming the code and what to fix; it never pauses the fleet,
// since only this process may be set up wrong. So is a GEELARK_BASE_URL
// that leads elsewhere: another server answered (HTTP 404, HTML, JSON of
// another shape), or TLS cannot work with it (a certificate refused, a
// plain-http server behind https). What is not the setup's fault (no
// answer, a timeout, HTTP 5xx, a rate limit, a transient code, a host that
// does not resolve, other TLS trouble) is retried with backoff, each retry
// logged, saying which it is. A rate-limit pause in force is
// waited out before the call: a call during a lockout prolongs it.
//
// Once GeeLark accepts the call, a fleet pause for a code that can be one
// worker's own problem (geelark.CodeInfo.PerWorker: stale credentials, an
// address not whitelisted) was left by a worker since fixed or gone: it is
// lifted, and logged. checkAPI returns false, nil when ctx ends first.
func checkAPI(ctx context.Context, api *geelark.Client, store *fleet.Store, lf *limitFlags, log *zap.Logger) (bool, error) {
	budget, err := lf.budget(store.Redis(), store.Space(), fleet.EndpointList)
	if err != nil {
		return false, err
	}
	pauses := store.Pauses(nil)
	if !waitRateLimit(ctx, pauses, log) {
		return false, nil
	}
	log.Info("checking that GeeLark accepts the credentials", zap.String("api", api.BaseURL()), zap.String("auth", api.AuthMode()))
	for try := 0; ; try++ {
		err := budget.Wait(ctx)
		if err == nil {
			_, err = api.ListPhones(ctx, 1, 1, geelark.ListFilter{})
		}
		if ctx.Err() != nil {
			return false, nil
		}
		var ae *geelark.APIError
		isAPI := errors.As(err, &ae)
		var info geelark.CodeInfo
		if isAPI {
			info = geelark.Lookup(ae.Code)
		}
		var (
			fe *geelark.ForeignReplyError
			te *geelark.TLSError
			re *geelark.ResolveError
		)
		isTLS := errors.As(err, &te)
		switch {
		case err == nil:
			log.Info("GeeLark accepts the credentials")
			liftPerWorkerPause(ctx, pauses, log)
			return true, nil
		case isAPI && info.Setup:
			return false, setupError(ae, info)
		case errors.As(err, &fe):
			return false, foreignError(api.BaseURL(), fe)
		case isTLS && (te.PlainHTTP || te.Certificate):
			return false, tlsError(api.BaseURL(), te)
		case errors.Is(err, geelark.ErrInvalidRequest):
			return false, err
		case isAPI && info.Class != geelark.ClassTransient && info.Class != geelark.ClassUnknown &&
			info.Class != geelark.ClassRateLimited:
			// GeeLark authenticates a call before anything else: any
			// other answer means the credentials and address passed.
			// An account problem such as the balance pauses the fleet
			// at the first start call, as it would without the check.
			log.Warn("GeeLark accepts the credentials but answered the start-up check with a code; starting anyway",
				zap.Int("code", ae.Code), zap.String("meaning", info.Meaning), zap.String("geelark_msg", ae.Msg))
			return true, nil
		}
		d := checkBackoff(try)
		what := "cannot reach GeeLark to check the credentials"
		switch {
		case isAPI:
			// A rate limit is waited out: a call during a 40014 lockout
			// prolongs it.
			d = max(d, info.RetryAfter(time.Now()))
			what = fmt.Sprintf("GeeLark answered the credentials check with %d (%s), which is not the credentials' fault",
				ae.Code, info.Meaning)
		case errors.As(err, &re):
			// DNS trouble passes; a mistyped host shows in every line.
			what = fmt.Sprintf("cannot resolve %s (GEELARK_BASE_URL)", re.Host)
		case isTLS:
			what = fmt.Sprintf("TLS problem with GEELARK_BASE_URL = %s, the TLS handshake with %s failed", api.BaseURL(), te.Host)
		}
		log.Warn(fmt.Sprintf("%s; retrying in %s", what, d.Round(time.Millisecond)),
			zap.Error(err), zap.Int("try", try+1), zap.Duration("retry_in", d))
		if clock.Sleep(ctx, d) != nil {
			return false, nil
		}
	}
}

// checkBackoff is the delay after failed try n (from 0): 1s doubling to a
// minute, less up to a quarter at random so that workers started together
// do not retry together.
func checkBackoff(n int) time.Duration {
	d := checkRetryBase
	for i := 0; i < n && d < checkRetryMax; i++ {
		d *= 2
	}
	d = min(d, checkRetryMax)
	return d - rand.N(d/4)
}

// setupError is the exit-2 error of a Setup code: the code, its meaning,
// GeeLark's message and what to fix. GeeLark's message carries no secret.
func setupError(ae *geelark.APIError, info geelark.CodeInfo) error {
	said := ""
	if ae.Msg != "" && ae.Msg != info.Meaning {
		said = fmt.Sprintf(" (GeeLark: %q)", ae.Msg)
	}
	return bad("GeeLark refused the start-up check with code %d, %s%s; check %s, then start again (traceId %s)",
		ae.Code, info.Meaning, said, info.Fix, ae.TraceID)
}

// foreignError is the exit-2 error of a base URL where another server than
// GeeLark's API answered: what came back, and what to fix.
func foreignError(base string, fe *geelark.ForeignReplyError) error {
	ctype := "no content type"
	if fe.ContentType != "" {
		ctype = "content type " + fe.ContentType
	}
	why := ""
	if fe.Err != nil {
		why = ": " + fe.Err.Error()
	}
	return bad("GEELARK_BASE_URL = %s is not GeeLark's API: the start-up check (POST %s) got HTTP %d with %s, "+
		"not GeeLark's JSON reply%s; set GEELARK_BASE_URL to GeeLark's API (%s), then start again",
		base, geelark.ListPath, fe.StatusCode, ctype, why, geelark.DefaultBaseURL)
}

// tlsError is the exit-2 error of an https base URL whose server TLS
// cannot reach: waiting will not change its certificate or make it speak
// TLS.
func tlsError(base string, te *geelark.TLSError) error {
	if te.PlainHTTP {
		return bad("TLS problem with GEELARK_BASE_URL = %s: the server at %s answered in plain HTTP, not TLS; "+
			"use http:// for a server without TLS, or GeeLark's API (%s)", base, te.Host, geelark.DefaultBaseURL)
	}
	return bad("TLS problem with GEELARK_BASE_URL = %s: the server's certificate is refused: %v; "+
		"check the host in GEELARK_BASE_URL (GeeLark's API is %s) and this machine's CA certificates",
		base, te.Err, geelark.DefaultBaseURL)
}

// waitRateLimit waits out a rate-limit pause in force (40007, 40014), read
// again every second in case it is lifted. It returns false when ctx ends
// first. A Redis error is left to the budget, which waits for Redis.
func waitRateLimit(ctx context.Context, pauses *fleet.Pauses, log *zap.Logger) bool {
	logged := false
	for {
		p, on, err := pauses.Fresh(ctx)
		if err != nil || !on || p.Class() != geelark.ClassRateLimited {
			return ctx.Err() == nil
		}
		if !logged {
			logged = true
			log.Warn(fmt.Sprintf("the fleet is paused by GeeLark's rate limit (%d: %s) until %s; checking the credentials after it",
				p.Code, geelark.Lookup(p.Code).Meaning, p.Until.UTC().Format(time.RFC3339)),
				zap.Int("code", p.Code), zap.String("by", p.By), zap.Time("until", p.Until))
		}
		if clock.Sleep(ctx, min(time.Second, max(p.Until.Sub(pauses.Now()), time.Millisecond))) != nil {
			return false
		}
	}
}

// liftPerWorkerPause lifts a fleet pause for a per-worker code: this
// process just got through, so the code was not the account's.
// A Redis error is left to the worker, which meets it at once.
func liftPerWorkerPause(ctx context.Context, pauses *fleet.Pauses, log *zap.Logger) {
	p, on, err := pauses.Fresh(ctx)
	if err != nil || !on || !geelark.Lookup(p.Code).PerWorker {
		return
	}
	by := "start-up check of " + fleet.Self()
	// Only the pause read: one set in between (a rate limit, say) stays.
	res, _, err := pauses.Lift(ctx, p.ID, by)
	switch {
	case errors.Is(err, fleet.ErrPauseChanged):
	case err != nil:
		log.Warn("cannot lift the fleet pause in Redis", zap.Int("code", p.Code), zap.Error(err))
	case res.Lifted.ID != "":
		log.Info(fmt.Sprintf("lifted the fleet pause for geelark %d (%s), set by %s: GeeLark accepts this process's calls",
			p.Code, geelark.Lookup(p.Code).Meaning, p.By), zap.Int("code", p.Code), zap.String("lifted_by", by))
	}
}
