package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Requests. Every enqueue and stop is a request of its own: a record with
// its action, label and phones, and each phone's outcome, written by the
// script that ends the phone ("{NAME}:req:<ID>", with ":ids" the phones
// in the order given and ":out" their outcomes). A phone enqueued again
// while its start is under way joins the second request too, and its end
// counts for both. A request ends when its last phone does; it is kept for
// the retention after that.

// NewRequestID returns a fresh request ID: the time in base 36, then 12
// random hex digits, so that IDs sort by when they were made.
func NewRequestID(now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatInt(now.UnixMilli(), 36) + "-" + hex.EncodeToString(b[:])
}

var requestRE = regexp.MustCompile(`^[0-9a-z]{1,16}-[0-9a-f]{1,32}$`)

// ValidRequestID reports whether id has the shape NewRequestID gives.
func ValidRequestID(id string) bool { return requestRE.MatchString(id) }

var labelRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// ValidateLabel reports what is wrong with a request label ("" is none).
func ValidateLabel(label string) error {
	if label == "" || labelRE.MatchString(label) {
		return nil
	}
	return errors.New("want 1 to 64 ASCII letters, digits, '.', '_', ':' or '-'")
}

// Request is a request's record.
type Request struct {
	ID     string
	Action string
	Label  string
	At     time.Time // when it was made
	Ended  time.Time // when its last phone ended; zero while it is open
	// N is how many phones it has, Open how many have not ended.
	N, Open int
	// Notify is the URL told of its end; Each, of each phone's end too.
	Notify string
	Each   bool
	// IDs are its phones in the order given.
	IDs []string
	// Outcomes are its ended phones' outcomes, by phone.
	Outcomes map[string]Outcome
}

// Outcome is how a phone of a request ended.
type Outcome struct {
	State  string    `json:"state"` // StateReady, StateDead, StateCancelled, StateStopped
	Action string    `json:"action"`
	Code   int       `json:"code"`
	Reason string    `json:"reason"`
	Msg    string    `json:"msg"`
	URL    string    `json:"url"`
	At     time.Time `json:"at"`
}

// ErrNoRequest is the error of a request that does not exist (never made,
// or past its retention).
var ErrNoRequest = errors.New("no such request")

// Request reads request id whole, in one round trip.
func (s *Store) Request(ctx context.Context, id string) (Request, error) {
	k := s.sp.Key("req", id)
	pipe := s.rdb.Pipeline()
	h := pipe.HGetAll(ctx, k)
	ids := pipe.LRange(ctx, k+":ids", 0, -1)
	out := pipe.HGetAll(ctx, k+":out")
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Request{}, err
	}
	v := h.Val()
	if len(v) == 0 {
		return Request{}, ErrNoRequest
	}
	r := Request{ID: id, Action: v["action"], Label: v["label"], At: parseTime(v["at"]), Ended: parseTime(v["ended"]),
		N: atoi(v["n"]), Open: atoi(v["open"]), Notify: v["notify"], Each: v["each"] == "1", IDs: ids.Val(),
		Outcomes: make(map[string]Outcome, len(out.Val()))}
	for phone, o := range out.Val() {
		var oc Outcome
		if err := json.Unmarshal([]byte(o), &oc); err == nil {
			r.Outcomes[phone] = oc
		}
	}
	return r, nil
}

// RequestEnded reports whether request id has ended, and whether it
// exists, in one command.
func (s *Store) RequestEnded(ctx context.Context, id string) (ended, ok bool, err error) {
	v, err := s.rdb.HMGet(ctx, s.sp.Key("req", id), "action", "ended").Result()
	if err != nil {
		return false, false, err
	}
	if v[0] == nil {
		return false, false, nil
	}
	e, _ := v[1].(string)
	return e != "", true, nil
}
