package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/phonestart/phonestart/internal/logging"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/queueadmin"
)

// Terminal escapes: clear the screen, move home, clear to the end of the
// line, clear to the end of the screen.
const (
	clearScreen = "\x1b[2J"
	home        = "\x1b[H"
	clearLine   = "\x1b[K"
	clearBelow  = "\x1b[J"
)

// watch prints the fleet's status every second until ctx is done: redrawn in
// place on a terminal, as blocks one after another otherwise. A Redis error
// is shown in the block and retried at the next tick.
func watch(ctx context.Context, out io.Writer, c *conn) error {
	tty := logging.IsTerminal(out)
	v := &watcher{rdb: c.rdb, sp: c.store.Space(), adm: c.adm}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	if tty {
		io.WriteString(out, clearScreen)
	}
	for {
		var b strings.Builder
		v.frame(ctx, &b, time.Now())
		frame := b.String() + "\n"
		if tty {
			// Overwrite the last frame in place rather than clear the
			// screen first: no flicker.
			frame = home + strings.ReplaceAll(b.String(), "\n", clearLine+"\n") + clearBelow
		}
		if _, err := io.WriteString(out, frame); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// watcher remembers what the rates and the dead-letter breakdown need
// between frames.
type watcher struct {
	rdb *redis.Client
	sp  fleet.Space
	adm *queueadmin.Admin

	started []sample    // phones started in total, over the last minute
	byCode  map[int]int // dead phones by code, nil until read
	deadN   int         // the dead count when byCode was read
	deadAt  time.Time   // when byCode was read
}

type sample struct {
	at time.Time
	n  int
}

func (v *watcher) frame(ctx context.Context, b *strings.Builder, now time.Time) {
	fmt.Fprintf(b, "phonestart status  %s  (every second; Ctrl-C stops)\n\n", now.UTC().Format(time.DateTime+" MST"))
	c, err := v.adm.Counts(ctx)
	if err != nil {
		fmt.Fprintf(b, "cannot read Redis: %v\n", err)
		return
	}
	printCounts(b, c)
	fmt.Fprintf(b, "started    %s\n", v.rate(now, c.Started))
	used, limit, err := fleet.BudgetUsed(ctx, v.rdb, v.sp, fleet.EndpointStart, now)
	switch {
	case err != nil:
		fmt.Fprintf(b, "api budget cannot read: %v\n", err)
	case limit == 0:
		fmt.Fprintln(b, "api budget no call metered yet")
	default:
		fmt.Fprintf(b, "api budget %d of %d calls this minute", used, limit)
		if used*10 >= limit*9 {
			b.WriteString(" (at the limit: calls wait for the budget)")
		}
		b.WriteString("\n")
	}
	p, on, err := fleet.CurrentPause(ctx, v.rdb, v.sp, now)
	switch {
	case err != nil:
		fmt.Fprintf(b, "pause      cannot read: %v\n", err)
	case on:
		printPause(b, p, now)
	default:
		fmt.Fprintln(b, "pause      none")
	}
	v.printDead(ctx, b, c.Dead, now)
}

// rate adds a sample and describes the phones started in the last minute,
// counted between two samples a minute apart: the window slides with each
// frame. Until the watch has seen a minute it counts over what it has seen
// and says so, rather than project a minute from a few seconds.
func (v *watcher) rate(now time.Time, n int) string {
	v.started = append(v.started, sample{now, n})
	// Keep the newest sample at least a minute old, and all after it.
	for len(v.started) > 1 && now.Sub(v.started[1].at) >= time.Minute {
		v.started = v.started[1:]
	}
	first := v.started[0]
	span := now.Sub(first.at)
	switch {
	case span <= 0:
		return "- (counting: shown after a second)"
	case span < time.Minute:
		return fmt.Sprintf("%d in the last %s (a minute not yet seen)", n-first.n, span.Round(time.Second))
	}
	return fmt.Sprintf("%d in the last minute", n-first.n)
}

// deadTop is how many codes the dead breakdown shows; the rest make one
// "other" row.
const deadTop = 5

// printDead shows the commonest codes of the dead-lettered phones, in rows
// that add up to dead. The dead-letter ledger is read
// again only when the dead count changed, and at most every 5 seconds; in
// between, phones dead since the last read have a row of their own.
func (v *watcher) printDead(ctx context.Context, b *strings.Builder, dead int, now time.Time) {
	if dead == 0 {
		return
	}
	if v.byCode == nil || dead != v.deadN && (now.Sub(v.deadAt) >= 5*time.Second || dead < v.deadN) {
		byCode, err := v.adm.DeadByCode(ctx)
		if err != nil {
			fmt.Fprintf(b, "dead by code: cannot read: %v\n", err)
			return
		}
		n := 0
		for _, k := range byCode {
			n += k
		}
		v.byCode, v.deadN, v.deadAt = byCode, n, now
	}
	fmt.Fprintln(b, "\ndead by code")
	for _, r := range deadRows(v.byCode, dead) {
		fmt.Fprintf(b, "  %-5s  %6d  %s\n", r.code, r.n, r.meaning)
	}
}

// deadRow is one row of the dead breakdown.
type deadRow struct {
	code    string // a GeeLark code, "other" or "new"
	n       int
	meaning string
}

// deadRows returns the deadTop commonest codes of byCode, one "other" row
// for the rest, and one "new" row for phones dead since byCode was read:
// the rows add up to dead.
func deadRows(byCode map[int]int, dead int) []deadRow {
	codes := slices.SortedFunc(maps.Keys(byCode), func(a, c int) int {
		if byCode[a] != byCode[c] {
			return byCode[c] - byCode[a]
		}
		return a - c
	})
	var rows []deadRow
	read := 0
	for i, code := range codes {
		read += byCode[code]
		if i >= deadTop {
			continue
		}
		meaning := geelark.Lookup(code).Meaning
		if code == 0 {
			meaning = "outcome unknown"
		}
		rows = append(rows, deadRow{strconv.Itoa(code), byCode[code], meaning})
	}
	if len(codes) > deadTop {
		other := 0
		for _, code := range codes[deadTop:] {
			other += byCode[code]
		}
		rows = append(rows, deadRow{"other", other, fmt.Sprintf("%d more codes: phonestart dead list", len(codes)-deadTop)})
	}
	if dead > read {
		rows = append(rows, deadRow{"new", dead - read, "dead since the last read; read again within 5s"})
	}
	return rows
}
