package enqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/tasks"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/encoding/protowire"
)

// errDuplicate marks a phone that already had a start in flight.
var errDuplicate = errors.New("duplicate")

// chunkSize is how many phones one Lua call enqueues: large enough that
// 100,000 phones take 200 round trips, small enough that one call holds
// Redis for about a millisecond.
const chunkSize = 500

// enqueueChunkScript enqueues a chunk of start tasks in one round trip,
// writing exactly what asynq v0.26's Client.Enqueue (or Schedule) writes for
// each: the task hash asynq:{q}:t:<id> with its encoded message and state,
// and the ID in the pending list (or the scheduled set). A phone whose task
// exists is a duplicate unless the task has completed or been archived;
// then the old task is removed first, in the same atomic step.
//
// KEYS[1] asynq:queues, KEYS[2] pending list, KEYS[3] scheduled set,
// KEYS[4] completed set, KEYS[5] archived set, KEYS[5+i] task hash i.
// ARGV[1] queue, ARGV[2] process-at Unix seconds (0: now), ARGV[3] now in
// Unix nanoseconds, ARGV[2+2i] task ID i, ARGV[3+2i] message i.
// Returns one integer per task: 1 enqueued, 0 duplicate.
var enqueueChunkScript = redis.NewScript(`
redis.call("SADD", KEYS[1], ARGV[1])
local out = {}
local n = #KEYS - 5
for i = 1, n do
  local key = KEYS[5 + i]
  local id = ARGV[2 + 2 * i]
  local state = redis.call("HGET", key, "state")
  if state == "completed" then
    redis.call("ZREM", KEYS[4], id)
    redis.call("DEL", key)
    state = false
  elseif state == "archived" then
    redis.call("ZREM", KEYS[5], id)
    redis.call("DEL", key)
    state = false
  end
  if state then
    out[i] = 0
  elseif ARGV[2] == "0" then
    redis.call("HSET", key, "msg", ARGV[3 + 2 * i], "state", "pending", "pending_since", ARGV[3])
    redis.call("LPUSH", KEYS[2], id)
    out[i] = 1
  else
    redis.call("HSET", key, "msg", ARGV[3 + 2 * i], "state", "scheduled")
    redis.call("ZADD", KEYS[3], ARGV[2], id)
    out[i] = 1
  end
end
return out`)

// encodeMessage is asynq v0.26's base.EncodeMessage for a start task: the
// protobuf TaskMessage (internal/proto/asynq.proto) with type (1),
// payload (2), id (3), queue (4), retry (5), timeout (8) and retention (12).
// Fields left at zero are omitted, as proto3 does.
func encodeMessage(taskType string, payload []byte, id, queue string, retry int, timeout, retention time.Duration) []byte {
	b := make([]byte, 0, 64+len(payload)+len(id))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, taskType)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, payload)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, id)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, queue)
	if retry != 0 {
		b = protowire.AppendTag(b, 5, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int32(retry)))
	}
	if s := int64(timeout.Seconds()); s != 0 {
		b = protowire.AppendTag(b, 8, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(s))
	}
	if s := int64(retention.Seconds()); s != 0 {
		b = protowire.AppendTag(b, 12, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(s))
	}
	return b
}

// enqueueChunks enqueues ids in chunks of chunkSize, up to c.parallel chunks
// in flight. results[i] is nil, errDuplicate or the error of ids[i]'s chunk.
// settled, when set, is called with the size of each chunk once it is done.
func (c *Client) enqueueChunks(ctx context.Context, ids []string, opts geelark.StartOptions, processAt time.Time, settled func(int)) []error {
	results := make([]error, len(ids))
	at := "0"
	if !processAt.IsZero() && processAt.After(time.Now()) {
		at = strconv.FormatInt(processAt.Unix(), 10)
	}
	type chunk struct{ lo, hi int }
	next := make(chan chunk)
	var wg sync.WaitGroup
	for range min(c.parallel, (len(ids)+chunkSize-1)/chunkSize) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range next {
				c.enqueueChunk(ctx, ids[ch.lo:ch.hi], opts, at, results[ch.lo:ch.hi])
				if settled != nil {
					settled(ch.hi - ch.lo)
				}
			}
		}()
	}
	for lo := 0; lo < len(ids); lo += chunkSize {
		hi := min(lo+chunkSize, len(ids))
		if err := ctx.Err(); err != nil {
			for i := lo; i < hi; i++ {
				results[i] = err
			}
			continue
		}
		next <- chunk{lo, hi}
	}
	close(next)
	wg.Wait()
	return results
}

// enqueueChunk enqueues ids in one Lua call and writes their results.
func (c *Client) enqueueChunk(ctx context.Context, ids []string, opts geelark.StartOptions, at string, results []error) {
	fail := func(err error) {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		for i := range results {
			results[i] = err
		}
	}
	prefix := "asynq:{" + tasks.Queue + "}:"
	keys := make([]string, 0, 5+len(ids))
	keys = append(keys, "asynq:queues", prefix+"pending", prefix+"scheduled", prefix+"completed", prefix+"archived")
	args := make([]any, 0, 3+2*len(ids))
	args = append(args, tasks.Queue, at, time.Now().UnixNano())
	for _, id := range ids {
		task, err := tasks.NewStartTask(id, opts)
		if err != nil {
			fail(err) // validated before; cannot happen
			return
		}
		tid := tasks.TaskID(id)
		keys = append(keys, prefix+"t:"+tid)
		args = append(args, tid, encodeMessage(task.Type(), task.Payload(), tid, tasks.Queue, tasks.MaxRetry, tasks.Timeout, c.retention))
	}
	res, err := enqueueChunkScript.Run(ctx, c.rdb, keys, args...).Int64Slice()
	if err != nil {
		fail(fmt.Errorf("enqueue %d phones: %w", len(ids), err))
		return
	}
	for i := range results {
		if i < len(res) && res[i] == 1 {
			results[i] = nil
		} else {
			results[i] = errDuplicate
		}
	}
}
