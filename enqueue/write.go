package enqueue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/tasks"
	"github.com/redis/go-redis/v9"
)

// errDuplicate marks a phone that already had a start in flight.
var errDuplicate = errors.New("duplicate")

// chunkSize is how many phones settle together: Progress is called, and
// afterChunk runs, once per chunk. 100,000 phones make 200 chunks.
const chunkSize = 500

// chunk is a run of a request's phones and their results.
type chunk struct {
	ids     []string
	results []error
	left    atomic.Int64 // phones not yet written
}

// write enqueues ids, c.parallel at a time, each with tasks.NewStartTask
// and extra. results[i] is nil (enqueued), errDuplicate or the error of
// ids[i]. Once every phone of a chunk is written, that chunk's step runs
// (afterChunk, then settled with the chunk's size), on the goroutine that
// wrote the chunk's last phone; stepErr is the first error of a step.
func (c *Client) write(ctx context.Context, ids []string, opts geelark.StartOptions, stopAfter time.Duration, extra []asynq.Option, settled func(int)) (results []error, stepErr error) {
	results = make([]error, len(ids))
	var stepMu sync.Mutex
	finish := func(ch *chunk) {
		if err := c.chunkWritten(ctx, ch); err != nil {
			stepMu.Lock()
			if stepErr == nil {
				stepErr = err
			}
			stepMu.Unlock()
		}
		if settled != nil {
			settled(len(ch.ids))
		}
	}
	type job struct {
		ch *chunk
		i  int // within ch
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range min(c.parallel, len(ids)) {
		wg.Go(func() {
			for j := range jobs {
				j.ch.results[j.i] = c.writeOne(ctx, j.ch.ids[j.i], opts, stopAfter, extra)
				if j.ch.left.Add(-1) == 0 {
					finish(j.ch)
				}
			}
		})
	}
	for lo := 0; lo < len(ids); lo += chunkSize {
		hi := min(lo+chunkSize, len(ids))
		ch := &chunk{ids: ids[lo:hi], results: results[lo:hi]}
		ch.left.Store(int64(hi - lo))
		for i := range ch.ids {
			if err := ctx.Err(); err != nil {
				// Not sent: settle here what the goroutines won't see.
				for k := i; k < len(ch.ids); k++ {
					ch.results[k] = err
				}
				if ch.left.Add(-int64(len(ch.ids)-i)) == 0 {
					finish(ch)
				}
				break
			}
			jobs <- job{ch, i}
		}
	}
	close(jobs)
	wg.Wait()
	return results, stepErr
}

// chunkWritten is the step that runs once per chunk, with its writes done:
// afterChunk with the phones newly enqueued, when there are any.
func (c *Client) chunkWritten(ctx context.Context, ch *chunk) error {
	if c.afterChunk == nil {
		return nil
	}
	var enqueued []string
	for i, err := range ch.results {
		if err == nil {
			enqueued = append(enqueued, ch.ids[i])
		}
	}
	if len(enqueued) == 0 {
		return nil
	}
	if err := c.afterChunk(ctx, enqueued); err != nil {
		return fmt.Errorf("enqueue: after enqueueing %d phones: %w", len(enqueued), err)
	}
	return nil
}

// writeOne enqueues the start task of one phone. It returns nil when the
// task was written and errDuplicate when the phone's start is pending,
// scheduled, retrying or under way. A phone whose task has completed or
// was archived gets a fresh task in its place.
func (c *Client) writeOne(ctx context.Context, id string, opts geelark.StartOptions, stopAfter time.Duration, extra []asynq.Option) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	task, err := tasks.NewRetryTask(tasks.StartPhone{ID: id, Options: opts, StopAfter: stopAfter}, extra...)
	if err != nil {
		return err // validated before; cannot happen
	}
	_, err = c.aq.EnqueueContext(ctx, task)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return c.replaceFinished(ctx, id, tasks.Queue, tasks.TaskID(id), task)
	}
	return err
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
// still waiting for its own reply (asynq sees an ordinary client). It is
// what makes Start several times faster than a loop of Enqueue; without
// it, Start is about as fast as 8 goroutines enqueueing (BENCHMARKS.md).
// go-redis marks it experimental: an upgrade that changed it would make
// Start fall back to rdb, slower but writing the same (a test catches the
// fallback).
func batched(rdb redis.UniversalClient) redis.UniversalClient {
	if a, ok := rdb.(autoPipeliner); ok {
		if ap, err := a.AutoPipeline(); err == nil {
			return ap
		}
	}
	return rdb
}
