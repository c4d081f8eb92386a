package fleet

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// stoppingKey is the set of phones that have a stop task pending, scheduled
// or retrying (tasks.StopQueue). It lets a start find the stop it cancels
// with one round trip per chunk of phones, rather than one asynq look-up
// per phone; a member whose stop is gone costs one look-up that finds
// nothing.
const stoppingKey = Prefix + "stopping"

// Stopping is the set of phones with a stop to come. It is safe for
// simultaneous use by multiple goroutines.
type Stopping struct{ rdb redis.UniversalClient }

// NewStopping returns the set kept in rdb.
func NewStopping(rdb redis.UniversalClient) *Stopping { return &Stopping{rdb: rdb} }

// Add records that ids have a stop to come.
func (s *Stopping) Add(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.rdb.SAdd(ctx, stoppingKey, toAny(ids)...).Err()
}

// Remove forgets ids: their stop ran, was cancelled or is dead.
func (s *Stopping) Remove(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.rdb.SRem(ctx, stoppingKey, toAny(ids)...).Err()
}

// Which returns those of ids that have a stop to come, in one round trip.
func (s *Stopping) Which(ctx context.Context, ids ...string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.BoolCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.SIsMember(ctx, stoppingKey, id)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	var out []string
	for i, c := range cmds {
		if c.Val() {
			out = append(out, ids[i])
		}
	}
	return out, nil
}

// Count returns how many phones have a stop to come.
func (s *Stopping) Count(ctx context.Context) (int, error) {
	n, err := s.rdb.SCard(ctx, stoppingKey).Result()
	return int(n), err
}

func toAny(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
