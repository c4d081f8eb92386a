package enqueue

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/internal/fleet"
)

// chunkSize is how many phones one record script takes: Progress is called
// once per chunk. 100,000 phones make 200 chunks.
const chunkSize = 500

// placed is what place did with a request's phones.
type placed struct {
	request    string
	placed     int      // phones that took the request
	dups       []string // phones that already had it under way, or were given twice
	superseded int      // phones whose other intent, still waiting, it replaced
}

// place writes request in's phones: their records, a chunk a script, then
// the tasks of the phones that took it, c.parallel at a time. progress,
// when set, is called once per chunk.
func (c *Client) place(ctx context.Context, in fleet.Intent, given []string, progress func(done, total int)) (placed, error) {
	ids, dups := unique(given)
	in.Request = fleet.NewRequestID(time.Now())
	res := placed{request: in.Request, dups: dups}
	for lo := 0; lo < len(ids); lo += chunkSize {
		hi := min(lo+chunkSize, len(ids))
		if err := ctx.Err(); err != nil {
			return res, err
		}
		in.More = hi < len(ids)
		ps, err := c.store.Place(ctx, in, ids[lo:hi])
		if err != nil {
			return res, fmt.Errorf("enqueue: %w", err)
		}
		var fresh, stale []fleet.Placed
		for _, p := range ps {
			if !p.New {
				res.dups = append(res.dups, p.ID)
				continue
			}
			fresh = append(fresh, p)
			if p.Superseded != "" {
				res.superseded++
				stale = append(stale, p)
			}
		}
		err = c.writeTasks(ctx, in, fresh)
		res.placed += len(fresh)
		c.dropSuperseded(in.Action, stale)
		if progress != nil {
			progress(hi, len(ids))
		}
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// writeTasks writes the task of each phone of ps, c.parallel at a time, and
// returns the first error. A task whose write failed is written by the
// workers' reconciler: the phone's record is there.
func (c *Client) writeTasks(ctx context.Context, in fleet.Intent, ps []fleet.Placed) error {
	if len(ps) == 0 {
		return nil
	}
	var mu sync.Mutex
	var first error
	jobs := make(chan fleet.Placed)
	var wg sync.WaitGroup
	for range min(c.parallel, len(ps)) {
		wg.Go(func() {
			for p := range jobs {
				if err := c.writeTask(ctx, in, p); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("enqueue: phone %s: %w", p.ID, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, p := range ps {
		if ctx.Err() != nil {
			break
		}
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// writeTask writes one placed phone's task. A stop's task carries its
// exact time, as the reconciler's does: asynq schedules to the second.
func (c *Client) writeTask(ctx context.Context, in fleet.Intent, p fleet.Placed) error {
	ts := fleet.TaskSpec{Action: in.Action, ID: p.ID, Gen: p.Gen, Task: p.Task, At: in.Due, Options: in.Options}
	if in.Action == fleet.ActionStop {
		ts.NotBefore = in.Due
	}
	t, err := c.store.Space().NewTask(ts)
	if err != nil {
		return err
	}
	return fleet.WriteTask(ctx, c.aq, t)
}

// dropSuperseded deletes the tasks of intents a request replaced before
// they reached GeeLark. They would do nothing when they run (their
// generation is stale); deleting them only keeps asynq's sets small, so a
// failure is ignored.
func (c *Client) dropSuperseded(action string, ps []fleet.Placed) {
	queue := c.store.Space().StopQueue() // a start replaces a stop
	if action == fleet.ActionStop {
		queue = c.store.Space().StartQueue()
	}
	for _, p := range ps {
		_ = c.insp.DeleteTask(queue, p.Superseded)
	}
}

// autoPipeliner is a Redis client that can batch the commands of
// concurrent callers into pipelines (go-redis's *redis.Client).
type autoPipeliner interface {
	AutoPipeline() (*redis.AutoPipeliner, error)
}

// batched returns what asynq's Client should write through: rdb's
// autopipeliner when it has one, else rdb. The autopipeliner gathers the
// commands that Start's goroutines send at once into one pipeline, so the
// 256 enqueues in flight cost a few round trips instead of 256, each caller
// still waiting for its own reply (asynq sees an ordinary client). go-redis
// marks it experimental: an upgrade that changed it would make Start fall
// back to rdb, slower but writing the same (a test catches the fallback).
func batched(rdb redis.UniversalClient) redis.UniversalClient {
	if a, ok := rdb.(autoPipeliner); ok {
		if ap, err := a.AutoPipeline(); err == nil {
			return ap
		}
	}
	return rdb
}
