package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/redis/go-redis/v9"
)

// Keys of the boots: phones whose start GeeLark accepted and that are not
// yet confirmed usable. bootingKey scores each by when it is next due for a
// check; bootKey(id) holds its record.
const bootingKey = Prefix + "booting"

func bootKey(id string) string { return Prefix + "boot:" + id }

// Verdicts a GeeLark callback can give on a boot.
const (
	VerdictReady  = "ready"
	VerdictFailed = "failed"
)

// Boot is one booting phone: started, not yet confirmed usable. It holds
// no worker slot: it is a record in Redis that any worker checks when due.
type Boot struct {
	ID        string               `json:"id"`
	Attempt   int                  `json:"attempt"` // the start attempt that booted it, from 1
	Options   geelark.StartOptions `json:"options"`
	URL       string               `json:"url,omitempty"`
	StartedAt time.Time            `json:"started_at"`
	Deadline  time.Time            `json:"deadline"` // still Starting after it: failed to boot
	// Verdict is set by a GeeLark callback: VerdictReady or VerdictFailed.
	Verdict string `json:"verdict,omitempty"`
	// Seen is the state the last status check reported ("" before one).
	Seen string `json:"seen,omitempty"`
	// StopAfter, when positive, is how long after it is ready the phone
	// is stopped (the start's stop-after; 0: the worker's max runtime).
	StopAfter time.Duration `json:"stop_after,omitempty"`
}

// Boots is the set of booting phones, shared by every worker.
type Boots struct{ rdb redis.UniversalClient }

// NewBoots returns the boots kept in rdb.
func NewBoots(rdb redis.UniversalClient) *Boots { return &Boots{rdb: rdb} }

// Begin records boots, each first due at due.
func (b *Boots) Begin(ctx context.Context, due time.Time, boots ...Boot) error {
	if len(boots) == 0 {
		return nil
	}
	pipe := b.rdb.Pipeline()
	for _, bt := range boots {
		v, err := json.Marshal(bt)
		if err != nil {
			return err
		}
		pipe.Set(ctx, bootKey(bt.ID), v, 0)
		pipe.ZAdd(ctx, bootingKey, redis.Z{Score: float64(due.UnixMilli()), Member: bt.ID})
	}
	_, err := pipe.Exec(ctx)
	return err
}

// claimBoots takes up to ARGV[2] IDs due at ARGV[1] and makes them due
// again at ARGV[3], so that no other worker takes them meanwhile.
var claimBoots = redis.NewScript(`
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call("ZADD", KEYS[1], ARGV[3], id)
end
return ids`)

// Claim returns up to n boots due at now, and holds them for lease: no
// other worker claims them until then.
func (b *Boots) Claim(ctx context.Context, now time.Time, n int, lease time.Duration) ([]Boot, error) {
	ids, err := claimBoots.Run(ctx, b.rdb, []string{bootingKey},
		now.UnixMilli(), n, now.Add(lease).UnixMilli()).StringSlice()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return b.get(ctx, ids)
}

func (b *Boots) get(ctx context.Context, ids []string) ([]Boot, error) {
	pipe := b.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Get(ctx, bootKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, err
	}
	out := make([]Boot, 0, len(ids))
	var gone []any
	for i, c := range cmds {
		var bt Boot
		if c.Err() != nil || json.Unmarshal([]byte(c.Val()), &bt) != nil {
			gone = append(gone, ids[i]) // a record without data: drop it
			continue
		}
		out = append(out, bt)
	}
	if len(gone) > 0 {
		b.rdb.ZRem(ctx, bootingKey, gone...)
	}
	return out, nil
}

// Later makes the boot due again at at, keeping what the last check saw.
func (b *Boots) Later(ctx context.Context, bt Boot, at time.Time) error {
	v, err := json.Marshal(bt)
	if err != nil {
		return err
	}
	pipe := b.rdb.Pipeline()
	pipe.Set(ctx, bootKey(bt.ID), v, 0)
	pipe.ZAdd(ctx, bootingKey, redis.Z{Score: float64(at.UnixMilli()), Member: bt.ID})
	_, err = pipe.Exec(ctx)
	return err
}

// Done removes boots that ended: confirmed, failed, or given up.
func (b *Boots) Done(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	pipe := b.rdb.Pipeline()
	for _, id := range ids {
		pipe.Del(ctx, bootKey(id))
		pipe.ZRem(ctx, bootingKey, id)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// setVerdict records a callback's verdict on a booting phone and makes it
// due at once. It returns 0 when the phone is not booting. It edits the
// record's JSON as text rather than through cjson, whose decode and encode
// turn an empty object (Options {}) into an array on some Lua runtimes
// (miniredis's): outside JSON strings, where every quote is escaped, the
// text "verdict":" can only be the field.
var setVerdict = redis.NewScript(`
if not redis.call("ZSCORE", KEYS[1], ARGV[1]) then return 0 end
local v = redis.call("GET", KEYS[2])
if not v then return 0 end
local field = '"verdict":"' .. ARGV[2] .. '"'
local s, n = string.gsub(v, '"verdict":"[^"]*"', field, 1)
if n == 0 then
  s = string.sub(v, 1, -2) .. "," .. field .. "}"
end
redis.call("SET", KEYS[2], s)
redis.call("ZADD", KEYS[1], ARGV[3], ARGV[1])
return 1`)

// Verdict records GeeLark's word on a booting phone (from a callback):
// ready or not. The next worker to look settles it without a status call.
// It reports whether the phone was booting.
func (b *Boots) Verdict(ctx context.Context, id string, ready bool, now time.Time) (bool, error) {
	v := VerdictFailed
	if ready {
		v = VerdictReady
	}
	n, err := setVerdict.Run(ctx, b.rdb, []string{bootingKey, bootKey(id)}, id, v, now.UnixMilli()).Int()
	return n == 1, err
}

// Count returns how many phones are booting.
func (b *Boots) Count(ctx context.Context) (int, error) {
	n, err := b.rdb.ZCard(ctx, bootingKey).Result()
	return int(n), err
}

// Get returns the boot of id, if it is booting.
func (b *Boots) Get(ctx context.Context, id string) (Boot, bool, error) {
	v, err := b.rdb.Get(ctx, bootKey(id)).Result()
	if err == redis.Nil {
		return Boot{}, false, nil
	}
	if err != nil {
		return Boot{}, false, err
	}
	var bt Boot
	if err := json.Unmarshal([]byte(v), &bt); err != nil {
		return Boot{}, false, fmt.Errorf("fleet: boot of %s: %w", id, err)
	}
	return bt, true, nil
}
