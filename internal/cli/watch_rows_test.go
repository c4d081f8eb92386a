package cli_test

import (
	"slices"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/cli"
)

func TestWatchCountsStartedOverARealMinute(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	var ats []time.Time
	var ns []int
	// A burst of 500 phones in the first second, then 10 a second for two
	// minutes.
	total := 1000
	for s := 0; s <= 120; s++ {
		ats = append(ats, t0.Add(time.Duration(s)*time.Second))
		ns = append(ns, total)
		if s == 0 {
			total += 500
		} else {
			total += 10
		}
	}
	lines := cli.StartedRate(ats, ns)
	want := map[int]string{
		0:   "- (counting: shown after a second)",
		1:   "500 in the last 1s (a minute not yet seen)", // not projected to 30,000 a minute
		30:  "790 in the last 30s (a minute not yet seen)",
		60:  "1090 in the last minute",
		61:  "600 in the last minute", // the burst has left the window
		120: "600 in the last minute",
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("after %ds: %q, want %q", i, lines[i], w)
		}
	}
}

func TestWatchDeadRowsAddUpToDead(t *testing.T) {
	t.Parallel()
	sum := func(rows []cli.DeadRow) int {
		n := 0
		for _, r := range rows {
			n += r.N
		}
		return n
	}
	codes := func(rows []cli.DeadRow) []string {
		var c []string
		for _, r := range rows {
			c = append(c, r.Code)
		}
		return c
	}
	byCode := map[int]int{42001: 85, 43004: 41, 47002: 9, 45002: 7, 0: 3, 43020: 2, 40000: 1}
	rows := cli.DeadRows(byCode, 148)
	if got, want := codes(rows), []string{"42001", "43004", "47002", "45002", "0", "other"}; !slices.Equal(got, want) {
		t.Errorf("rows %v, want codes %v", rows, want)
	}
	if sum(rows) != 148 || rows[5].N != 3 {
		t.Errorf("rows %v add up to %d, want 148 with other = 3", rows, sum(rows))
	}
	// Phones dead since the breakdown was read have a row of their own.
	rows = cli.DeadRows(byCode, 160)
	if last := rows[len(rows)-1]; last.Code != "new" || last.N != 12 || sum(rows) != 160 {
		t.Errorf("rows %v, want a last row new 12 and a sum of 160", rows)
	}
	rows = cli.DeadRows(map[int]int{42001: 2, 43004: 1}, 3)
	if got := codes(rows); !slices.Equal(got, []string{"42001", "43004"}) || sum(rows) != 3 {
		t.Errorf("rows %v", rows)
	}
}
