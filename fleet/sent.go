package fleet

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentTTL is how long a phone stays marked as sent without an answer. A
// phone whose task is not run again within it (purged, cancelled) is
// forgotten; one run again later is started without a check.
const SentTTL = 7 * 24 * time.Hour

// Sent marks the phones whose start call went out and whose outcome nobody
// heard: a worker killed mid-call, a timeout, an unreadable reply, an ID
// missing from the reply. A phone still marked when it comes round again is
// checked with GeeLark's status endpoint before it is started a second time.
type Sent struct{ rdb redis.UniversalClient }

// NewSent returns the marks kept in rdb.
func NewSent(rdb redis.UniversalClient) *Sent { return &Sent{rdb: rdb} }

// Mark marks ids as sent in call traceID, before the call goes out.
func (s *Sent) Mark(ctx context.Context, traceID string, ids []string) error {
	pipe := s.rdb.Pipeline()
	for _, id := range ids {
		pipe.Set(ctx, sentKey(id), traceID, SentTTL)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// Clear removes the marks of ids: their outcome is known.
func (s *Sent) Clear(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = sentKey(id)
	}
	// One DEL per key: no multi-key command, whatever Redis topology.
	pipe := s.rdb.Pipeline()
	for _, k := range keys {
		pipe.Del(ctx, k)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// Marked reports, for each of ids, whether it is marked as sent.
func (s *Sent) Marked(ctx context.Context, ids []string) ([]bool, error) {
	out := make([]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Exists(ctx, sentKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	for i, c := range cmds {
		out[i] = c.Val() == 1
	}
	return out, nil
}
