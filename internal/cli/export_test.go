package cli

import "time"

// PrintVersion is printVersion, for tests.
var PrintVersion = printVersion

// StartedRate feeds a watcher the started totals ns at times ats and
// returns the line it shows after each.
func StartedRate(ats []time.Time, ns []int) []string {
	var v watcher
	out := make([]string, len(ats))
	for i := range ats {
		out[i] = v.rate(ats[i], ns[i])
	}
	return out
}

// DeadRow is one row of status --watch's dead breakdown.
type DeadRow struct {
	Code string
	N    int
}

// DeadRows returns the rows of the dead breakdown of byCode when the dead
// count is dead.
func DeadRows(byCode map[int]int, dead int) []DeadRow {
	var out []DeadRow
	for _, r := range deadRows(byCode, dead) {
		out = append(out, DeadRow{r.code, r.n})
	}
	return out
}

// NewLogger is the logger a command builds from PHONESTART_LOG_FORMAT,
// without installing it as go-redis's.
var NewLogger = buildLogger

// EditDistance is editDistance, for tests.
var EditDistance = editDistance
