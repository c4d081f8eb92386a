package fleet

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Steps of a phone's life, the Event of an Event.
const (
	EventEnqueued = "enqueued" // a start was asked for
	EventStarted  = "started"  // GeeLark accepted its start; it boots
	EventReady    = "ready"    // GeeLark reports it Started: usable
	EventRetry    = "retry"    // an attempt failed; it is tried again
	EventDead     = "dead"     // it will not start without a person
	EventRequeued = "requeued" // a person sent a dead phone back
	EventPurged   = "purged"   // a person deleted a dead phone
)

// Steps of a phone's stop.
const (
	EventStopEnqueued = "stop_enqueued" // a stop was asked for (a person or a schedule)
	EventStopped      = "stopped"       // GeeLark shut it down
)

// States of a phone as `phonestart phone ID` and enqueue's wait see it.
const (
	StateQueued  = "queued"  // waiting for its start call (or for its time)
	StateBooting = "booting" // started, not yet confirmed usable
	StateReady   = "ready"   // usable
	StateRetry   = "retry"   // waiting to be tried again
	StateDead    = "dead"    // in the dead-letter ledger
	StatePurged  = "purged"  // dead, then deleted by a person
)

// States of a phone phonestart was asked to stop.
const (
	StateStopping = "stopping" // waiting for its stop call (or for its time)
	StateStopped  = "stopped"  // shut down by phonestart
)

// stateOf is the state a phone is in after an event.
var stateOf = map[string]string{
	EventEnqueued: StateQueued, EventStarted: StateBooting, EventReady: StateReady,
	EventRetry: StateRetry, EventDead: StateDead, EventRequeued: StateQueued, EventPurged: StatePurged,
	EventStopEnqueued: StateStopping, EventStopped: StateStopped,
}

// EventsKey is the Redis stream of every step of every phone's life, for
// producers in any language (XREAD). Its entries' fields are those of
// Event, by their JSON names.
const EventsKey = Prefix + "events"

// DefaultEventsMax is how many entries EventsKey keeps, about.
const DefaultEventsMax = 100_000

// phoneKey holds one phone's current state: phonestart:phone:<id>.
func phoneKey(id string) string { return Prefix + "phone:" + id }

// PhoneTTL is how long a phone's state is kept after its last change.
const PhoneTTL = 7 * 24 * time.Hour

// Event is one step of a phone's life.
type Event struct {
	// ID is the stream entry's ID when read; empty when written.
	StreamID string    `json:"-"`
	Phone    string    `json:"id"`
	Event    string    `json:"event"`
	Attempt  int       `json:"attempt,omitempty"`
	Code     int       `json:"code,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Msg      string    `json:"msg,omitempty"`
	URL      string    `json:"url,omitempty"`
	At       time.Time `json:"at"`
}

// PhoneState is a phone's current state.
type PhoneState struct {
	ID      string    `json:"id"`
	State   string    `json:"state"`
	Since   time.Time `json:"since"`
	Attempt int       `json:"attempt,omitempty"`
	Code    int       `json:"code,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Msg     string    `json:"msg,omitempty"`
	URL     string    `json:"url,omitempty"`
}

// Known reports whether phonestart has a state for the phone.
func (s PhoneState) Known() bool { return s.State != "" }

// Journal records phones' events: appended to the events stream and kept as
// each phone's current state.
type Journal struct {
	rdb redis.UniversalClient
	max int64
}

// NewJournal returns the journal kept in rdb; max caps the stream (0:
// DefaultEventsMax).
func NewJournal(rdb redis.UniversalClient, max int) *Journal {
	if max <= 0 {
		max = DefaultEventsMax
	}
	return &Journal{rdb: rdb, max: int64(max)}
}

// recordEvents appends events to the stream (KEYS[1]) and sets each
// phone's state (KEYS[1+i]) unless the phone had an event after the stream
// entry ARGV[2] (when not ""): a step a worker took after the caller began
// is newer than what the caller reports. ARGV[1] caps the stream, ARGV[3]
// is the states' TTL in seconds; then 10 values per event: id, event,
// attempt, code, reason, msg, url, at, state, flags ("r": reset the state
// first, "u": set the url).
var recordEvents = redis.NewScript(`
local mark = ARGV[2]
local b1, b2
if mark ~= "" then
  local x, y = string.match(mark, "(%d+)-(%d+)")
  b1, b2 = tonumber(x or 0), tonumber(y or 0)
end
for i = 1, #KEYS - 1 do
  local o = 3 + (i - 1) * 10
  local key = KEYS[1 + i]
  local sid = redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[1], "*",
    "id", ARGV[o+1], "event", ARGV[o+2], "attempt", ARGV[o+3], "code", ARGV[o+4],
    "reason", ARGV[o+5], "msg", ARGV[o+6], "url", ARGV[o+7], "at", ARGV[o+8])
  local newer = false
  if mark ~= "" then
    local seq = redis.call("HGET", key, "seq")
    if seq then
      local x, y = string.match(seq, "(%d+)-(%d+)")
      local a1, a2 = tonumber(x), tonumber(y)
      newer = a1 > b1 or (a1 == b1 and a2 > b2)
    end
  end
  if not newer then
    local flags = ARGV[o+10]
    if string.find(flags, "r") then redis.call("DEL", key) end
    redis.call("HSET", key, "state", ARGV[o+9], "since", ARGV[o+8], "attempt", ARGV[o+3], "code", ARGV[o+4],
      "reason", ARGV[o+5], "msg", ARGV[o+6], "seq", sid)
    if string.find(flags, "u") then redis.call("HSET", key, "url", ARGV[o+7]) end
    redis.call("EXPIRE", key, ARGV[3])
  end
end
return #KEYS - 1`)

// Record appends evs to the stream and updates each phone's state, in one
// round trip.
func (j *Journal) Record(ctx context.Context, evs ...Event) error {
	return j.RecordSince(ctx, "", evs...)
}

// RecordSince is Record, except that a phone whose state changed after the
// stream entry mark (an ID from Last, taken before the caller acted) keeps
// that newer state; the events are appended all the same. A producer
// records "enqueued" this way, so that a worker that started the phone in
// the meantime is not undone.
func (j *Journal) RecordSince(ctx context.Context, mark string, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	if mark == "0" {
		mark = "0-0"
	}
	// One script call per 200 events: one round trip for a whole call's
	// phones.
	for lo := 0; lo < len(evs); lo += 200 {
		part := evs[lo:min(lo+200, len(evs))]
		keys := make([]string, 1, 1+len(part))
		keys[0] = EventsKey
		args := make([]any, 0, 3+10*len(part))
		args = append(args, j.max, mark, int64(PhoneTTL/time.Second))
		for _, e := range part {
			at := e.At.UTC()
			if at.IsZero() {
				at = time.Now().UTC()
			}
			flags := ""
			if e.Event == EventEnqueued || e.Event == EventRequeued {
				flags += "r"
			}
			if e.Event == EventStarted || e.URL != "" {
				flags += "u"
			}
			keys = append(keys, phoneKey(e.Phone))
			args = append(args, e.Phone, e.Event, e.Attempt, e.Code, e.Reason, e.Msg, e.URL,
				at.Format(time.RFC3339Nano), stateOf[e.Event], flags)
		}
		if err := recordEvents.Run(ctx, j.rdb, keys, args...).Err(); err != nil {
			return err
		}
	}
	return nil
}

// States returns the current state of each of ids (State "" when unknown).
func (j *Journal) States(ctx context.Context, ids ...string) ([]PhoneState, error) {
	out := make([]PhoneState, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	pipe := j.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, phoneKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	for i, c := range cmds {
		v := c.Val()
		out[i] = PhoneState{ID: ids[i], State: v["state"], Since: parseTime(v["since"]), Attempt: atoi(v["attempt"]),
			Code: atoi(v["code"]), Reason: v["reason"], Msg: v["msg"], URL: v["url"]}
	}
	return out, nil
}

// Read returns up to count events after the stream entry after ("0" or ""
// for the oldest kept), oldest first. block > 0 waits that long for one.
func (j *Journal) Read(ctx context.Context, after string, count int, block time.Duration) ([]Event, error) {
	if after == "" {
		after = "0"
	}
	args := &redis.XReadArgs{Streams: []string{EventsKey, after}, Count: int64(count), Block: -1}
	if block > 0 {
		args.Block = block
	}
	res, err := j.rdb.XRead(ctx, args).Result()
	if err == redis.Nil {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, s := range res {
		for _, m := range s.Messages {
			out = append(out, eventOf(m))
		}
	}
	return out, nil
}

// Last returns the ID of the newest stream entry ("0" when empty), to read
// only what comes after it.
func (j *Journal) Last(ctx context.Context) (string, error) {
	res, err := j.rdb.XRevRangeN(ctx, EventsKey, "+", "-", 1).Result()
	if err != nil || len(res) == 0 {
		return "0", err
	}
	return res[0].ID, nil
}

func eventOf(m redis.XMessage) Event {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	return Event{StreamID: m.ID, Phone: str("id"), Event: str("event"), Attempt: atoi(str("attempt")),
		Code: atoi(str("code")), Reason: str("reason"), Msg: str("msg"), URL: str("url"), At: parseTime(str("at"))}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
