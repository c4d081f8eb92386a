package fleet

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Phones returns the records of ids, in order (State "" for a phone
// phonestart has no record of), 500 a round trip.
func (s *Store) Phones(ctx context.Context, ids ...string) ([]Phone, error) {
	out := make([]Phone, 0, len(ids))
	err := chunks(len(ids), 500, func(lo, hi int) error {
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, hi-lo)
		for i, id := range ids[lo:hi] {
			cmds[i] = pipe.HGetAll(ctx, s.sp.Key("phone", id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		for i, c := range cmds {
			out = append(out, phoneOf(ids[lo+i], c.Val()))
		}
		return nil
	})
	return out, err
}

// Phone returns the record of id (State "" when there is none).
func (s *Store) Phone(ctx context.Context, id string) (Phone, error) {
	p, err := s.Phones(ctx, id)
	if err != nil {
		return Phone{}, err
	}
	return p[0], nil
}

// Counts are the phones by live state, and the dead-letter entries.
type Counts struct {
	ByState map[string]int
	// Dead counts the dead-letter entries (a phone dead both starting and
	// stopping counts twice).
	Dead int
	// Started counts the phones GeeLark accepted a start of, ever: the
	// difference of two readings is the phones started in between.
	Started int
}

// Counts returns the phones in each live state, and the dead entries, in
// one round trip.
func (s *Store) Counts(ctx context.Context) (Counts, error) {
	pipe := s.rdb.Pipeline()
	h := pipe.HGetAll(ctx, s.sp.Key("count"))
	d := pipe.ZCard(ctx, s.sp.Key("dead", "ids"))
	if _, err := pipe.Exec(ctx); err != nil {
		return Counts{}, err
	}
	c := Counts{ByState: make(map[string]int, len(LiveStates)), Dead: int(d.Val()), Started: atoi(h.Val()["started"])}
	for _, st := range LiveStates {
		n, _ := strconv.Atoi(h.Val()[st])
		c.ByState[st] = max(n, 0)
	}
	return c, nil
}
