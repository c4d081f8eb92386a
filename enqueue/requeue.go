package enqueue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// requeueLockPrefix starts the key of the lock a producer holds while it
// replaces a phone's finished task; the phone's ID ends it. The key is
// phonestart's own, not asynq's.
const requeueLockPrefix = "phonestart:enqueue:requeue:"

const (
	// requeueLockTTL frees the lock of a producer that died holding it.
	requeueLockTTL = 30 * time.Second
	// requeueLockPoll is how often a producer looks whether another has
	// released the lock it waits for.
	requeueLockPoll = 5 * time.Millisecond
	// requeueAttempts bounds the look-up, delete and enqueue rounds for one
	// phone; each round after the first means another producer enqueued
	// the phone meanwhile, so a phone still contended after them is a
	// duplicate.
	requeueAttempts = 3
)

// replaceFinished is writeOne's path for a phone whose task ID is taken:
// it looks the task up, and when the task has completed or was archived,
// deletes it and enqueues task in its place. A task in any other state
// makes the phone a duplicate.
//
// asynq's Inspector deletes a task whatever its state, so two producers
// that both saw a finished task could each delete the other's fresh one
// and both enqueue: a per-phone lock makes the look-up, delete and enqueue
// one step among producers. One producer wins; the others, once it is
// done, find its task pending and report a duplicate.
//
// queue and taskID name the task's place (a start's, or a stop's queue).
func (c *Client) replaceFinished(ctx context.Context, id, queue, taskID string, task *asynq.Task) error {
	unlock, err := c.lockPhone(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	for range requeueAttempts {
		info, err := c.insp.GetTaskInfo(queue, taskID)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound):
			// Deleted meanwhile (its retention ran out): enqueue afresh.
		case err != nil:
			return fmt.Errorf("look up the phone's %s task: %w", queue, err)
		case info.State == asynq.TaskStateCompleted || info.State == asynq.TaskStateArchived:
			err := c.insp.DeleteTask(queue, info.ID)
			if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
				return fmt.Errorf("delete the phone's %v %s task: %w", info.State, queue, err)
			}
		default:
			return errDuplicate
		}
		_, err = c.aq.EnqueueContext(ctx, task)
		if !errors.Is(err, asynq.ErrTaskIDConflict) {
			return err
		}
		// A producer's first enqueue of the phone, which takes no lock,
		// came between: look again.
	}
	return errDuplicate
}

// unlockScript deletes a lock only if it is still the caller's.
var unlockScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0`)

// lockPhone takes the requeue lock of a phone, waiting while another
// producer holds it, and returns what releases it.
func (c *Client) lockPhone(ctx context.Context, id string) (unlock func(), err error) {
	key := requeueLockPrefix + id
	token := make([]byte, 16)
	rand.Read(token)
	tok := hex.EncodeToString(token)
	for {
		ok, err := c.rdb.SetNX(ctx, key, tok, requeueLockTTL).Result()
		if err != nil {
			return nil, fmt.Errorf("lock the phone to replace its finished task: %w", err)
		}
		if ok {
			return func() {
				// Not ctx: the lock must go even when the request was cancelled.
				unlockScript.Run(context.WithoutCancel(ctx), c.rdb, []string{key}, tok)
			}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(requeueLockPoll):
		}
	}
}
