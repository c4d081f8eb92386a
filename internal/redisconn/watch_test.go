package redisconn_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/phonestart/phonestart/internal/redisconn"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// A Redis outage is one warning when it starts and one line when Redis is
// back, saying how long it was away: not one line per failed command.
func TestWatchLogsAnOutageOnceAndItsEnd(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	// No retries: each command fails at once while Redis is away. A pool
	// larger than the failed dials: go-redis stops dialling for a second
	// after as many failures as its pool size, which would make the test
	// wait for Redis's return in real time.
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialerRetries: 1, PoolSize: 1000})
	t.Cleanup(func() { rdb.Close() })
	core, logs := observer.New(zapcore.InfoLevel)
	clock := &fakeClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	redisconn.Watch(rdb, redisconn.WatchConfig{Addr: mr.Addr(), Logger: zap.New(core), Now: clock.Now})
	ctx := context.Background()

	// Answers of a Redis that is up, errors included, say nothing.
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Get(ctx, "no-such-key").Err(); err != redis.Nil {
		t.Fatalf("GET of a missing key: %v", err)
	}
	if err := rdb.Do(ctx, "NOSUCHCOMMAND").Err(); err == nil {
		t.Fatal("an unknown command succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	rdb.Ping(cancelled)
	if n := logs.Len(); n != 0 {
		t.Fatalf("%d lines while Redis is up: %v", n, logs.All())
	}

	outage := func(seconds int) {
		t.Helper()
		mr.Close()
		for range seconds {
			if err := rdb.Ping(ctx).Err(); err == nil {
				t.Fatal("PING answered while Redis is closed")
			}
			pipe := rdb.Pipeline()
			pipe.Incr(ctx, "n")
			pipe.Exec(ctx)
			clock.Advance(time.Second)
		}
		if err := mr.Restart(); err != nil {
			t.Fatal(err)
		}
		clock.Advance(500 * time.Millisecond)
		for range 3 {
			if err := rdb.Ping(ctx).Err(); err != nil {
				t.Fatalf("PING after the restart: %v", err)
			}
		}
	}
	outage(12)
	all := logs.All()
	if len(all) != 2 {
		t.Fatalf("a 12-second outage of 24 failed commands wrote %d lines, want 2: %v", len(all), all)
	}
	down, back := all[0], all[1]
	if down.Level != zapcore.WarnLevel || !strings.HasPrefix(down.Message, "Redis at "+mr.Addr()+" unreachable: ") ||
		!strings.Contains(down.Message, "connection refused") {
		t.Errorf("first line %s %q: want a warning \"Redis at %s unreachable: ...connection refused\"", down.Level, down.Message, mr.Addr())
	}
	if back.Level != zapcore.InfoLevel || !strings.Contains(back.Message, "Redis at "+mr.Addr()+" reachable again after 12.5s") {
		t.Errorf("second line %s %q: want info saying Redis is back after 12.5s", back.Level, back.Message)
	}
	if f := back.ContextMap(); f["away"] != 12500*time.Millisecond || f["failed_commands"] != int64(24) {
		t.Errorf("second line fields %v: want away 12.5s, failed_commands 24", f)
	}

	// A second outage is told again.
	outage(3)
	if all = logs.All(); len(all) != 4 || !strings.Contains(all[3].Message, "reachable again after 3.5s") {
		t.Errorf("after a second outage: %v, want 4 lines, the last back after 3.5s", all)
	}
}
