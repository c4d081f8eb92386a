package schedule_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/schedule"
)

func TestAHandBuiltScheduleDoesNotPanic(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	var zero schedule.Schedule
	if got := zero.Next(from); !got.IsZero() {
		t.Fatalf("zero Schedule: Next = %v, want the zero Time", got)
	}
	if err := zero.Validate(); err == nil || !strings.Contains(err.Error(), "no name") {
		t.Fatalf("zero Schedule: Validate = %v", err)
	}

	// A literal with a zone name works like a parsed schedule.
	lit := &schedule.Schedule{Name: "lit", Cron: "30 7 * * *", TimeZone: "Europe/Berlin", IDs: []string{"557700000000000001"}}
	if err := lit.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := lit.Next(from), time.Date(2026, 11, 25, 6, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("Next = %v, want %v (07:30 Berlin)", got, want)
	}

	for name, tc := range map[string]struct {
		s    schedule.Schedule
		want string
	}{
		"bad cron":     {schedule.Schedule{Name: "x", Cron: "every morning", IDs: []string{"1"}}, "bad cron spec"},
		"no cron":      {schedule.Schedule{Name: "x", IDs: []string{"1"}}, "no cron spec"},
		"bad zone":     {schedule.Schedule{Name: "x", Cron: "@daily", TimeZone: "Mars/Olympus", IDs: []string{"1"}}, "unknown time zone"},
		"no phones":    {schedule.Schedule{Name: "x", Cron: "@daily"}, "no phone selection"},
		"both":         {schedule.Schedule{Name: "x", Cron: "@daily", IDs: []string{"1"}, Select: &geelark.ListFilter{GroupName: "g"}}, "only one of"},
		"bad id":       {schedule.Schedule{Name: "x", Cron: "@daily", IDs: []string{"1 2"}}, "ids[0]"},
		"empty select": {schedule.Schedule{Name: "x", Cron: "@daily", Select: &geelark.ListFilter{}}, "at least one of"},
		"bad catch-up": {schedule.Schedule{Name: "x", Cron: "@daily", IDs: []string{"1"}, CatchUp: time.Second}, "catch_up 1s"},
		"bad options":  {schedule.Schedule{Name: "x", Cron: "@daily", IDs: []string{"1"}, Options: geelark.StartOptions{Width: 900}}, "width 900"},
	} {
		if got := tc.s.Next(from); name == "bad cron" && !got.IsZero() {
			t.Errorf("%s: Next = %v", name, got)
		}
		err := tc.s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `schedule "x"`) {
			t.Errorf("%s: Validate = %v, want it to name the schedule and say %q", name, err, tc.want)
		}
	}

	// A Runner refuses a schedule it could never fire, with Validate's error.
	r := redistest.New(t)
	rdb := r.Client(t)
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	run, _ := schedule.NewRunner(schedule.Config{Redis: rdb, Enqueue: enq})
	_ = run.GuardKey(&zero, from)
	bad := &schedule.Schedule{Name: "x", Cron: "every morning", IDs: []string{"1"}}
	if _, err := run.Fire(context.Background(), bad, from); err == nil || !strings.Contains(err.Error(), "bad cron spec") {
		t.Fatalf("Fire of a bad schedule: %v", err)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	s, err := schedule.New("shop", "30 7 * * 1-5", berlin)
	if err != nil {
		t.Fatal(err)
	}
	// Friday 23 October 2026, summer time, then Monday 26, winter time.
	from := time.Date(2026, 10, 23, 0, 0, 0, 0, time.UTC)
	if a, b := s.Next(from), s.Next(s.Next(from)); a.Format(time.RFC3339) != "2026-10-23T05:30:00Z" ||
		b.UTC().Format(time.RFC3339) != "2026-10-26T06:30:00Z" {
		t.Fatalf("ticks %v, %v", a.UTC(), b.UTC())
	}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "no phone selection") {
		t.Fatalf("New without phones: Validate = %v", err)
	}
	for _, tc := range []struct{ name, spec, want string }{
		{"", "@daily", "no name"},
		{"x", "61 * * * *", "bad cron spec"},
		{"x", "CRON_TZ=UTC 0 7 * * *", "time_zone"},
	} {
		if _, err := schedule.New(tc.name, tc.spec, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %q): %v, want %q", tc.name, tc.spec, err, tc.want)
		}
	}
}
