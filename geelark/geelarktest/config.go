package geelarktest

import "time"

// Default credentials of a Fake whose Config leaves them empty.
const (
	DefaultAppID  = "test-app"
	DefaultAPIKey = "test-key"
	DefaultToken  = "test-token"
)

// MaxSkew is how far the ts header of a key-mode call may be from the fake's
// clock before the call is refused with 40003. GeeLark does not document its
// tolerance; five minutes is the common choice for signed APIs.
const MaxSkew = 5 * time.Minute

// Config configures a Fake. The zero value is usable: default credentials,
// no rate budget, no latency, every phone starts, no phone is listed until
// AddPhones registers it.
type Config struct {
	// AppID and APIKey are the key-mode credentials accepted. Default
	// DefaultAppID and DefaultAPIKey when both are empty.
	AppID, APIKey string
	// Token is the token-mode credential accepted. Default DefaultToken.
	Token string
	// RatePerMinute is the per-minute budget of each endpoint; 0 means
	// unlimited. GeeLark counts its budget per endpoint, so start and list
	// calls each have a window of their own. A call that arrives when
	// RatePerMinute calls to its path were accepted in the last 60 seconds
	// (a sliding window by Now) is answered 40007 and counted in Violations.
	// Calls refused for any reason do not spend budget.
	RatePerMinute int
	// RatePerHour is the hourly budget of each endpoint (a sliding window of
	// one hour); 0 means unlimited. A call over it is answered 40014 and
	// locks the fake: every call to either path for the next two hours
	// (geelark.LockoutDuration) is answered 40014 too. All of them count in
	// Violations.
	RatePerHour int
	// Latency is waited before every call is answered, after its phones
	// were processed. A client that gives up in the meantime gets no reply,
	// but the phones of a start call did start.
	Latency time.Duration
	// StartLatency, when set, replaces Latency for start calls alone: a
	// slow start call while the other endpoints answer at once.
	StartLatency time.Duration
	// Default returns the outcome of a phone that has no Script. attempt
	// counts from 1: the number of calls carrying id that reached phone
	// processing, this one included. Nil means every phone starts. It is
	// called with the Fake's lock held and must not call the Fake.
	Default func(id string, attempt int) Reply
	// Now is the clock for ts checks, rate windows, Call.Time, boot times
	// and callback signatures. Default time.Now.
	Now func() time.Time
	// Boot returns how a phone boots after a start of it is accepted, for a
	// phone without ScriptBoot. Nil means every phone boots at once: status
	// 0 (Started) right after its start. It is called with the Fake's lock
	// held and must not call the Fake.
	Boot func(id string) Boot
	// Callbacks turns on start events: once a callback URL is set (POST
	// /open/v1/callback/set), the fake POSTs a signed start event to it
	// when a started phone finishes booting (result true) or falls back to
	// shut down (result false). Events are found by DeliverCallbacks, which
	// a background loop calls every CallbackEvery.
	Callbacks bool
	// CallbackEvery is how often, by the wall clock, the background loop
	// looks for phones whose boot ended by Now. Default 100ms. Negative
	// means no loop: events go out only when a test calls
	// DeliverCallbacks, which suits tests with an injected clock.
	CallbackEvery time.Duration
}

// DefaultCallbackEvery is the default of Config.CallbackEvery.
const DefaultCallbackEvery = 100 * time.Millisecond

// Boot is how a phone boots after its start was accepted: status 1
// (Starting) for Time, then 0 (Started).
type Boot struct {
	// Time is how long the phone stays at 1 before it is up; 0 means it is
	// up at once.
	Time time.Duration
	// Never keeps the phone at 1 forever: it never finishes booting and
	// sends no start event.
	Never bool
	// FallBack makes the phone fall to 2 (Shut down) after Time instead of
	// coming up, with a start event whose result is false.
	FallBack bool
	// Times limits Never and FallBack to the phone's first Times boots
	// (starts accepted while it was not running); later boots come up
	// after Time. 0 means every boot.
	Times int
}

// Reply is the outcome of one phone in one call.
type Reply struct {
	// Code 0 means the phone started; any other code is answered in the
	// reply's failDetails.
	Code int
	// Msg is the failDetails message. Default: the code's meaning from
	// geelark.Lookup.
	Msg string
}

// Script is a scripted outcome for one phone.
type Script struct {
	// Code is answered for the phone's first Times attempts; after them the
	// phone starts. Code 0 means the phone always starts.
	Code int
	// Msg is the failDetails message. Default: the code's meaning.
	Msg string
	// Times is how many attempts get Code, counted from the phone's first
	// attempt (see Fake.Attempts); 0 means every attempt.
	Times int
}

func (c Config) withDefaults() Config {
	if c.AppID == "" && c.APIKey == "" {
		c.AppID, c.APIKey = DefaultAppID, DefaultAPIKey
	}
	if c.Token == "" {
		c.Token = DefaultToken
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.CallbackEvery == 0 {
		c.CallbackEvery = DefaultCallbackEvery
	}
	return c
}
