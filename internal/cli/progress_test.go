package cli

import (
	"strings"
	"testing"
	"time"
)

func TestProgressBarRedrawsOneLineAndEndsIt(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	now := time.Unix(0, 0)
	bar := newProgressBar(&out, func() time.Time { return now })
	for done := 1; done <= 1000; done++ {
		now = now.Add(time.Millisecond) // 1,000 phones a second
		bar.update(done, 1000)
	}
	bar.finish() // after the last update: no second line end
	s := out.String()
	if n := strings.Count(s, "\r"); n < 5 || n > 12 {
		t.Errorf("%d redraws over one second, want about one each 100ms", n)
	}
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Errorf("the bar's line is not ended exactly once: %q", s)
	}
	last := s[strings.LastIndex(s, "\r")+1:]
	for _, want := range []string{"[" + strings.Repeat("=", 30) + "]", "100%", "1000/1000", "1000/s"} {
		if !strings.Contains(last, want) {
			t.Errorf("last draw %q lacks %q", last, want)
		}
	}
}

func TestProgressBarEndsItsLineWhenCutShort(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	bar := newProgressBar(&out, time.Now)
	bar.update(10, 2000)
	bar.finish()
	if s := out.String(); !strings.Contains(s, "10/2000") || !strings.HasSuffix(s, "\n") {
		t.Fatalf("cut-short bar %q", s)
	}
}
