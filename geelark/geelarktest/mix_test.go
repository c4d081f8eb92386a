package geelarktest_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/phonestart/phonestart/geelark/geelarktest"
)

func TestMix(t *testing.T) {
	t.Parallel()
	mix := geelarktest.Mix()
	// pattern describes a phone's first five attempts, e.g. "47002 47002 0 0 0".
	pattern := func(id string) string {
		s := ""
		for a := 1; a <= 5; a++ {
			s += fmt.Sprint(mix(id, a).Code, " ")
		}
		return s
	}
	want := map[string]float64{
		"0 0 0 0 0 ":                     0.88,
		"47002 0 0 0 0 ":                 0.025,
		"47002 47002 0 0 0 ":             0.025,
		"43020 0 0 0 0 ":                 0.03,
		"42001 42001 42001 42001 42001 ": 0.02,
		"43004 43004 43004 43004 43004 ": 0.01,
		"45002 45002 45002 0 0 ":         0.01,
	}
	const n = 50_000
	got := map[string]int{}
	for i := range n {
		id := fmt.Sprintf("%019d", 522340000000000000+int64(i)*7919)
		p := pattern(id)
		if i < 1000 && p != pattern(id) {
			t.Fatalf("%s: not deterministic", id)
		}
		got[p]++
	}
	for p, c := range got {
		share, ok := want[p]
		if !ok {
			t.Errorf("undocumented outcome pattern %q for %d IDs", p, c)
			continue
		}
		if d := math.Abs(float64(c)/n - share); d > 0.005 {
			t.Errorf("pattern %q: share %.4f, want %.3f", p, float64(c)/n, share)
		}
	}
	if mix("x", 1).Msg != "" {
		t.Error("Mix sets Msg; the fake fills in the code's meaning")
	}
}
