package fleet

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentTTL is how long a phone stays marked as sent without an answer. A
// phone whose task is not run again within it (purged, cancelled) is
// forgotten; one run again later is started without a check.
const SentTTL = 7 * 24 * time.Hour

// sentKey is the hash of the marks: phone ID to the Unix ms it was marked.
const sentKey = Prefix + "sent"

// Sent marks the phones whose start call went out and whose outcome nobody
// heard: a worker killed mid-call, a timeout, an unreadable reply, an ID
// missing from the reply. A phone still marked when it comes round again is
// checked with GeeLark's status endpoint before it is started a second time.
// The marks of one call are one hash write, its answer one more.
type Sent struct {
	rdb redis.UniversalClient
	// Now tells the age of marks. Default time.Now: a week's TTL needs no
	// better clock.
	Now func() time.Time
}

// NewSent returns the marks kept in rdb.
func NewSent(rdb redis.UniversalClient) *Sent { return &Sent{rdb: rdb, Now: time.Now} }

// Mark marks ids as sent, before their call goes out. traceID is for the
// caller's log; the mark holds the time.
func (s *Sent) Mark(ctx context.Context, traceID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	now := strconv.FormatInt(s.Now().UnixMilli(), 10)
	fields := make([]any, 0, 2*len(ids))
	for _, id := range ids {
		fields = append(fields, id, now)
	}
	return s.rdb.HSet(ctx, sentKey, fields...).Err()
}

// Clear removes the marks of ids: their outcome is known.
func (s *Sent) Clear(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.rdb.HDel(ctx, sentKey, ids...).Err()
}

// Marked reports, for each of ids, whether it is marked as sent (within
// SentTTL).
func (s *Sent) Marked(ctx context.Context, ids []string) ([]bool, error) {
	out := make([]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, sentKey, ids...).Result()
	if err != nil {
		return nil, err
	}
	oldest := s.Now().Add(-SentTTL).UnixMilli()
	var stale []string
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		if ms, _ := strconv.ParseInt(str, 10, 64); ms < oldest {
			stale = append(stale, ids[i])
			continue
		}
		out[i] = true
	}
	if len(stale) > 0 {
		_ = s.Clear(ctx, stale)
	}
	return out, nil
}
