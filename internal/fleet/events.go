package fleet

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Event is one step of a phone's life, as the events stream holds it. The
// stream's fields are those of Event by their JSON names, all strings;
// req and label are space-separated lists.
type Event struct {
	// StreamID is the stream entry's ID.
	StreamID string    `json:"-"`
	Phone    string    `json:"id"`
	Event    string    `json:"event"`
	Action   string    `json:"action,omitempty"`
	Attempt  int       `json:"attempt,omitempty"`
	Code     int       `json:"code,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Msg      string    `json:"msg,omitempty"`
	URL      string    `json:"url,omitempty"`
	At       time.Time `json:"at"`
	Requests []string  `json:"req,omitempty"`
	Labels   []string  `json:"label,omitempty"`
}

// Events reads the events stream of one deployment.
type Events struct {
	rdb redis.UniversalClient
	key string
}

// Events returns the store's events stream.
func (s *Store) Events() *Events { return &Events{rdb: s.rdb, key: s.sp.EventsKey()} }

// Read returns up to count events after the stream entry after ("0" or ""
// for the oldest kept), oldest first. block > 0 waits that long for one.
func (e *Events) Read(ctx context.Context, after string, count int, block time.Duration) ([]Event, error) {
	if after == "" {
		after = "0"
	}
	args := &redis.XReadArgs{Streams: []string{e.key, after}, Count: int64(count), Block: -1}
	if block > 0 {
		args.Block = block
	}
	res, err := e.rdb.XRead(ctx, args).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, s := range res {
		for _, m := range s.Messages {
			out = append(out, eventOf(m))
		}
	}
	return out, nil
}

// Last returns the ID of the newest stream entry ("0" when empty), to read
// only what comes after it.
func (e *Events) Last(ctx context.Context) (string, error) {
	res, err := e.rdb.XRevRangeN(ctx, e.key, "+", "-", 1).Result()
	if err != nil || len(res) == 0 {
		return "0", err
	}
	return res[0].ID, nil
}

// Trimmed reports whether entries after the stream entry after may have
// been trimmed away (the stream's cap): the oldest entry kept is newer
// than after. A reader resuming from after has then missed events.
func (e *Events) Trimmed(ctx context.Context, after string) (bool, error) {
	if after == "" || after == "0" || after == "0-0" {
		return false, nil
	}
	res, err := e.rdb.XRangeN(ctx, e.key, "-", "+", 1).Result()
	if err != nil || len(res) == 0 {
		return false, err
	}
	return streamLess(after, res[0].ID), nil
}

// streamLess reports whether stream ID a comes before b.
func streamLess(a, b string) bool {
	a1, a2, _ := strings.Cut(a, "-")
	b1, b2, _ := strings.Cut(b, "-")
	if x, y := atoi64(a1), atoi64(b1); x != y {
		return x < y
	}
	return atoi64(a2) < atoi64(b2)
}

func eventOf(m redis.XMessage) Event {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	return Event{StreamID: m.ID, Phone: str("id"), Event: str("event"), Action: str("action"),
		Attempt: atoi(str("attempt")), Code: atoi(str("code")), Reason: str("reason"), Msg: str("msg"),
		URL: str("url"), At: parseTime(str("at")), Requests: strings.Fields(str("req")), Labels: strings.Fields(str("label"))}
}
