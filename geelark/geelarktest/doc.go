// Package geelarktest provides a fake of the GeeLark Open API start endpoint
// (POST /open/v1/phone/start) for tests, in the spirit of net/http/httptest.
//
// A Fake is an http.Handler that behaves as GeeLark's documentation says the
// real endpoint does: it authenticates both credential modes (a signed
// request in key mode, a bearer token in token mode), validates the body,
// enforces a per-minute and an hourly budget (with the two-hour lockout of
// code 40014), and answers every call with HTTP 200 and the usual
// {"traceId","code","msg","data"} envelope. A Server runs a Fake on
// 127.0.0.1 with a random port.
//
// Tests decide what happens to each phone with Script (a per-phone outcome)
// or Config.Default (a function of the phone ID and attempt number; Mix is a
// realistic one), and what happens to whole calls with FailNext and
// SetFaults: an HTTP 500, a truncated body, a dropped connection, a reply
// that leaves a started phone out, or a call-level code. A call is processed
// in this order:
//
//  1. authentication (40002 without traceId, 40003 for wrong credentials,
//     a wrong sign, nonce or appId, or a ts more than MaxSkew from Now);
//  2. the body (40001 when it cannot be read, 40004 when it is not a valid
//     start request);
//  3. the rate budget (40014 while locked or when the hourly budget is
//     spent, 40007 when the per-minute budget is spent);
//  4. the call's fault, if any;
//  5. each phone, in request order.
//
// Only calls that pass steps 1-3 spend budget and take a fault, so a queued
// fault always lands on a call that would otherwise have been accepted.
// Every call to the start path, accepted or not, is recorded and returned
// by Calls. Faults that mangle the reply (FaultTruncated, FaultDrop,
// FaultOmit) are applied after the phones were processed: the fake did start
// them, and Starts says so, although the client cannot know. That is the
// situation a careful client must handle without starting a phone twice.
//
// A Fake and a Server are safe for simultaneous use by multiple goroutines.
package geelarktest
