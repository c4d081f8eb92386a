package fleet

import (
	"context"
	"encoding/json"
	"time"

	"github.com/redis/go-redis/v9"
)

// Keys of versions before the records, under the prefix "phonestart:".
const (
	legacyDead     = "phonestart:dead"
	legacyDeadIDs  = "phonestart:dead:ids"
	legacyDeadTime = "phonestart:dead:time"
)

// legacyEntry is a dead-letter entry as versions before the records wrote
// it: one per phone.
type legacyEntry struct {
	ID        string          `json:"id"`
	Action    string          `json:"action"`
	Code      int             `json:"code"`
	Reason    string          `json:"reason"`
	Msg       string          `json:"msg"`
	Attempts  int             `json:"attempts"`
	FailedAt  time.Time       `json:"failed_at"`
	Options   json.RawMessage `json:"options"`
	StopAfter time.Duration   `json:"stop_after"`
}

// moveLegacyScript writes the entries ARGV[8..] (JSON, as the new ledger
// holds them) into the ledger, keeping an entry already there, and drops
// them from the legacy ledger (KEYS are passed for the legacy keys, which
// are outside the namespace's slot: a Redis Cluster is refused anyway).
var moveLegacyScript = script(`
for i = 8, #ARGV do
  local e = cjson.decode(ARGV[i])
  local m = e.id .. "/" .. e.action
  if redis.call("HSETNX", P .. "dead", m, ARGV[i]) == 1 then
    redis.call("ZADD", P .. "dead:ids", 0, m)
    redis.call("ZADD", P .. "dead:time", e.ms, m)
  end
  redis.call("HDEL", "phonestart:dead", e.id)
  redis.call("ZREM", "phonestart:dead:ids", e.id)
  redis.call("ZREM", "phonestart:dead:time", e.id)
end
flush()
return #ARGV - 7`)

// MigrateLegacyLedger moves the dead-letter entries that versions before
// the records kept under "phonestart:dead" into the store's ledger (the
// default namespace's, or any other: dead phones are a person's to look
// at wherever they are), 500 a script, and returns how many it moved. It
// does nothing when there are none, and is safe to run from several
// processes at once.
func (s *Store) MigrateLegacyLedger(ctx context.Context) (int, error) {
	moved := 0
	for {
		ids, err := s.rdb.ZRange(ctx, legacyDeadIDs, 0, 499).Result()
		if err != nil || len(ids) == 0 {
			return moved, err
		}
		vals, err := s.rdb.HMGet(ctx, legacyDead, ids...).Result()
		if err != nil {
			return moved, err
		}
		args := make([]any, 0, len(ids))
		var gone []any
		for i, v := range vals {
			str, ok := v.(string)
			var le legacyEntry
			if !ok || json.Unmarshal([]byte(str), &le) != nil {
				gone = append(gone, ids[i])
				continue
			}
			if le.Action == "" {
				le.Action = ActionStart
			}
			opts := ""
			if len(le.Options) > 0 && string(le.Options) != "null" {
				opts = string(le.Options)
			}
			b, err := json.Marshal(struct {
				deadEntry
				MS int64 `json:"ms"`
			}{deadEntry{ID: le.ID, Action: le.Action, Code: le.Code, Reason: le.Reason, Msg: le.Msg, Attempts: le.Attempts,
				FailedAt: le.FailedAt.UTC().Format(time.RFC3339Nano), Opts: opts, StopAfter: le.StopAfter.Milliseconds()},
				le.FailedAt.UnixMilli()})
			if err != nil {
				return moved, err
			}
			args = append(args, string(b))
		}
		if len(gone) > 0 {
			pipe := s.rdb.Pipeline()
			pipe.ZRem(ctx, legacyDeadIDs, gone...)
			pipe.ZRem(ctx, legacyDeadTime, gone...)
			if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
				return moved, err
			}
		}
		if len(args) == 0 {
			continue
		}
		if _, err := s.run(ctx, moveLegacyScript, s.Now(), args...); err != nil {
			return moved, err
		}
		moved += len(args)
	}
}
