package geelark

import (
	"fmt"
	"sort"
	"time"
)

// Class says what a caller should do about a code. GeeLark's documentation
// lists codes and meanings but does not say which ones clear by themselves:
// the classes below are phonestart's own judgement, and CodeInfo.Reason says
// why for each code.
type Class int

const (
	// ClassUnknown is a code not in the table. Retry a bounded number of
	// times, then give up with the code.
	ClassUnknown Class = iota
	// ClassStarted means the phone is already starting: count it as started.
	ClassStarted
	// ClassTransient is a condition of this phone, or of GeeLark, that clears
	// by itself. Retry with backoff.
	ClassTransient
	// ClassPermanent will not clear by retrying: a person must look.
	ClassPermanent
	// ClassAccount means nothing will work for any phone until a person fixes
	// the account: credentials, balance, plan, permissions or IP whitelist.
	// Waiting for it is not the phone's failure.
	ClassAccount
	// ClassRateLimited means the API budget is spent; calls may resume after
	// CodeInfo.RetryAfter. Waiting for it is not the phone's failure.
	ClassRateLimited
)

var classNames = map[Class]string{
	ClassUnknown:     "unknown",
	ClassStarted:     "started",
	ClassTransient:   "transient",
	ClassPermanent:   "permanent",
	ClassAccount:     "account",
	ClassRateLimited: "rate-limited",
}

func (c Class) String() string {
	if s, ok := classNames[c]; ok {
		return s
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// CodeInfo describes one GeeLark code.
type CodeInfo struct {
	Code    int
	Meaning string // what GeeLark's documentation says it means
	Class   Class
	Reason  string // why phonestart classifies it so
	// PerID marks a call-level code that one bad phone ID in a call can
	// cause: the call is refused as a whole, no phone of it was started,
	// and the same call without that ID may well succeed. A caller can
	// split such a call to find the ID instead of failing every phone.
	PerID bool
	// Setup marks a code that means the deployment is set up wrong
	// (credentials, IP whitelist, API access, permissions): no call from
	// here can succeed until a person changes what Fix names. A worker that
	// gets one at start-up should stop and say so rather than run.
	Setup bool
	// Fix names what to change for a Setup code, e.g. "the IP whitelist in
	// GeeLark's console"; "" for other codes.
	Fix string
	// PerWorker marks a code that can be one worker's own problem (its
	// credentials or its IP address), not the account's: another worker of
	// the same fleet may still be served.
	PerWorker bool
	// Clears, when set, returns the earliest time after now at which the
	// condition is documented to clear (e.g. the next UTC midnight for 43008,
	// the next minute for 40007). Nil when the docs don't say.
	Clears func(now time.Time) time.Time `json:"-"`
}

// RetryAfter returns how long from now until the code is documented to
// clear, or 0 when the docs don't say.
func (ci CodeInfo) RetryAfter(now time.Time) time.Duration {
	if ci.Clears == nil {
		return 0
	}
	return ci.Clears(now).Sub(now)
}

// Rate-limit and lockout codes that callers test for by number.
const (
	CodeTooManyRequests   = 40007
	CodeHourlyLimitLocked = 40014
	CodeTooManyTryLater   = 40017
	CodePartialSuccess    = 40006
	CodeBatchFailed       = 40009
)

// LockoutDuration is how long GeeLark locks an account's API access after
// code 40014.
const LockoutDuration = 2 * time.Hour

func nextMinute(now time.Time) time.Time { return now.UTC().Truncate(time.Minute).Add(time.Minute) }

func nextUTCMidnight(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

func afterLockout(now time.Time) time.Time { return now.Add(LockoutDuration) }

// codeTable is phonestart's reading of GeeLark's codes. Besides the class,
// three flags:
//
// PerID (a call-level code one bad ID can cause): 40004, because a
// malformed or unknown ID fails the validation of the whole call; 40005,
// because an ID that names no phone can make the whole call "not found";
// 40009 without per-phone details, because every phone failed and one bad
// phone may be why. All three are answered before any phone starts. Not
// 40006 (partial success: some phones did start, and sending them again
// would start them twice), nor 40002 and 40008 (they concern the request's
// headers or paging, never an ID), nor 40010 (transient: the same call is
// retried whole).
//
// Setup (the deployment is set up wrong): 40003 and 40013 (credentials),
// 40016 (IP whitelist), 40012 (API access expired), 40015 (permissions) and
// 40011 (no paid plan, so no API). 41001 and 46001 are not: a top-up or a
// renewal clears them while the fleet waits, which is what waiting out an
// account-wide code is for.
//
// PerWorker (can be one worker's own problem): 40003, when one worker holds
// stale credentials, and 40016, when one worker's address is not
// whitelisted. The other Setup codes belong to the account.
var codeTable = map[int]CodeInfo{
	// Start endpoint codes (from the endpoint's own documentation).
	42001: {Meaning: "cloud phone does not exist", Class: ClassPermanent,
		Reason: "a deleted or mistyped ID never comes back"},
	43004: {Meaning: "cloud phone has expired", Class: ClassPermanent,
		Reason: "only a person renewing the phone fixes it"},
	47004: {Meaning: "device associated with the cloud phone does not exist", Class: ClassPermanent,
		Reason: "the phone has lost its device; GeeLark support or a new phone is needed"},
	43007: {Meaning: "cloud phone is already in use by another user", Class: ClassTransient,
		Reason: "clears when the other user stops it; bounded by max-attempts"},
	45002: {Meaning: "cloud phone proxy is unavailable", Class: ClassTransient,
		Reason: "proxies come back; one that never does dead-letters after max-attempts"},
	47002: {Meaning: "cloud phone resources are insufficient", Class: ClassTransient,
		Reason: "capacity frees up within minutes"},
	43020: {Meaning: "cloud phone is currently unavailable, try again later", Class: ClassTransient,
		Reason: "the docs say to try again later"},
	43029: {Meaning: "the cloud phone model is under maintenance, try again later", Class: ClassTransient,
		Reason: "maintenance ends; the docs say to try again later"},

	// Stop endpoint codes (from its own documentation; 42001 is shared).
	43005: {Meaning: "cloud phone is executing a task", Class: ClassTransient,
		Reason: "the task ends; the phone can be stopped then"},
	43006: {Meaning: "cloud phone is being remotely connected", Class: ClassTransient,
		Reason: "the remote session ends; bounded by max-attempts"},

	// Other cloud phone codes.
	43008: {Meaning: "daily open limit reached", Class: ClassTransient,
		Reason: "the limit resets at UTC midnight, so the retry waits for it", Clears: nextUTCMidnight},
	43010: {Meaning: "cloud phone is starting", Class: ClassStarted,
		Reason: "the phone is already on its way up, which is what was asked"},
	43038: {Meaning: "device model deleted", Class: ClassPermanent,
		Reason: "a deleted model does not come back"},
	43039: {Meaning: "unavailable, maintenance in progress", Class: ClassTransient,
		Reason: "maintenance ends"},
	43043: {Meaning: "no free machine of that Android version", Class: ClassTransient,
		Reason: "seen to clear in minutes"},
	46001: {Meaning: "plan expired", Class: ClassAccount,
		Reason: "no phone starts until the plan is renewed"},
	47001: {Meaning: "device concurrency limit reached", Class: ClassTransient,
		Reason: "clears as other phones of the account stop; bounded by max-attempts"},
	47003: {Meaning: "device expired", Class: ClassPermanent,
		Reason: "only a person renewing the device fixes it"},

	// Call-level (global) codes.
	40000: {Meaning: "unknown error", Class: ClassUnknown,
		Reason: "nothing says whether it clears: retried a bounded number of times"},
	40001: {Meaning: "failed to read the request body", Class: ClassTransient,
		Reason: "a body lost in transit; the same request can succeed"},
	40002: {Meaning: "traceId is empty", Class: ClassPermanent,
		Reason: "the request itself is malformed; resending it cannot help"},
	40003: {Meaning: "signature verification failed or token invalid", Class: ClassAccount,
		Setup: true, Fix: "GEELARK_APP_ID and GEELARK_API_KEY, or GEELARK_TOKEN", PerWorker: true,
		Reason: "wrong credentials fail every call until a person fixes them"},
	40004: {Meaning: "parameter validation failed", Class: ClassPermanent, PerID: true,
		Reason: "the same parameters fail the same way; one bad ID fails the whole call, so the call is split to find it"},
	40005: {Meaning: "resource not found", Class: ClassPermanent, PerID: true,
		Reason: "what does not exist will not start; one unknown ID can fail the whole call, so the call is split to find it"},
	40006: {Meaning: "partial success", Class: ClassUnknown,
		Reason: "a batch summary: the per-phone details decide, and phones missing from them are retried"},
	40007: {Meaning: "too many requests", Class: ClassRateLimited,
		Reason: "lifted the next minute", Clears: nextMinute},
	40008: {Meaning: "pagination parameter error", Class: ClassPermanent,
		Reason: "a malformed request; resending it cannot help"},
	40009: {Meaning: "batch operation failed completely", Class: ClassUnknown, PerID: true,
		Reason: "a batch summary: the per-phone details decide; without them no phone started, one bad ID can be why, and the call is split to find it"},
	40010: {Meaning: "resource occupied", Class: ClassTransient,
		Reason: "whatever holds it lets go"},
	40011: {Meaning: "paid users only", Class: ClassAccount,
		Setup: true, Fix: "the account's plan in GeeLark's console: the API is for paid plans",
		Reason: "no phone starts until the account is upgraded"},
	40012: {Meaning: "API access expired", Class: ClassAccount,
		Setup: true, Fix: "the API access in GeeLark's console: renew it",
		Reason: "no call works until API access is renewed"},
	40013: {Meaning: "user not found", Class: ClassAccount,
		Setup: true, Fix: "GEELARK_APP_ID and GEELARK_API_KEY, or GEELARK_TOKEN: they name no user",
		Reason: "the credentials name no user"},
	40014: {Meaning: "hourly limit exceeded, API locked for two hours", Class: ClassRateLimited,
		Reason: "GeeLark locks the account for two hours; any call before then extends the damage", Clears: afterLockout},
	40015: {Meaning: "insufficient permissions", Class: ClassAccount,
		Setup: true, Fix: "the API permissions of the team member in GeeLark's console",
		Reason: "a person must grant the permission"},
	40016: {Meaning: "IP not in the whitelist", Class: ClassAccount,
		Setup: true, Fix: "the IP whitelist in GeeLark's console: add this worker's public address", PerWorker: true,
		Reason: "a person must whitelist the worker's address"},
	40017: {Meaning: "too many requests, try again later", Class: ClassRateLimited,
		Reason: "treated like 40007: wait for the next minute", Clears: nextMinute},
	41001: {Meaning: "balance not enough", Class: ClassAccount,
		Reason: "no phone starts until the balance is topped up"},
	50000: {Meaning: "internal error", Class: ClassTransient,
		Reason: "a server-side fault; the same request can succeed"},
}

// Lookup returns what phonestart knows about code. An unknown code comes back
// with ClassUnknown and an empty Meaning.
func Lookup(code int) CodeInfo {
	ci, ok := codeTable[code]
	if !ok {
		return CodeInfo{Code: code, Class: ClassUnknown, Reason: "not documented: retried a bounded number of times"}
	}
	ci.Code = code
	return ci
}

// Codes returns every code in the table, in ascending order.
func Codes() []CodeInfo {
	out := make([]CodeInfo, 0, len(codeTable))
	for code := range codeTable {
		out = append(out, Lookup(code))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}
