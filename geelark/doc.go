// Package geelark is a client for the GeeLark Open API endpoints that
// phonestart needs: starting cloud phones in batches (StartPhones, POST
// /open/v1/phone/start) and listing them by group, tags, remark or name
// (ListPhones and ListAll, POST /open/v1/phone/list), which resolves a
// selection to phone IDs at run time.
//
// A Client is configured with exactly one credential: an app ID and API key
// (key mode, each request signed with SHA-256) or a bearer token (token mode).
// Every request gets a fresh traceId and, in key mode, a signature computed
// immediately before the request is sent, so a request that waited for a rate
// limiter is never sent with a stale timestamp. Both endpoints share that one
// path, and the error types below.
//
// The client does not retry. A start call either returns one Outcome per
// requested phone, and a list call one page of phones, or an error that says
// why there are none:
//
//   - *APIError: GeeLark answered with a call-level code other than 0.
//   - *TransportError: the call's outcome is unknown (timeout, refused or
//     dropped connection, a non-200 status, an unreadable or truncated body).
//     Some of a start call's phones may have been started.
//
// GeeLark counts its rate budget per endpoint; ListAll takes a wait function
// so that the caller spends the list endpoint's budget before each page.
//
// Codes are classified by Lookup into the Classes that decide what a caller
// does next; see codes.go for the table and the reason for each row.
//
// No error string or log field produced by this package contains the API key
// or the token.
package geelark
