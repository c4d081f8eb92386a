package fleet

import (
	"context"
	"errors"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/tasks"
)

// parkedKey holds the phones sent back to wait out a fleet pause: when
// the pause is lifted early, they are run at once instead of at its end.
const parkedKey = Prefix + "parked"

// Park records that the phones named wait for the fleet pause to end.
func (p *Pauses) Park(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = id
	}
	return p.rdb.SAdd(ctx, parkedKey, members...).Err()
}

// runParked moves the parked phones' tasks from asynq's retry set back to
// pending (asynq's Inspector), and forgets them. It returns how many ran.
func (p *Pauses) runParked(ctx context.Context) (int, error) {
	ids, err := p.rdb.SMembers(ctx, parkedKey).Result()
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	insp := asynq.NewInspectorFromRedisClient(p.rdb)
	n := 0
	for _, id := range ids {
		err := insp.RunTask(tasks.Queue, tasks.TaskID(id))
		switch {
		case err == nil:
			n++
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		default:
			// Already pending or being started: nothing to hurry.
		}
	}
	return n, p.rdb.Del(ctx, parkedKey).Err()
}
