package fleet_test

import (
	"slices"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
)

func TestSentMarksUntilCleared(t *testing.T) {
	t.Parallel()
	r, rdb := newRedis(t)
	s := fleet.NewSent(rdb)
	ids := []string{"a", "b", "c"}
	if err := s.Mark(t.Context(), "trace-1", ids[:2]); err != nil {
		t.Fatal(err)
	}
	got, err := s.Marked(t.Context(), ids)
	if err != nil || !slices.Equal(got, []bool{true, true, false}) {
		t.Fatalf("Marked after marking a and b: %v, %v", got, err)
	}
	// A second handle (another worker) sees the marks.
	if got, _ := fleet.NewSent(r.Client(t)).Marked(t.Context(), ids); !slices.Equal(got, []bool{true, true, false}) {
		t.Fatalf("another worker sees marks %v", got)
	}
	if err := s.Clear(t.Context(), []string{"a", "c"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Marked(t.Context(), ids); !slices.Equal(got, []bool{false, true, false}) {
		t.Fatalf("Marked after clearing a: %v", got)
	}
	// A mark is forgotten after SentTTL.
	s.Now = func() time.Time { return time.Now().Add(fleet.SentTTL + time.Minute) }
	if got, _ := s.Marked(t.Context(), ids); !slices.Equal(got, []bool{false, false, false}) {
		t.Fatalf("Marked after SentTTL: %v", got)
	}
	if got, err := s.Marked(t.Context(), nil); err != nil || len(got) != 0 {
		t.Fatalf("Marked of nothing: %v, %v", got, err)
	}
	if err := s.Clear(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
}
