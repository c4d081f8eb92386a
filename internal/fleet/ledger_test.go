package fleet_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// killStarts enqueues n phones p000.. and takes each to a dead start, a
// second apart by clk.
func killStarts(t *testing.T, st *fleet.Store, clk *fakeClock, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%03d", i)
		start(t, st, ids[i])
		toDead(t, st, fleet.ActionStart, ids[i], 42001, "phone not found")
		clk.Advance(time.Second)
	}
	return ids
}

func idsOf(ds []fleet.DeadPhone) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// An entry holds what a person needs to act: the action, code, reason,
// message, attempts, time, and a start's options and stop-after.
func TestLedgerKeepsEveryField(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	l := st.Ledger()
	center := 0
	opts := geelark.StartOptions{HideSideBar: true, DisplayTimer: true, Width: 420, Center: &center, HideLibrary: true, HideMirror: true}
	place(t, st, fleet.Intent{Action: fleet.ActionStart, Options: opts, StopAfter: 2 * time.Hour}, "phone-1")
	for range 2 { // a failed attempt, then a dead one: attempts 2
		token, _ := claim(t, st, fleet.ActionStart, "phone-1")
		settle(t, st, fleet.ActionStart, token, fleet.Settle{To: fleet.ToRetry, Code: 47002, Reason: fleet.ReasonGeeLark, Due: clk.Now()}, "phone-1")
		toDead(t, st, fleet.ActionStart, "phone-1", 42001, "phone not found")
		break
	}
	want := fleet.DeadPhone{ID: "phone-1", Action: fleet.ActionStart, Code: 42001, Reason: fleet.ReasonGeeLark,
		Msg: "phone not found", Attempts: 2, FailedAt: clk.Now().UTC(), Options: opts, StopAfter: 2 * time.Hour}
	got, err := l.Get(t.Context(), "phone-1")
	if err != nil || len(got) != 1 {
		t.Fatalf("Get: %v, %v", got, err)
	}
	if !reflect.DeepEqual(got[0], want) {
		t.Fatalf("entry read back\n got %+v\nwant %+v", got[0], want)
	}
	if _, _, err := l.Page(t.Context(), "", 0); err == nil || !strings.Contains(err.Error(), "page size 0") {
		t.Fatalf("page of 0: %v, want an error naming the page size", err)
	}
}

// A phone whose start died and whose stop died too has two entries: the
// dead stop does not hide the dead start. Asking for a start again drops
// only the dead start; asking for a stop again only the dead stop.
func TestLedgerKeepsADeadStartAndADeadStopOfOnePhone(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	l := st.Ledger()
	start(t, st, "p1")
	toDead(t, st, fleet.ActionStart, "p1", 42001, "does not exist")
	place(t, st, fleet.Intent{Action: fleet.ActionStop}, "p1")
	toDead(t, st, fleet.ActionStop, "p1", 42001, "does not exist")
	got, err := l.Get(t.Context(), "p1")
	if err != nil || len(got) != 2 || got[0].Action != fleet.ActionStart || got[1].Action != fleet.ActionStop {
		t.Fatalf("entries of p1: %+v, %v; want its dead start and its dead stop", got, err)
	}
	if n, _ := l.Count(t.Context()); n != 2 {
		t.Fatalf("Count %d, want 2", n)
	}
	page, _, _ := l.Page(t.Context(), "", 10)
	if len(page) != 2 {
		t.Fatalf("dead list: %+v, want both", page)
	}
	start(t, st, "p1")
	if got, _ := l.Get(t.Context(), "p1"); len(got) != 1 || got[0].Action != fleet.ActionStop {
		t.Fatalf("after a new start: %+v, want the dead stop alone", got)
	}
	place(t, st, fleet.Intent{Action: fleet.ActionStop}, "p1")
	if got, _ := l.Get(t.Context(), "p1"); len(got) != 0 {
		t.Fatalf("after a new stop: %+v, want none", got)
	}
}

// Pages cover the whole ledger in ID order, each entry once; the last page
// says there is no next one, also when it is full.
func TestLedgerPagesThroughEveryEntry(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	l := st.Ledger()
	want := killStarts(t, st, clk, 25)
	if n, err := l.Count(t.Context()); n != 25 || err != nil {
		t.Fatalf("Count: %d, %v", n, err)
	}
	for _, tc := range []struct {
		limit int
		sizes []int
	}{{10, []int{10, 10, 5}}, {5, []int{5, 5, 5, 5, 5}}, {25, []int{25}}, {100, []int{25}}} {
		var seen []string
		var sizes []int
		after := ""
		for {
			page, next, err := l.Page(t.Context(), after, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(page))
			seen = append(seen, idsOf(page)...)
			if next == "" {
				break
			}
			if next != page[len(page)-1].Key() {
				t.Fatalf("limit %d: next %q is not the last entry of the page %q", tc.limit, next, page[len(page)-1].Key())
			}
			after = next
		}
		if !slices.Equal(seen, want) || !slices.Equal(sizes, tc.sizes) {
			t.Fatalf("limit %d: pages of %v, IDs %v; want pages of %v, IDs %v", tc.limit, sizes, seen, tc.sizes, want)
		}
	}
	// after need not be an entry: paging resumes after it.
	page, _, err := l.Page(t.Context(), "p0105", 3)
	if err != nil || !slices.Equal(idsOf(page), []string{"p011", "p012", "p013"}) {
		t.Fatalf("page after p0105: %v, %v", idsOf(page), err)
	}
}

// Newest lists the latest failures first; Get skips phones that are not
// dead; Purge drops entries for good, with a purged event each.
func TestLedgerNewestGetPurge(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	l := st.Ledger()
	killStarts(t, st, clk, 10)
	newest, err := l.Newest(t.Context(), 3)
	if err != nil || !slices.Equal(idsOf(newest), []string{"p009", "p008", "p007"}) {
		t.Fatalf("Newest(3): %v, %v", idsOf(newest), err)
	}
	got, err := l.Get(t.Context(), "p005", "alive", "p001")
	if err != nil || !slices.Equal(idsOf(got), []string{"p005", "p001"}) {
		t.Fatalf("Get of two dead phones and a live one: %v, %v", idsOf(got), err)
	}
	n, err := l.Purge(t.Context(), "p002/start", "p009/start", "alive/start")
	if err != nil || n != 2 {
		t.Fatalf("Purge of two entries and one that is not: %d, %v; want 2", n, err)
	}
	if n, _ := l.Count(t.Context()); n != 8 {
		t.Fatalf("Count after purging 2 of 10: %d", n)
	}
	if got, _ := l.Get(t.Context(), "p002", "p009"); len(got) != 0 {
		t.Fatalf("purged entries still read: %v", idsOf(got))
	}
	if newest, _ := l.Newest(t.Context(), 2); !slices.Equal(idsOf(newest), []string{"p008", "p007"}) {
		t.Fatalf("Newest after purging: %v", idsOf(newest))
	}
	evs, _ := st.Events().Read(t.Context(), "0", 1000, 0)
	purged := 0
	for _, e := range evs {
		if e.Event == fleet.EventPurged {
			purged++
		}
	}
	if purged != 2 {
		t.Fatalf("%d purged events, want 2", purged)
	}
}

// With a dead retention, a new entry drops those that failed longer ago;
// without one, entries stay however old.
func TestLedgerRetentionDropsOldEntries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		retention time.Duration
		left      []string
	}{
		{0, []string{"day-old", "hour-old", "minute-old", "new"}},
		{2 * time.Hour, []string{"hour-old", "minute-old", "new"}},
		{30 * time.Minute, []string{"minute-old", "new"}},
	} {
		clk := newFakeClock()
		_, rdb := newRedis(t)
		st, err := fleet.NewStore(rdb, fleet.StoreConfig{Now: clk.Now, DeadRetention: tc.retention})
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			id    string
			after time.Duration
		}{{"day-old", 23 * time.Hour}, {"hour-old", 59 * time.Minute}, {"minute-old", time.Minute}, {"new", 0}} {
			start(t, st, step.id)
			toDead(t, st, fleet.ActionStart, step.id, 42001, "")
			clk.Advance(step.after)
		}
		l := st.Ledger()
		page, _, err := l.Page(t.Context(), "", 10)
		if err != nil {
			t.Fatal(err)
		}
		got := idsOf(page)
		slices.Sort(got)
		if !slices.Equal(got, tc.left) {
			t.Errorf("retention %v: ledger holds %v, want %v", tc.retention, got, tc.left)
		}
		if n, _ := l.Count(t.Context()); n != len(tc.left) {
			t.Errorf("retention %v: Count %d, want %d", tc.retention, n, len(tc.left))
		}
	}
}

// The dead phones an earlier version listed come over to the ledger, with
// every field, when a worker of this version starts; they are not listed
// twice, and the old keys are emptied.
func TestLegacyLedgerMovesOver(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clk := newFakeClock()
	st, rdb := newStore(t, clk)
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	old := map[string]string{
		"p1": `{"id":"p1","action":"start","code":42001,"reason":"geelark","msg":"cloud phone does not exist","attempts":1,"failed_at":"2026-11-01T10:00:00Z","options":{"width":400},"stop_after":7200000000000}`,
		"p2": `{"id":"p2","action":"stop","code":42001,"reason":"geelark","msg":"gone","attempts":2,"failed_at":"2026-11-01T10:00:00Z","options":{}}`,
	}
	for id, v := range old {
		rdb.HSet(ctx, "phonestart:dead", id, v)
		rdb.ZAdd(ctx, "phonestart:dead:ids", redis.Z{Member: id})
		rdb.ZAdd(ctx, "phonestart:dead:time", redis.Z{Score: float64(at.UnixMilli()), Member: id})
	}
	n, err := st.MigrateLegacyLedger(ctx)
	if err != nil || n != 2 {
		t.Fatalf("MigrateLegacyLedger: %d, %v; want 2", n, err)
	}
	got, err := st.Ledger().Get(ctx, "p1", "p2")
	if err != nil || len(got) != 2 {
		t.Fatalf("ledger after the move: %+v, %v", got, err)
	}
	if d := got[0]; d.Action != fleet.ActionStart || d.Code != 42001 || d.Options.Width != 400 || d.StopAfter != 2*time.Hour ||
		!d.FailedAt.Equal(at) || d.Msg != "cloud phone does not exist" {
		t.Errorf("p1 moved as %+v", d)
	}
	if d := got[1]; d.Action != fleet.ActionStop || d.Attempts != 2 {
		t.Errorf("p2 moved as %+v", d)
	}
	if n, _ := rdb.Exists(ctx, "phonestart:dead", "phonestart:dead:ids", "phonestart:dead:time").Result(); n != 0 {
		t.Errorf("%d legacy keys left", n)
	}
	if n, err := st.MigrateLegacyLedger(ctx); err != nil || n != 0 {
		t.Fatalf("second run: %d, %v; want nothing to move", n, err)
	}
	if c, _ := st.Ledger().Count(ctx); c != 2 {
		t.Fatalf("ledger counts %d after a second run, want 2", c)
	}
}
