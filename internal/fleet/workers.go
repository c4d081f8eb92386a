package fleet

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Keys of the worker registry: live workers scored by when their heartbeat
// runs out, and the workers GeeLark refused, with code and until.
const (
	workersKey = Prefix + "workers"
	refusedKey = Prefix + "refused"
)

// HeartbeatTTL is how long a worker counts as live after its last beat;
// workers beat three times as often.
const HeartbeatTTL = 15 * time.Second

// Workers is the registry of live workers: each announces itself with a
// heartbeat, and says when GeeLark refuses its credentials or address
// (codes that can be one worker's own problem). Only when every live worker
// is refused is the problem the account's.
type Workers struct {
	rdb redis.UniversalClient
	now func() time.Time
}

// NewWorkers returns the registry kept in rdb, on clock now (default: fleet
// time).
func NewWorkers(rdb redis.UniversalClient, now func() time.Time) *Workers {
	if now == nil {
		now = NewClock(rdb, nil).Now
	}
	return &Workers{rdb: rdb, now: now}
}

// Beat announces worker id as live for HeartbeatTTL, and drops workers
// whose heartbeat ran out.
func (w *Workers) Beat(ctx context.Context, id string) error {
	now := w.now()
	pipe := w.rdb.TxPipeline()
	pipe.ZAdd(ctx, workersKey, redis.Z{Score: float64(now.Add(HeartbeatTTL).UnixMilli()), Member: id})
	pipe.ZRemRangeByScore(ctx, workersKey, "-inf", "("+strconv.FormatInt(now.UnixMilli(), 10))
	_, err := pipe.Exec(ctx)
	return err
}

// Leave removes worker id from the registry: it stopped.
func (w *Workers) Leave(ctx context.Context, id string) error {
	pipe := w.rdb.TxPipeline()
	pipe.ZRem(ctx, workersKey, id)
	pipe.HDel(ctx, refusedKey, id)
	_, err := pipe.Exec(ctx)
	return err
}

// Refuse records that GeeLark refused worker id with code, until until (its
// next probe).
func (w *Workers) Refuse(ctx context.Context, id string, code int, until time.Time) error {
	return w.rdb.HSet(ctx, refusedKey, id, strconv.Itoa(code)+" "+strconv.FormatInt(until.UnixMilli(), 10)).Err()
}

// Accept clears worker id's refusal: a call of its went through.
func (w *Workers) Accept(ctx context.Context, id string) error {
	return w.rdb.HDel(ctx, refusedKey, id).Err()
}

// Live returns the IDs of the live workers.
func (w *Workers) Live(ctx context.Context) ([]string, error) {
	return w.rdb.ZRangeByScore(ctx, workersKey, &redis.ZRangeBy{
		Min: strconv.FormatInt(w.now().UnixMilli(), 10), Max: "+inf"}).Result()
}

// AllRefused reports whether every live worker is refused now: then the
// problem is the account's, not one worker's.
func (w *Workers) AllRefused(ctx context.Context) (bool, error) {
	live, err := w.Live(ctx)
	if err != nil || len(live) == 0 {
		return false, err
	}
	refused, err := w.rdb.HGetAll(ctx, refusedKey).Result()
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
