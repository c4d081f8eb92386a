package schedule

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap/zaptest"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/tasks"
)

func TestParseRefusesBadFilesNamingTheScheduleAndLine(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		yaml string
		want []string // all must appear in the error
	}{
		"unknown field": {`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    tagz: [a]
    ids: ["1"]
`, []string{"s.yaml:4", `schedule "shop-eu"`, `unknown field "tagz"`}},
		"unknown option": {`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    ids: ["1"]
    options:
      widht: 300
`, []string{"s.yaml:6", `schedule "shop-eu"`, `unknown field "widht"`}},
		"unknown select field": {`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    select:
      group: Shop-EU
`, []string{"s.yaml:5", `schedule "shop-eu"`, `unknown field "group"`}},
		"bad cron": {`schedules:
  - name: shop-eu
    cron: "30 25 * * *"
    ids: ["1"]
`, []string{"s.yaml:3", `schedule "shop-eu"`, "bad cron spec"}},
		"six fields": {`schedules:
  - name: shop-eu
    cron: "0 30 7 * * 1-5"
    ids: ["1"]
`, []string{"s.yaml:3", `schedule "shop-eu"`, "bad cron spec"}},
		"unknown zone": {`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    time_zone: Europe/Atlantis
    ids: ["1"]
`, []string{"s.yaml:4", `schedule "shop-eu"`, `unknown time zone "Europe/Atlantis"`}},
		"no selection": {`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
`, []string{"s.yaml:2", `schedule "shop-eu"`, "no phone selection"}},
		"empty select": {`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    select: {}
`, []string{"s.yaml:4", `schedule "shop-eu"`, "at least one of"}},
		"two selections": {`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    ids: ["1"]
    select: {group_name: x}
`, []string{"s.yaml:2", `schedule "shop-eu"`, "only one of"}},
		"bad id": {`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    ids: ["1", "2 3"]
`, []string{"s.yaml:4", `schedule "shop-eu"`, "ids[1]"}},
		"bad width": {`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    ids: ["1"]
    options: {width: 900}
`, []string{"s.yaml:5", `schedule "shop-eu"`, "width 900"}},
		"no name": {`schedules:
  - cron: "30 7 * * 1-5"
    ids: ["1"]
`, []string{"s.yaml:2", "no name"}},
		"duplicate name": {`schedules:
  - name: a
    cron: "30 7 * * *"
    ids: ["1"]
  - name: a
    cron: "30 8 * * *"
    ids: ["1"]
`, []string{"s.yaml:5", `schedule "a"`, "line 2"}},
		"skip_header without an ids_file": {`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    ids: ["1"]
    skip_header: true
`, []string{"s.yaml:5", `schedule "shop-eu"`, "skip_header is for an ids_file"}},
		"no schedules": {`schedule: []
`, []string{"s.yaml:1", `unknown field "schedule"`}},
		"not yaml": {"schedules: [\n", []string{"s.yaml"}},
		"bad catch_up": {`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    ids: ["1"]
    catch_up: soon
`, []string{"s.yaml:5", `schedule "shop-eu"`, `catch_up "soon"`, "duration"}},
		"catch_up without a unit": {`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    catch_up: 90
    ids: ["1"]
`, []string{"s.yaml:4", `schedule "shop-eu"`, `catch_up "90"`}},
		"catch_up too short": {`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    ids: ["1"]
    catch_up: 10s
`, []string{"s.yaml:5", `schedule "shop-eu"`, "catch_up 10s is outside 1m0s..24h0m0s"}},
		"catch_up too long": {`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    ids: ["1"]
    catch_up: 48h
`, []string{"s.yaml:5", `schedule "shop-eu"`, "catch_up 48h0m0s is outside"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(filepath.Join(t.TempDir(), "s.yaml"), []byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseReadsCatchUp(t *testing.T) {
	t.Parallel()
	f, err := Parse("s.yaml", []byte(`schedules:
  - name: a
    cron: "30 7 * * *"
    catch_up: 2h30m
    ids: ["1"]
  - name: b
    cron: "30 7 * * *"
    ids: ["1"]
`))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.Find("a")
	b, _ := f.Find("b")
	if a.catchUp() != 150*time.Minute || b.catchUp() != DefaultCatchUp {
		t.Fatalf("catch-up windows %v and %v, want 2h30m and the default", a.catchUp(), b.catchUp())
	}
}

func TestParseAcceptsTheDocumentedExample(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "vip-ids.txt"), []byte("557700000000000001\n557700000000000002\n"), 0o644)
	f, err := Parse(filepath.Join(dir, "schedules.yaml"), []byte(readmeExample(t)))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Schedules) != 4 {
		t.Fatalf("%d schedules", len(f.Schedules))
	}
	if e, _ := f.Find("shop-eu-evening"); e == nil || e.Action != ActionStop || e.Select == nil {
		t.Fatalf("shop-eu-evening: %+v", e)
	}
	if s, _ := f.Find("smoke-test"); s == nil || s.StopAfter != 10*time.Minute {
		t.Fatalf("smoke-test: %+v", s)
	}
	s, _ := f.Find("shop-eu-morning")
	if s.Select == nil || s.Select.GroupName != "Shop-EU" || s.Options.Width != 400 || s.Location.String() != "Europe/Berlin" {
		t.Fatalf("shop-eu-morning: %+v", s)
	}
	v, _ := f.Find("vip-noon")
	if v.IDsFile != filepath.Join(dir, "vip-ids.txt") {
		t.Fatalf("vip-noon ids_file %q, want vip-ids.txt next to schedules.yaml", v.IDsFile)
	}
}

// The vip-noon schedule of docs/schedules.md, with its vip-ids.txt exactly as it
// shows it (a comment line first), fires a tick starting both phones.
func TestTheDocumentedVIPScheduleFiresWithItsIDsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vip-ids.txt"), []byte(readmeVIPIDs(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(filepath.Join(dir, "schedules.yaml"), []byte(readmeExample(t)))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := f.Find("vip-noon")
	rdb := redistest.New(t).Client(t)
	enq, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	run, err := NewRunner(Config{Redis: rdb, Enqueue: enq, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	tick := v.Next(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	rep, err := run.Fire(context.Background(), v, tick)
	if err != nil || !rep.Fired || rep.Selected != 2 || rep.Enqueued != 2 {
		t.Fatalf("tick of vip-noon: %+v, %v; want both phones of vip-ids.txt enqueued", rep, err)
	}
	store, err := fleet.NewStore(rdb, fleet.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	for _, id := range []string{"557712345678901234", "557712345678901235"} {
		p, err := store.Phone(context.Background(), id)
		if err != nil || p.State != fleet.StateQueued || p.Action != fleet.ActionStart {
			t.Errorf("phone %s: record %+v, %v; want a queued start", id, p, err)
			continue
		}
		if info, err := insp.GetTaskInfo(tasks.Queue, tasks.TaskID(id, p.Gen, p.Task)); err != nil || info.State != asynq.TaskStatePending {
			t.Errorf("phone %s: task %v, %v; want a pending start", id, info, err)
		}
	}
}

// readmeVIPIDs returns the vip-ids.txt shown in docs/schedules.md.
func readmeVIPIDs(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../docs/schedules.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	const start = "```\n# vip-ids.txt"
	i := strings.Index(s, start)
	if i < 0 {
		t.Fatal("docs/schedules.md has no vip-ids.txt example")
	}
	s = s[i+len("```\n"):]
	return s[:strings.Index(s, "```")]
}

// readmeExample returns the schedules.yaml shown in docs/schedules.md.
func readmeExample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../docs/schedules.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	const start = "```yaml\n# schedules.yaml\n"
	i := strings.Index(s, start)
	if i < 0 {
		t.Fatal("docs/schedules.md has no schedules.yaml example")
	}
	s = s[i+len("```yaml\n"):]
	return s[:strings.Index(s, "```")]
}

func TestBerlinScheduleFiresAtTheRightUTCInstantsAcrossDST(t *testing.T) {
	t.Parallel()
	f, err := Parse("s.yaml", []byte(`schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    time_zone: Europe/Berlin
    ids: ["1"]
  - name: night
    cron: "30 2 * * *"
    time_zone: Europe/Berlin
    ids: ["1"]
`))
	if err != nil {
		t.Fatal(err)
	}
	shop, _ := f.Find("shop-eu")
	// Summer time began on Sunday 29 March 2026 at 02:00 CET.
	from := time.Date(2026, 3, 26, 12, 0, 0, 0, time.UTC) // Thursday
	want := []string{
		"2026-03-27T06:30:00Z", // Friday, CET (UTC+1)
		"2026-03-30T05:30:00Z", // Monday, CEST (UTC+2)
		"2026-03-31T05:30:00Z",
	}
	got := next3(shop, from)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("spring: got %v, want %v", got, want)
		}
	}
	// Winter time began on Sunday 25 October 2026 at 03:00 CEST.
	from = time.Date(2026, 10, 22, 12, 0, 0, 0, time.UTC) // Thursday
	want = []string{"2026-10-23T05:30:00Z", "2026-10-26T06:30:00Z", "2026-10-27T06:30:00Z"}
	if got := next3(shop, from); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("autumn: got %v, want %v", got, want)
	}
	// 02:30 does not exist on 29 March in Berlin: that night is skipped,
	// never fired twice or at a made-up time.
	night, _ := f.Find("night")
	got = next3(night, time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC))
	want = []string{"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("missing hour: got %v, want %v", got, want)
	}
}

func next3(s *Schedule, from time.Time) []string {
	var out []string
	t := from
	for range 3 {
		t = s.Next(t)
		out = append(out, t.UTC().Format(time.RFC3339))
	}
	return out
}
