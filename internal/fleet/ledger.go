package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/redis/go-redis/v9"
)

// Reasons a phone is dead, the Reason of a DeadPhone.
const (
	// ReasonGeeLark: a GeeLark code decided it (Code says which).
	ReasonGeeLark = "geelark"
	// ReasonUnknown: its attempts ran out without GeeLark ever answering
	// for it (timeouts, unreadable replies); Code is 0.
	ReasonUnknown = "unknown"
	// ReasonBadTask: its task could not be read; Code is 0.
	ReasonBadTask = "bad_task"
)

// Actions of a DeadPhone: what would not happen without a person.
const (
	ActionStart = "start"
	ActionStop  = "stop"
)

// DeadPhone is one entry of the dead-letter ledger.
type DeadPhone struct {
	ID       string               `json:"id"`
	Action   string               `json:"action"`
	Code     int                  `json:"code"` // GeeLark's code; 0 when none decided it
	Reason   string               `json:"reason"`
	Msg      string               `json:"msg"`
	Attempts int                  `json:"attempts"`
	FailedAt time.Time            `json:"failed_at"`
	Options  geelark.StartOptions `json:"options"`
	// StopAfter is the start's billing guard (enqueue --stop-after), kept
	// so that a requeue keeps it too.
	StopAfter time.Duration `json:"stop_after,omitempty"`
}

// Ledger is the dead-letter ledger: every phone that will not start without
// a person, kept until it is requeued or purged, or until Retention. Unlike
// asynq's archive it has no size cap.
type Ledger struct {
	rdb redis.UniversalClient
	// Retention, when positive, drops entries that failed longer ago.
	Retention time.Duration
}

// NewLedger returns the ledger kept in rdb. retention 0 keeps entries until
// they are requeued or purged.
func NewLedger(rdb redis.UniversalClient, retention time.Duration) *Ledger {
	return &Ledger{rdb: rdb, Retention: retention}
}

// addDead writes an entry and drops up to 500 entries older than the
// retention cutoff ARGV[4] (0: none).
var addDead = redis.NewScript(`
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
redis.call("ZADD", KEYS[2], 0, ARGV[1])
redis.call("ZADD", KEYS[3], ARGV[3], ARGV[1])
if ARGV[4] ~= "0" then
  local old = redis.call("ZRANGEBYSCORE", KEYS[3], "-inf", "(" .. ARGV[4], "LIMIT", 0, 500)
  for _, id in ipairs(old) do
    redis.call("HDEL", KEYS[1], id)
    redis.call("ZREM", KEYS[2], id)
    redis.call("ZREM", KEYS[3], id)
  end
end
return 1`)

// Add records ds, each replacing any entry of the same phone, 500 a round
// trip.
func (l *Ledger) Add(ctx context.Context, ds ...DeadPhone) error {
	args := make([][]any, len(ds))
	for i, d := range ds {
		if d.ID == "" {
			return errors.New("fleet: ledger: entry without id")
		}
		if d.Action == "" {
			d.Action = ActionStart
		}
		d.FailedAt = d.FailedAt.UTC()
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		cutoff := int64(0)
		if l.Retention > 0 {
			cutoff = d.FailedAt.Add(-l.Retention).UnixMilli()
		}
		args[i] = []any{d.ID, b, d.FailedAt.UnixMilli(), cutoff}
	}
	for lo := 0; lo < len(args); lo += 500 {
		part := args[lo:min(lo+500, len(args))]
		if err := pipelineScript(ctx, l.rdb, addDead, func(pipe redis.Pipeliner) {
			for _, a := range part {
				addDead.EvalSha(ctx, pipe, []string{deadKey, deadIDsKey, deadTimeKey}, a...)
			}
		}); err != nil {
			return err
		}
	}
	return nil
}

// removeBefore drops the entries of the phones named in ARGV[2..] that
// failed before ARGV[1] (Unix ms), and returns how many it dropped.
var removeBefore = redis.NewScript(`
local n = 0
for i = 2, #ARGV do
  local at = redis.call("ZSCORE", KEYS[3], ARGV[i])
  if at and tonumber(at) < tonumber(ARGV[1]) then
    redis.call("HDEL", KEYS[1], ARGV[i])
    redis.call("ZREM", KEYS[2], ARGV[i])
    redis.call("ZREM", KEYS[3], ARGV[i])
    n = n + 1
  end
end
return n`)

// RemoveBefore drops the entries of the phones named that failed before
// t, and returns how many. A producer that enqueued phones again drops
// their old entries this way after writing their tasks: an entry a worker
// wrote since (the phone failed again at once) stays.
func (l *Ledger) RemoveBefore(ctx context.Context, t time.Time, ids ...string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	args := make([]any, 0, 1+len(ids))
	args = append(args, t.UnixMilli())
	for _, id := range ids {
		args = append(args, id)
	}
	n, err := removeBefore.Run(ctx, l.rdb, []string{deadKey, deadIDsKey, deadTimeKey}, args...).Int()
	return n, err
}

// Count returns how many phones are dead.
func (l *Ledger) Count(ctx context.Context) (int, error) {
	n, err := l.rdb.ZCard(ctx, deadIDsKey).Result()
	return int(n), err
}

// Page returns up to limit entries in ID order, starting after the phone
// after ("" for the first page), and the ID to pass as after for the next
// page ("" on the last).
func (l *Ledger) Page(ctx context.Context, after string, limit int) ([]DeadPhone, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("fleet: ledger: page size %d is not positive", limit)
	}
	min := "-"
	if after != "" {
		min = "(" + after
	}
	ids, err := l.rdb.ZRangeByLex(ctx, deadIDsKey, &redis.ZRangeBy{Min: min, Max: "+", Count: int64(limit) + 1}).Result()
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1]
	}
	out, err := l.Get(ctx, ids...)
	return out, next, err
}

// Newest returns up to limit entries, the latest failure first.
func (l *Ledger) Newest(ctx context.Context, limit int) ([]DeadPhone, error) {
	ids, err := l.rdb.ZRevRange(ctx, deadTimeKey, 0, int64(limit)-1).Result()
	if err != nil {
		return nil, err
	}
	return l.Get(ctx, ids...)
}

// Get returns the entries of the phones named, in that order, skipping
// phones that are not dead.
func (l *Ledger) Get(ctx context.Context, ids ...string) ([]DeadPhone, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	vals, err := l.rdb.HMGet(ctx, deadKey, ids...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]DeadPhone, 0, len(ids))
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		var d DeadPhone
		if err := json.Unmarshal([]byte(s), &d); err != nil {
			return nil, fmt.Errorf("fleet: ledger: entry of %s: %w", ids[i], err)
		}
		out = append(out, d)
	}
	return out, nil
}

// Remove drops the entries of the phones named and returns how many there
// were.
func (l *Ledger) Remove(ctx context.Context, ids ...string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = id
	}
	pipe := l.rdb.TxPipeline()
	n := pipe.HDel(ctx, deadKey, ids...)
	pipe.ZRem(ctx, deadIDsKey, members...)
	pipe.ZRem(ctx, deadTimeKey, members...)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	return int(n.Val()), nil
}
