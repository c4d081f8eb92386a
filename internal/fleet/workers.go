package fleet

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// HeartbeatTTL is how long a worker counts as live after its last beat;
// workers beat three times as often.
const HeartbeatTTL = 15 * time.Second

// Workers is the registry of live workers: each announces itself with a
// heartbeat, and says when GeeLark refuses its credentials or address
// (codes that can be one worker's own problem). Only when every live worker
// is refused is the problem the account's.
//
// Its keys: {NAME}:workers holds the live workers scored by when their
// heartbeat runs out, {NAME}:refused the workers GeeLark refused, with code
// and until; both are pruned of gone workers at every heartbeat.
type Workers struct {
	rdb                 redis.UniversalClient
	workers, refusedKey string
	now                 func() time.Time
}

// Workers returns the registry of the store's deployment, on clock now
// (default: the store's).
func (s *Store) Workers(now func() time.Time) *Workers {
	if now == nil {
		now = s.cfg.Now
	}
	return &Workers{rdb: s.rdb, workers: s.sp.Key("workers"), refusedKey: s.sp.Key("refused"), now: now}
}

// beatScript announces worker ARGV[1] as live until ARGV[2] (ms), drops
// the workers whose heartbeat ran out before ARGV[3], and the refusals of
// workers no longer live (a SIGKILLed worker's refusal must not stay).
var beatScript = redis.NewScript(`
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[1])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", "(" .. ARGV[3])
for _, id in ipairs(redis.call("HKEYS", KEYS[2])) do
  if not redis.call("ZSCORE", KEYS[1], id) then redis.call("HDEL", KEYS[2], id) end
end
return 1`)

// Beat announces worker id as live for HeartbeatTTL, and drops workers
// whose heartbeat ran out, with their refusals.
func (w *Workers) Beat(ctx context.Context, id string) error {
	now := w.now()
	return beatScript.Run(ctx, w.rdb, []string{w.workers, w.refusedKey}, id,
		now.Add(HeartbeatTTL).UnixMilli(), now.UnixMilli()).Err()
}

// Leave removes worker id from the registry: it stopped.
func (w *Workers) Leave(ctx context.Context, id string) error {
	pipe := w.rdb.TxPipeline()
	pipe.ZRem(ctx, w.workers, id)
	pipe.HDel(ctx, w.refusedKey, id)
	_, err := pipe.Exec(ctx)
	return err
}

// Refuse records that GeeLark refused worker id with code, until until (its
// next probe).
func (w *Workers) Refuse(ctx context.Context, id string, code int, until time.Time) error {
	return w.rdb.HSet(ctx, w.refusedKey, id, strconv.Itoa(code)+" "+strconv.FormatInt(until.UnixMilli(), 10)).Err()
}

// Accept clears worker id's refusal: a call of its went through.
func (w *Workers) Accept(ctx context.Context, id string) error {
	return w.rdb.HDel(ctx, w.refusedKey, id).Err()
}

// Live returns the IDs of the live workers.
func (w *Workers) Live(ctx context.Context) ([]string, error) {
	return w.rdb.ZRangeByScore(ctx, w.workers, &redis.ZRangeBy{
		Min: strconv.FormatInt(w.now().UnixMilli(), 10), Max: "+inf"}).Result()
}

// AllRefused reports whether every live worker is refused now: then the
// problem is the account's, not one worker's.
func (w *Workers) AllRefused(ctx context.Context) (bool, error) {
	live, err := w.Live(ctx)
	if err != nil || len(live) == 0 {
		return false, err
	}
	refused, err := w.rdb.HGetAll(ctx, w.refusedKey).Result()
	if err != nil {
		return false, err
	}
	now := w.now().UnixMilli()
	for _, id := range live {
		v, ok := refused[id]
		if !ok {
			return false, nil
		}
		_, until, _ := strings.Cut(v, " ")
		if ms, _ := strconv.ParseInt(until, 10, 64); ms <= now {
			return false, nil
		}
	}
	return true, nil
}
