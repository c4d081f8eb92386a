package fleet_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

func deadPhones(n int, at time.Time) []fleet.DeadPhone {
	out := make([]fleet.DeadPhone, n)
	for i := range out {
		out[i] = fleet.DeadPhone{ID: fmt.Sprintf("p%03d", i), Code: 42001, Reason: fleet.ReasonGeeLark,
			Msg: "phone not found", Attempts: 1, FailedAt: at.Add(time.Duration(i) * time.Second)}
	}
	return out
}

func idsOf(ds []fleet.DeadPhone) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// Every field of an entry comes back as it was written.
func TestLedgerKeepsEveryField(t *testing.T) {
	t.Parallel()
	_, rdb := newRedis(t)
	l := fleet.NewLedger(rdb, 0)
	center := 0
	want := fleet.DeadPhone{
		ID: "phone-1", Action: fleet.ActionStart, Code: 42001, Reason: fleet.ReasonGeeLark,
		Msg: "phone not found", Attempts: 7, FailedAt: time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC),
		Options: geelark.StartOptions{HideSideBar: true, DisplayTimer: true, Width: 420, Center: &center,
			HideLibrary: true, HideMirror: true},
	}
	if err := l.Add(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	got, err := l.Get(t.Context(), "phone-1")
	if err != nil || len(got) != 1 {
		t.Fatalf("Get: %v, %v", got, err)
	}
	if !reflect.DeepEqual(got[0], want) {
		t.Fatalf("entry read back\n got %+v\nwant %+v", got[0], want)
	}

	// An entry without an action is a start; its time is kept in UTC.
	local := time.FixedZone("UTC+3", 3*3600)
	if err := l.Add(t.Context(), fleet.DeadPhone{ID: "phone-2", Reason: fleet.ReasonUnknown,
		FailedAt: time.Date(2026, 3, 4, 8, 0, 0, 0, local)}); err != nil {
		t.Fatal(err)
	}
	got, _ = l.Get(t.Context(), "phone-2")
	if got[0].Action != fleet.ActionStart || !got[0].FailedAt.Equal(time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)) ||
		got[0].FailedAt.Location() != time.UTC {
		t.Fatalf("entry without action: %+v", got[0])
	}

	if err := l.Add(t.Context(), fleet.DeadPhone{Code: 42001}); err == nil || !strings.Contains(err.Error(), "without id") {
		t.Fatalf("entry without an ID: %v, want an error saying so", err)
	}
}

// Pages cover the whole ledger in ID order, each phone once; the last page
// says there is no next one, also when it is full.
func TestLedgerPagesThroughEveryEntry(t *testing.T) {
	t.Parallel()
	_, rdb := newRedis(t)
	l := fleet.NewLedger(rdb, 0)
	all := deadPhones(25, time.Now())
	for _, i := range []int{7, 3, 24, 0} { // not in ID order
		all[i], all[len(all)-1-i] = all[len(all)-1-i], all[i]
	}
	for _, d := range all {
		if err := l.Add(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
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
			if next != page[len(page)-1].ID {
				t.Fatalf("limit %d: next %q is not the last ID of the page %q", tc.limit, next, page[len(page)-1].ID)
			}
			after = next
		}
		want := idsOf(deadPhones(25, time.Now()))
		if !slices.Equal(seen, want) || !slices.Equal(sizes, tc.sizes) {
			t.Fatalf("limit %d: pages of %v, IDs %v; want pages of %v, IDs %v", tc.limit, sizes, seen, tc.sizes, want)
		}
	}
	// after need not be a dead phone: paging resumes after it by ID.
	page, _, err := l.Page(t.Context(), "p0105", 3)
	if err != nil || !slices.Equal(idsOf(page), []string{"p011", "p012", "p013"}) {
		t.Fatalf("page after p0105: %v, %v", idsOf(page), err)
	}
	if _, _, err := l.Page(t.Context(), "", 0); err == nil || !strings.Contains(err.Error(), "page size 0") {
		t.Fatalf("page of 0: %v, want an error naming the page size", err)
	}
}

func TestLedgerNewestGetRemove(t *testing.T) {
	t.Parallel()
	_, rdb := newRedis(t)
	l := fleet.NewLedger(rdb, 0)
	for _, d := range deadPhones(10, time.Now()) {
		if err := l.Add(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	newest, err := l.Newest(t.Context(), 3)
	if err != nil || !slices.Equal(idsOf(newest), []string{"p009", "p008", "p007"}) {
		t.Fatalf("Newest(3): %v, %v", idsOf(newest), err)
	}
	got, err := l.Get(t.Context(), "p005", "alive", "p001")
	if err != nil || !slices.Equal(idsOf(got), []string{"p005", "p001"}) {
		t.Fatalf("Get of two dead phones and a live one: %v, %v", idsOf(got), err)
	}
	// A phone dead again replaces its entry: still counted once.
	again := deadPhones(10, time.Now().Add(time.Hour))[2]
	again.Code, again.Attempts = 41001, 3
	if err := l.Add(t.Context(), again); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Count(t.Context()); n != 10 {
		t.Fatalf("Count after a phone died twice: %d, want 10", n)
	}
	if got, _ := l.Get(t.Context(), "p002"); got[0].Code != 41001 || got[0].Attempts != 3 {
		t.Fatalf("entry of a phone dead twice: %+v, want the last", got[0])
	}
	if newest, _ := l.Newest(t.Context(), 1); newest[0].ID != "p002" {
		t.Fatalf("newest after p002 died again: %v", idsOf(newest))
	}

	n, err := l.Remove(t.Context(), "p002", "p009", "alive")
	if err != nil || n != 2 {
		t.Fatalf("Remove of two dead phones and a live one: %d, %v; want 2", n, err)
	}
	if n, _ := l.Count(t.Context()); n != 8 {
		t.Fatalf("Count after removing 2 of 10: %d", n)
	}
	if got, _ := l.Get(t.Context(), "p002", "p009"); len(got) != 0 {
		t.Fatalf("removed entries still read: %v", idsOf(got))
	}
	if newest, _ := l.Newest(t.Context(), 2); !slices.Equal(idsOf(newest), []string{"p008", "p007"}) {
		t.Fatalf("Newest after removing: %v", idsOf(newest))
	}
	page, next, _ := l.Page(t.Context(), "", 100)
	if len(page) != 8 || next != "" || slices.Contains(idsOf(page), "p002") {
		t.Fatalf("Page after removing: %v next %q", idsOf(page), next)
	}
	if n, err := l.Remove(t.Context()); n != 0 || err != nil {
		t.Fatalf("Remove of nothing: %d, %v", n, err)
	}
}

// With a retention, a new entry drops those that failed longer ago; without
// one, entries stay however old.
func TestLedgerRetentionDropsOldEntries(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, tc := range []struct {
		retention time.Duration
		left      []string
	}{
		{0, []string{"day-old", "hour-old", "minute-old", "new"}},
		{2 * time.Hour, []string{"hour-old", "minute-old", "new"}},
		{30 * time.Minute, []string{"minute-old", "new"}},
	} {
		_, rdb := newRedis(t)
		l := fleet.NewLedger(rdb, tc.retention)
		for _, d := range []fleet.DeadPhone{
			{ID: "day-old", FailedAt: now.Add(-24 * time.Hour)},
			{ID: "hour-old", FailedAt: now.Add(-time.Hour)},
			{ID: "minute-old", FailedAt: now.Add(-time.Minute)},
			{ID: "new", FailedAt: now},
		} {
			if err := l.Add(t.Context(), d); err != nil {
				t.Fatal(err)
			}
		}
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
		if newest, _ := l.Newest(t.Context(), 10); len(newest) != len(tc.left) {
			t.Errorf("retention %v: Newest lists %v", tc.retention, idsOf(newest))
		}
	}
}

// A producer drops only the entries older than its request: a phone that
// failed again since keeps its new entry.
func TestLedgerRemoveBefore(t *testing.T) {
	t.Parallel()
	_, rdb := newRedis(t)
	ctx := t.Context()
	l := fleet.NewLedger(rdb, 0)
	began := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	if err := l.Add(ctx,
		fleet.DeadPhone{ID: "old", Code: 42001, FailedAt: began.Add(-time.Minute)},
		fleet.DeadPhone{ID: "new", Code: 42001, FailedAt: began.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	n, err := l.RemoveBefore(ctx, began, "old", "new", "never")
	if err != nil || n != 1 {
		t.Fatalf("RemoveBefore: %d, %v; want 1", n, err)
	}
	left, err := l.Get(ctx, "old", "new")
	if err != nil || len(left) != 1 || left[0].ID != "new" {
		t.Fatalf("left %+v, %v; want only the entry written since", left, err)
	}
}
