package schedule_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/schedule"
)

// writeFile writes text to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// An ids_file is read at each tick: a phone taken off the list is not
// selected at the next one, and a file exported as enqueue --file takes it
// (byte-order mark, CRLF, comments, blank lines, spaces) is read the same.
func TestIDsFileIsReadAtEachTick(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	dir := t.TempDir()
	ids := writeFile(t, dir, "vip-ids.txt", "\uFEFF# VIP\r\n5577001\r\n  5577002  # the spare\r\n\r\n")
	f, err := schedule.Parse(filepath.Join(dir, "schedules.yaml"),
		[]byte("schedules:\n  - name: vip\n    cron: \"0 12 * * *\"\n    ids_file: vip-ids.txt\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := f.Find("vip")
	clk, _ := newSimClock(tick, tick.Add(time.Hour), 1)
	run := newRunner(t, r, clk, nil, nil)
	first := s.Next(tick)
	rep, err := run.Fire(context.Background(), s, first)
	if err != nil || rep.Selected != 2 || rep.Enqueued != 2 {
		t.Fatalf("first tick: %+v, %v; want 5577001 and 5577002 enqueued", rep, err)
	}
	writeFile(t, dir, "vip-ids.txt", "# 5577001 left the VIP fleet\n5577002\n5577003\n")
	rep, err = run.Fire(context.Background(), s, s.Next(first))
	if err != nil || rep.Selected != 2 || rep.Enqueued != 1 || rep.Duplicates != 1 {
		t.Fatalf("next tick after editing %s: %+v, %v; want 5577002 (still pending) and 5577003 selected, not 5577001",
			ids, rep, err)
	}
	if n := queued(t, r); n != 3 {
		t.Fatalf("%d phones queued, want 3", n)
	}
}

// A bad ids_file fails its schedule's tick with one error line naming the
// file and the line; the other schedules of the file fire as planned.
func TestABadIDsFileFailsItsTickAndTheOtherSchedulesRun(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	dir := t.TempDir()
	ids := writeFile(t, dir, "vip-ids.txt", "5577001\n5577002\n5577 003\n")
	f, err := schedule.Parse(filepath.Join(dir, "schedules.yaml"), []byte(`schedules:
  - name: vip
    cron: "30 7 * * *"
    ids_file: vip-ids.txt
  - name: smoke
    cron: "30 7 * * *"
    ids: ["6600001", "6600002"]
`))
	if err != nil {
		t.Fatal(err)
	}
	log, logs := observe(t)
	clk, ctx := newSimClock(tick.Add(-time.Minute), tick.Add(2*time.Hour), 1)
	runAll(t, ctx, clk, f, newRunner(t, r, clk, nil, log))

	fired := fires(logs)
	if len(fired) != 1 || fired[0].ContextMap()["schedule"] != "smoke" {
		t.Fatalf("fired: %v, want smoke only", fired)
	}
	var errs []string
	for _, e := range logs.All() {
		m := e.ContextMap()
		if at, _ := m["tick"].(time.Time); e.Level >= zapcore.ErrorLevel && at.Equal(tick) {
			errs = append(errs, fmt.Sprint(e.Message, " ", m["error"]))
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], ids) || !strings.Contains(errs[0], "line 3") ||
		!strings.Contains(errs[0], `schedule "vip"`) {
		t.Fatalf("error lines %q, want one naming schedule vip, %s and line 3", errs, ids)
	}
	if n := queued(t, r); n != 2 {
		t.Fatalf("%d phones queued, want smoke's 2", n)
	}
}

// A schedules file loads even while its ids_file is missing: the file is
// read at each tick, and that tick fails naming it.
func TestAMissingIDsFileFailsTheTickNotTheLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := schedule.Parse(filepath.Join(dir, "schedules.yaml"),
		[]byte("schedules:\n  - name: vip\n    cron: \"0 12 * * *\"\n    ids_file: nope.txt\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	s, _ := f.Find("vip")
	clk, _ := newSimClock(tick, tick.Add(time.Hour), 1)
	_, err = newRunner(t, redistest.New(t), clk, nil, nil).Fire(context.Background(), s, s.Next(tick))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "nope.txt")) || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("tick with no ids_file: %v", err)
	}
}

// An ids_file exported from a spreadsheet starts with its column header:
// the tick fails naming the line and skip_header, and with skip_header the
// phones below it are started.
func TestAHeaderInAnIDsFileNeedsSkipHeader(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	dir := t.TempDir()
	ids := writeFile(t, dir, "vip.csv", "phone_id\r\n5577001\r\n5577002\r\n")
	f, err := schedule.Parse(filepath.Join(dir, "schedules.yaml"), []byte(`schedules:
  - name: plain
    cron: "0 12 * * *"
    ids_file: vip.csv
  - name: skipping
    cron: "0 12 * * *"
    ids_file: vip.csv
    skip_header: true
`))
	if err != nil {
		t.Fatal(err)
	}
	clk, _ := newSimClock(tick, tick.Add(time.Hour), 1)
	run := newRunner(t, r, clk, nil, nil)
	plain, _ := f.Find("plain")
	rep, err := run.Fire(context.Background(), plain, plain.Next(tick))
	if err == nil || !strings.Contains(err.Error(), ids+": line 1: ") || !strings.Contains(err.Error(), `"phone_id"`) ||
		!strings.Contains(err.Error(), "skip_header: true") || rep.Enqueued != 0 {
		t.Fatalf("tick with a header line: %+v, %v; want an error naming line 1 and skip_header: true", rep, err)
	}
	skipping, _ := f.Find("skipping")
	rep, err = run.Fire(context.Background(), skipping, skipping.Next(tick))
	if err != nil || rep.Selected != 2 || rep.Enqueued != 2 {
		t.Fatalf("tick with skip_header: %+v, %v; want the 2 phones below the header", rep, err)
	}
	if n := queued(t, r); n != 2 {
		t.Fatalf("%d phones queued, want 2", n)
	}
}
