// Package redistest gives each test a Redis of its own: an embedded
// miniredis by default, or, when REDIS_URL is set, an empty database of that
// real server which the test claims, uses and empties again. A database that
// holds any key when the test looks at it is never touched.
package redistest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// LockKey marks a real Redis database as claimed by a running test; it is
// the harness's key, not phonestart's.
const LockKey = "phonestart-test:claimed"

const lockKey = LockKey

// Redis is one test's Redis.
type Redis struct {
	// URL reaches the test's database, for clients and subprocesses.
	URL string
	// Real is true against a real server (REDIS_URL), false on miniredis.
	Real bool
	// Mini is the embedded server, nil when Real.
	Mini *miniredis.Miniredis
}

// Client returns a new client of the test's database, closed when the test
// ends.
func (r *Redis) Client(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// New returns a Redis for t. With REDIS_URL set it claims the first empty
// database of that server (waiting up to a minute for one to free up) and
// flushes it when t ends; without, it starts a miniredis.
func New(t testing.TB) *Redis {
	t.Helper()
	base := os.Getenv("REDIS_URL")
	if base == "" {
		m := miniredis.RunT(t)
		return &Redis{URL: "redis://" + m.Addr() + "/0", Mini: m}
	}
	opt, err := redis.ParseURL(base)
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	for {
		for db := 1; db < 64; db++ {
			o := *opt
			o.DB = db
			c := redis.NewClient(&o)
			ok, err := claim(ctx, c)
			if err != nil {
				c.Close()
				if db == 1 {
					t.Fatalf("REDIS_URL %s: %v", o.Addr, err)
				}
				break // past the server's last database
			}
			if !ok {
				c.Close()
				continue
			}
			t.Cleanup(func() {
				c.FlushDB(context.Background())
				c.Close()
			})
			return &Redis{URL: dbURL(opt, db), Real: true}
		}
		if time.Now().After(deadline) {
			t.Fatalf("REDIS_URL: no empty database to claim after a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// claim takes db for this test if it is empty.
var claimScript = redis.NewScript(`
if redis.call("DBSIZE") ~= 0 then return 0 end
redis.call("SET", KEYS[1], "1", "EX", 3600)
return 1`)

func claim(ctx context.Context, c *redis.Client) (bool, error) {
	n, err := claimScript.Run(ctx, c, []string{lockKey}).Int()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// dbURL is REDIS_URL pointed at db, keeping its credentials so that
// subprocesses authenticate too.
func dbURL(o *redis.Options, db int) string {
	u := url.URL{Scheme: "redis", Host: o.Addr, Path: fmt.Sprintf("/%d", db)}
	if o.TLSConfig != nil {
		u.Scheme = "rediss"
	}
	if o.Password != "" {
		u.User = url.UserPassword(o.Username, o.Password)
	} else if o.Username != "" {
		u.User = url.User(o.Username)
	}
	return u.String()
}
