// Package geelark is a client for the GeeLark Open API endpoints that
// phonestart needs: starting cloud phones in batches (StartPhones, POST
// /open/v1/phone/start), checking their power state (StatusPhones, POST
// /open/v1/phone/status), stopping them (StopPhones, POST
// /open/v1/phone/stop), listing them by group, tags, remark or name
// (ListPhones and ListAll, POST /open/v1/phone/list), which resolves a
// selection to phone IDs at run time, and registering a webhook
// (SetCallback, POST /open/v1/callback/set).
//
// GeeLark POSTs events to that webhook, signed as requests are signed in
// key mode; ParseCallbackEvent reads one and VerifyCallback checks its
// headers (callbacks need key mode: see VerifyCallback).
//
// A Client is configured with exactly one credential: an app ID and API key
// (key mode, each request signed with SHA-256) or a bearer token (token mode).
// Every request gets a fresh traceId and, in key mode, a signature computed
// immediately before the request is sent, so a request that waited for a rate
// limiter is never sent with a stale timestamp. Every endpoint shares that
// one path, and the error types below.
//
// The client does not retry. A start or stop call either returns one
// Outcome per requested phone, a status call one StatusOutcome per phone,
// and a list call one page of phones, or an error that says why there are
// none:
//
//   - *APIError: GeeLark answered with a call-level code other than 0.
//   - *TransportError: the call's outcome is unknown (timeout, refused or
//     dropped connection, a non-200 status, an unreadable or truncated body).
//     Some of a start call's phones may have been started. When the base
//     URL is the trouble rather than GeeLark, it wraps a
//     *ForeignReplyError (another server answered: HTTP 404, HTML, JSON of
//     another shape), a *ResolveError (the host does not resolve) or a
//     *TLSError (certificate refused, plain HTTP answered to https).
//
// GeeLark counts its rate budget per endpoint; ListAll takes a wait function
// so that the caller spends the list endpoint's budget before each page.
//
// Invalid input (no IDs, too many, an ID GeeLark would refuse, a bad
// option) is refused before any request with an error wrapping
// ErrInvalidRequest; a bad start option also carries an *OptionError naming
// the field.
//
// Codes are classified by Lookup into the Classes that decide what a caller
// does next, with flags for codes one bad ID can cause (PerID), codes that
// mean the deployment is set up wrong (Setup, with what to Fix) and codes
// that can be one worker's own problem (PerWorker); see codes.go for the
// table and the reason for each row.
//
// No error string or log field produced by this package contains the API key
// or the token.
package geelark
