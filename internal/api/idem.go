package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/internal/fleet"
)

// MaxIdempotencyKey is the longest Idempotency-Key, in bytes.
const MaxIdempotencyKey = 255

// idempotency keeps the answers of POSTs by Idempotency-Key, per token:
// {NAME}:idem:<hex SHA-256 of the token's name, NUL, the key>. The key is
// taken with SET NX before the POST does anything, with a lease; the
// answer replaces the lease (compare-and-set on the lease) and is kept for
// the TTL. A POST that failed releases the key (compare-and-delete), so
// that the retry does it again.
type idempotency struct {
	rdb   redis.UniversalClient
	sp    fleet.Space
	ttl   time.Duration
	lease time.Duration
}

// idemRecord is a key's value: the lease of a POST under way, or its answer.
type idemRecord struct {
	// FP is the SHA-256 of the method, path and canonical body: the same
	// key with another FP is another request.
	FP       string `json:"fp"`
	Lease    string `json:"lease,omitempty"`
	Status   int    `json:"status,omitempty"`
	Body     []byte `json:"body,omitempty"`
	Location string `json:"location,omitempty"`
}

func (i *idempotency) key(c caller, key string) string {
	h := sha256.Sum256([]byte(c.name + "\x00" + key))
	return i.sp.Key("idem", hex.EncodeToString(h[:]))
}

// held is a key taken for one POST.
type held struct {
	key, value string
}

// take takes key for a POST of fingerprint fp. It returns the key held, or
// the record already there (an answer or another POST's lease).
func (i *idempotency) take(ctx context.Context, k, fp string) (*held, *idemRecord, error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	v, _ := json.Marshal(idemRecord{FP: fp, Lease: hex.EncodeToString(b[:])})
	ok, err := i.rdb.SetNX(ctx, k, v, i.lease).Result()
	if err != nil {
		return nil, nil, err
	}
	if ok {
		return &held{key: k, value: string(v)}, nil, nil
	}
	cur, err := i.read(ctx, k)
	if err != nil || cur == nil {
		return nil, nil, err // nil, nil, nil: it expired meanwhile: try again
	}
	return nil, cur, nil
}

func (i *idempotency) read(ctx context.Context, k string) (*idemRecord, error) {
	s, err := i.rdb.Get(ctx, k).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r idemRecord
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// settleIdem replaces KEYS[1] by ARGV[2] for ARGV[3] ms, or deletes it when
// ARGV[2] is "", only if it still holds ARGV[1]: our lease.
var settleIdem = redis.NewScript(`
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == "" then
  redis.call("DEL", KEYS[1])
else
  redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
end
return 1`)

// keep stores the answer of the POST that holds h.
func (i *idempotency) keep(ctx context.Context, h *held, fp string, status int, body []byte, location string) error {
	v, _ := json.Marshal(idemRecord{FP: fp, Status: status, Body: body, Location: location})
	return settleIdem.Run(ctx, i.rdb, []string{h.key}, h.value, string(v), i.ttl.Milliseconds()).Err()
}

// release frees h: its POST failed, and may be tried again with the key.
func (i *idempotency) release(ctx context.Context, h *held) error {
	return settleIdem.Run(ctx, i.rdb, []string{h.key}, h.value, "", 0).Err()
}

// validIdempotencyKey reports whether k is 1 to 255 printable ASCII
// characters.
func validIdempotencyKey(k string) bool {
	if k == "" || len(k) > MaxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
