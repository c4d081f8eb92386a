package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
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
	// FirstCheck is the fleet's first-check age in force when the phone
	// was first checked (0 before that): see Checks.
	FirstCheck time.Duration `json:"first_check,omitempty"`
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
		pipe.HSet(ctx, sinceKey, bt.ID, sinceValue(bt))
	}
	_, err := pipe.Exec(ctx)
	return err
}

// claimBoots takes up to ARGV[2] IDs due at ARGV[1] whose age has reached
// the first check (a poll, ARGV[4], more for a phone checked before), and
// makes them due again at ARGV[3], so that no other worker takes them
// meanwhile. A due phone younger than that is made due when it reaches it.
// The first check is the learned one in KEYS[3], within ARGV[4] and
// ARGV[5] (ms); a phone without a start in KEYS[2] (it has a callback's
// verdict) is taken at once. It returns the IDs and the first check. At
// most 50 rounds of ARGV[2] phones are looked at in one call. When no phone
// is booting, KEYS[2] is emptied of any entry a lost write left behind.
var claimBoots = redis.NewScript(`
local now, n, lo, hi = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4]), tonumber(ARGV[5])
local first = tonumber(redis.call("HGET", KEYS[3], "first") or "") or lo
first = math.max(lo, math.min(hi, first))
local out = {}
for round = 1, 50 do
  local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now, "LIMIT", 0, n)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    local since, checked = string.match(redis.call("HGET", KEYS[2], id) or "", "^(%d+)(c?)$")
    local at = 0
    if since then
      at = tonumber(since) + first
      if checked == "c" then at = at + lo end
    end
    if at > now then
      redis.call("ZADD", KEYS[1], at, id)
    else
      redis.call("ZADD", KEYS[1], ARGV[3], id)
      out[#out + 1] = id
      if #out == n then return {out, first} end
    end
  end
end
if #out == 0 and redis.call("ZCARD", KEYS[1]) == 0 then
  redis.call("DEL", KEYS[2])
end
return {out, first}`)

// Claim returns up to n boots due at now and at least as old as the
// fleet's first check (see Checks), and holds them for lease: no other
// worker claims them until then. It also returns the first check in force.
func (b *Boots) Claim(ctx context.Context, now time.Time, n int, lease time.Duration, c Checks) ([]Boot, time.Duration, error) {
	lo, hi := c.bounds()
	v, err := claimBoots.Run(ctx, b.rdb, []string{bootingKey, sinceKey, paceKey},
		now.UnixMilli(), n, now.Add(lease).UnixMilli(), lo, hi).Slice()
	if err != nil {
		return nil, 0, err
	}
	if len(v) != 2 {
		return nil, 0, fmt.Errorf("fleet: claim of boots answered %d values, want 2", len(v))
	}
	raw, _ := v[0].([]any)
	ms, _ := v[1].(int64)
	first := time.Duration(ms) * time.Millisecond
	if len(raw) == 0 {
		return nil, first, nil
	}
	ids := make([]string, 0, len(raw))
	for _, id := range raw {
		if s, ok := id.(string); ok {
			ids = append(ids, s)
		}
	}
	boots, err := b.get(ctx, ids)
	return boots, first, err
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
	var gone []string
	for i, c := range cmds {
		var bt Boot
		if c.Err() != nil || json.Unmarshal([]byte(c.Val()), &bt) != nil {
			gone = append(gone, ids[i]) // a record without data: drop it
			continue
		}
		out = append(out, bt)
	}
	if len(gone) > 0 {
		pipe := b.rdb.Pipeline()
		for _, id := range gone {
			pipe.ZRem(ctx, bootingKey, id)
			pipe.HDel(ctx, sinceKey, id)
		}
		_, _ = pipe.Exec(ctx)
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
	pipe.HSet(ctx, sinceKey, bt.ID, sinceValue(bt))
	_, err = pipe.Exec(ctx)
	return err
}

// sinceValue is bt's entry in sinceKey: its start (Unix ms), and a "c"
// once it has had its first check.
func sinceValue(bt Boot) string {
	v := strconv.FormatInt(bt.StartedAt.UnixMilli(), 10)
	if bt.FirstCheck > 0 || bt.Seen != "" {
		v += "c"
	}
	return v
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
		pipe.HDel(ctx, sinceKey, id)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// setVerdict records a callback's verdict on a booting phone and makes it
// due at once, whatever its age (its start leaves KEYS[3]). It returns 0 when the phone is not booting. It edits the
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
redis.call("HDEL", KEYS[3], ARGV[1])
return 1`)

// Verdict records GeeLark's word on a booting phone (from a callback):
// ready or not. The next worker to look settles it without a status call.
// It reports whether the phone was booting.
func (b *Boots) Verdict(ctx context.Context, id string, ready bool, now time.Time) (bool, error) {
	v := VerdictFailed
	if ready {
		v = VerdictReady
	}
	n, err := setVerdict.Run(ctx, b.rdb, []string{bootingKey, bootKey(id), sinceKey}, id, v, now.UnixMilli()).Int()
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
