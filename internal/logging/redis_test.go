package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/logging"
)

func TestRedisLinesGoThroughZapRateLimited(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := logging.New(&buf, "json")
	if err != nil {
		t.Fatal(err)
	}
	rl := logging.Redis(log)
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	rl.SetClock(func() time.Time { return now })
	ctx := context.Background()
	// A 12-second outage: go-redis reports a failed dial every 400ms.
	for range 30 {
		rl.Printf(ctx, "redis: %s:%d: connection pool: failed to dial after %d attempts: %v",
			"pool.go", 770, 5, "dial tcp 127.0.0.1:6399: connect: connection refused")
		now = now.Add(400 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("30 go-redis lines over 12s wrote %d lines, want 2 (one every 10s):\n%s", len(lines), buf.String())
	}
	var first, second map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	if first["level"] != "warn" || first["logger"] != "redis" || !strings.Contains(first["msg"].(string), "connection refused") {
		t.Errorf("first line %v: want a warn from logger redis with go-redis's text", first)
	}
	if strings.HasPrefix(first["msg"].(string), "redis: redis:") {
		t.Errorf("message %q repeats the prefix", first["msg"])
	}
	if _, ok := first["suppressed"]; ok {
		t.Errorf("first line %v counts suppressed lines before any was", first)
	}
	// Lines 2..25 (at 0.4s .. 9.6s) were suppressed; line 26 at 10.0s is written.
	if second["suppressed"] != float64(24) {
		t.Errorf("second line %v: want suppressed 24", second)
	}
}
