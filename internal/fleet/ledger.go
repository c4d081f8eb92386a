package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/geelark"
)

// DeadPhone is one entry of the dead-letter ledger: a start or a stop of a
// phone that will not happen without a person. A phone has at most one
// entry per action, so a dead stop never hides a dead start.
type DeadPhone struct {
	ID       string               `json:"id"`
	Action   string               `json:"action"`
	Code     int                  `json:"code"` // GeeLark's code; 0 when none decided it
	Reason   string               `json:"reason"`
	Msg      string               `json:"msg"`
	Attempts int                  `json:"attempts"`
	FailedAt time.Time            `json:"failed_at"`
	Options  geelark.StartOptions `json:"options"`
	// StopAfter is the start's billing guard, kept so that a requeue
	// keeps it too.
	StopAfter time.Duration `json:"stop_after,omitempty"`
}

// Key is the entry's member in the ledger: ID/action.
func (d DeadPhone) Key() string { return d.ID + "/" + d.Action }

// deadEntry is an entry as the scripts write it.
type deadEntry struct {
	ID        string `json:"id"`
	Action    string `json:"action"`
	Code      int    `json:"code"`
	Reason    string `json:"reason"`
	Msg       string `json:"msg"`
	Attempts  int    `json:"attempts"`
	FailedAt  string `json:"failed_at"`
	Opts      string `json:"opts"`
	StopAfter int64  `json:"stop_after"` // ms
}

func (e deadEntry) phone() DeadPhone {
	d := DeadPhone{ID: e.ID, Action: e.Action, Code: e.Code, Reason: e.Reason, Msg: e.Msg, Attempts: e.Attempts,
		FailedAt: parseTime(e.FailedAt), StopAfter: time.Duration(e.StopAfter) * time.Millisecond}
	if e.Opts != "" {
		_ = json.Unmarshal([]byte(e.Opts), &d.Options)
	}
	return d
}

// Ledger is the dead-letter ledger: every start and stop that will not
// happen without a person, kept until it is requeued, purged or asked for
// again, or until the dead retention. Unlike asynq's archive it has no
// size cap. Entries are written by the scripts that move phones to
// StateDead, in the same step.
//
// Its keys: {NAME}:dead (entries by ID/action), {NAME}:dead:ids (the same,
// all scored 0: ordered by ID, for paging) and {NAME}:dead:time (by
// failure time, for retention and newest-first views).
type Ledger struct {
	st                  *Store
	rdb                 redis.UniversalClient
	entries, ids, times string
}

// Ledger returns the store's dead-letter ledger.
func (s *Store) Ledger() *Ledger {
	return &Ledger{st: s, rdb: s.rdb, entries: s.sp.Key("dead"), ids: s.sp.Key("dead", "ids"), times: s.sp.Key("dead", "time")}
}

// Count returns how many entries the ledger holds.
func (l *Ledger) Count(ctx context.Context) (int, error) {
	n, err := l.rdb.ZCard(ctx, l.ids).Result()
	return int(n), err
}

// Page returns up to limit entries in ID order (a phone's start before its
// stop), starting after the entry whose Key is after ("" for the first
// page), and the after of the next page ("" on the last).
func (l *Ledger) Page(ctx context.Context, after string, limit int) ([]DeadPhone, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("fleet: ledger: page size %d is not positive", limit)
	}
	lo := "-"
	if after != "" {
		lo = "(" + after
	}
	keys, err := l.rdb.ZRangeByLex(ctx, l.ids, &redis.ZRangeBy{Min: lo, Max: "+", Count: int64(limit) + 1}).Result()
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(keys) > limit {
		keys = keys[:limit]
		next = keys[limit-1]
	}
	out, err := l.get(ctx, keys)
	return out, next, err
}

// Newest returns up to limit entries, the latest failure first.
func (l *Ledger) Newest(ctx context.Context, limit int) ([]DeadPhone, error) {
	keys, err := l.rdb.ZRevRange(ctx, l.times, 0, int64(limit)-1).Result()
	if err != nil {
		return nil, err
	}
	return l.get(ctx, keys)
}

// Get returns the entries of the phones named (each phone's start, then
// its stop), skipping phones with none.
func (l *Ledger) Get(ctx context.Context, ids ...string) ([]DeadPhone, error) {
	keys := make([]string, 0, 2*len(ids))
	for _, id := range ids {
		keys = append(keys, id+"/"+ActionStart, id+"/"+ActionStop)
	}
	return l.get(ctx, keys)
}

func (l *Ledger) get(ctx context.Context, keys []string) ([]DeadPhone, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	vals, err := l.rdb.HMGet(ctx, l.entries, keys...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]DeadPhone, 0, len(keys))
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		var e deadEntry
		if err := json.Unmarshal([]byte(s), &e); err != nil {
			return nil, fmt.Errorf("fleet: ledger: entry %s: %w", keys[i], err)
		}
		out = append(out, e.phone())
	}
	return out, nil
}

// purgeScript drops the ledger entries ARGV[8..] (ID/action) and records a
// "purged" step for each one it dropped; it returns how many.
var purgeScript = script(`
local n = 0
for i = 8, #ARGV do
  local id, act = string.match(ARGV[i], "^(.*)/(%a+)$")
  if id and unbury(id, act) then
    n = n + 1
    local r = load(id)
    r.act = act
    emit(r, "purged", {att = 0, code = 0, reason = "", msg = "deleted from the dead-letter ledger by a person"})
  end
end
flush()
return n`)

// Purge drops the entries named by their Key (ID/action) and returns how
// many there were.
func (l *Ledger) Purge(ctx context.Context, keys ...string) (int, error) {
	n := 0
	err := chunks(len(keys), placeChunk, func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for _, k := range keys[lo:hi] {
			args = append(args, k)
		}
		v, err := l.st.run(ctx, purgeScript, l.st.Now(), args...)
		if err != nil {
			return err
		}
		k, _ := v.(int64)
		n += int(k)
		return nil
	})
	return n, err
}

// SplitKey splits an entry's Key into ID and action.
func SplitKey(key string) (id, action string) {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return key, ActionStart
	}
	return key[:i], key[i+1:]
}

// buryBadTaskScript dead-letters the phone ARGV[8]'s intent ARGV[9] whose
// task could not be read: its record, when it waits for such a task, moves
// to StateDead; the entry is written either way. ARGV[10] is the message.
var buryBadTaskScript = script(`
local id, act, msg = ARGV[8], ARGV[9], ARGV[10]
local r = load(id)
if r.st and TASKED[r.st] and (r.act or "start") == act then
  move(r, "dead", {call = false, due = false, code = 0, reason = "bad_task", msg = msg}, "dead")
else
  r.act, r.code, r.reason, r.msg = act, "0", "bad_task", msg
  emit(r, "dead")
end
bury(r)
flush()
return 1`)

// BuryBadTask dead-letters phone id's intent act, whose task's payload
// could not be read, with reason ReasonBadTask and msg.
func (s *Store) BuryBadTask(ctx context.Context, id, act, msg string) error {
	_, err := s.run(ctx, buryBadTaskScript, s.Now(), id, act, msg)
	return err
}
