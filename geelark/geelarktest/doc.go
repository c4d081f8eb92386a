// Package geelarktest provides a fake of the GeeLark Open API endpoints that
// phonestart uses (POST /open/v1/phone/start, status, stop and list, and
// /open/v1/callback/set) for tests, in the spirit of net/http/httptest.
//
// A Fake is an http.Handler that behaves as GeeLark's documentation says the
// real endpoints do: it authenticates both credential modes (a signed
// request in key mode, a bearer token in token mode), validates the body,
// enforces a per-minute and an hourly budget per endpoint (with the
// two-hour lockout of code 40014, which locks both), and answers every call
// with HTTP 200 and the usual {"traceId","code","msg","data"} envelope. A
// Server runs a Fake on 127.0.0.1 with a random port.
//
// Tests decide what happens to each phone of a start call with Script (a
// per-phone outcome) or Config.Default (a function of the phone ID and
// attempt number; Mix is a realistic one), which phones the list endpoint
// knows with AddPhones, and what happens to whole calls with FailNext and
// SetFaults: an HTTP 500, a truncated body, a dropped connection, a reply
// that leaves a started phone out, or a call-level code. Poison makes every
// start call that names one ID answer a call-level code, as GeeLark answers
// 40004.
//
// Phones have a power state. A phone whose start was accepted boots: status
// 1 (Starting) for its boot time, then 0 (Started), as Config.Boot or
// ScriptBoot says (a boot can also never end, or fall back to 2); a phone
// never started, or stopped, is at 2 (Shut down); one that does not exist
// (its start would answer 42001) is answered 42001 by status and stop. A
// start accepted for a phone already at 0 or 1 changes nothing and counts
// in DoubleStarts. ScriptStop scripts stop codes (43005, 43006) as Script
// does start codes, and ScriptStatus the code a status call answers for a
// phone (50000, 40010) while its power state goes on. With Config.Callbacks on, the fake POSTs a signed start
// event to the URL set by callback/set when a boot ends.
//
// A call is processed in this order:
//
//  1. authentication (40002 without traceId, 40003 for wrong credentials,
//     a wrong sign, nonce or appId, or a ts more than MaxSkew from Now);
//  2. the body (40001 when it cannot be read; 40004 when it is not a valid
//     request for its endpoint: 1..200 distinct IDs for start and stop,
//     1..100 for status, an http(s) url for callback/set; 40008 for a list
//     call's page below 1 or pageSize outside 1..100);
//  3. the rate budget of its endpoint (40014 while locked or when the
//     hourly budget is spent, 40007 when the per-minute budget is spent);
//  4. for a start call, a poisoned ID (its code, no phone processed);
//  5. the call's fault, if any;
//  6. a start, status or stop call's phones, each in request order; a list
//     call's page; or the callback URL.
//
// Only calls that pass steps 1-3 spend budget, and only those that pass
// steps 1-4 take a fault, so a queued fault always lands on a call that
// would otherwise have been accepted, whichever its path. Every call,
// accepted or not, is recorded and returned by Calls, whose Path tells the
// endpoints apart. Faults that mangle
// the reply (FaultTruncated, FaultDrop, FaultOmit) are applied after the
// phones were processed: the fake did start them, and Starts says so,
// although the client cannot know. That is the situation a careful client
// must handle without starting a phone twice.
//
// The list endpoint answers the registered phones that pass the call's
// filters, in the order they were registered, page by page (page from 1,
// pageSize 10 when unset), with the total over all pages; with ids it
// answers every phone named at once, ignoring paging, as documented.
// GeeLark does not document how its filters match; the fake takes the
// strictest reading: groupName, remark and serialName match exactly, and a
// phone must carry every tag asked for.
//
// A Fake and a Server are safe for simultaneous use by multiple goroutines.
// Close a Fake (or its Server) when done: it ends the callback loop.
package geelarktest
