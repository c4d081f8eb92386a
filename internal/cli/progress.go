package cli

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progressMin is the fewest IDs for which enqueue draws a progress bar.
const progressMin = 1000

// progressBar draws an enqueue's progress on one terminal line, redrawn in
// place at most every 100ms. Its update is an enqueue.Request.Progress,
// which is never called concurrently.
type progressBar struct {
	w           io.Writer
	now         func() time.Time
	began, last time.Time
	drawn, done bool // a line is on screen; it was ended
}

func newProgressBar(w io.Writer, now func() time.Time) *progressBar {
	return &progressBar{w: w, now: now, began: now()}
}

func (p *progressBar) update(done, total int) {
	now := p.now()
	if total <= 0 || p.done || done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.drawn = now, true
	const width = 30
	filled := width * done / total
	rate := ""
	if d := now.Sub(p.began).Seconds(); d > 0 {
		rate = fmt.Sprintf("  %.0f/s", float64(done)/d)
	}
	// \r returns to the start of the line; \x1b[K clears what a longer
	// line left behind.
	fmt.Fprintf(p.w, "\renqueue [%s%s] %3d%%  %d/%d%s\x1b[K",
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), 100*done/total, done, total, rate)
	if done == total {
		p.finish()
	}
}

// finish ends the bar's line, so that what follows starts on its own.
func (p *progressBar) finish() {
	if p.drawn && !p.done {
		fmt.Fprintln(p.w)
	}
	p.done = true
}
