package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/robfig/cron/v3"
)

// Limits and default of Schedule.CatchUp.
const (
	// DefaultCatchUp is how long after its planned time a tick may still
	// fire when a schedule does not say.
	DefaultCatchUp = time.Hour
	// MinCatchUp and MaxCatchUp bound a schedule's catch_up. The lower
	// bound leaves room to take over a tick from a scheduler that died
	// holding it (see Lease); the upper one keeps the window well inside
	// GuardTTL, so that a fired tick is still remembered when its window
	// closes.
	MinCatchUp = time.Minute
	MaxCatchUp = 24 * time.Hour
)

// Actions of a Schedule.
const (
	ActionStart = "start"
	ActionStop  = "stop"
)

// Schedule is one named start-up or shut-down. Load and Parse build Schedules from a
// file; New builds one in code. A Schedule built by hand (a struct literal)
// works too: Next reads Cron and Location (or TimeZone) each time, and
// Validate says what is missing. A Runner refuses a Schedule that Validate
// refuses. Do not change a Schedule while a Runner uses it.
type Schedule struct {
	Name string
	// Cron has five fields (minute hour day-of-month month day-of-week) or
	// a descriptor such as @daily, read in Location.
	Cron string
	// TimeZone is the IANA name of Location, as the file gave it. When
	// Location is nil, TimeZone is loaded instead; when both are empty, the
	// zone is UTC.
	TimeZone string
	Location *time.Location
	// CatchUp is how long after its planned time a tick may still fire:
	// a tick that failed is retried, and a tick missed while no scheduler
	// ran is fired by a scheduler starting, until then. 0 means
	// DefaultCatchUp; otherwise MinCatchUp..MaxCatchUp.
	CatchUp time.Duration
	// Action is what a tick does to the phones: ActionStart (the default,
	// also for "") or ActionStop.
	Action  string
	Options geelark.StartOptions
	// StopAfter, for a start schedule, stops each phone that long after it
	// is ready (the billing guard; see enqueue.Request.StopAfter).
	StopAfter time.Duration
	// The phones: exactly one of IDs, IDsFile and Select.
	IDs []string
	// IDsFile is a file of phone IDs, read at each tick as `enqueue --file`
	// reads one (package idfile), so that editing it changes the next
	// tick's phones. A relative path is relative to the working directory;
	// Parse makes ids_file relative to the schedules file.
	IDsFile string
	// SkipHeader drops the first line of IDsFile that is not blank or a
	// comment: a spreadsheet's column header. Without it such a header
	// (letters where every other line is digits) fails the tick.
	SkipHeader bool
	// Select is resolved through the list endpoint at each tick.
	Select *geelark.ListFilter
	// Line is the schedule's line in its file; 0 when not from a file.
	Line int

	// spec is Cron parsed in Location by New or Parse; specOf says from
	// what, so that a changed Cron is not answered from a stale parse.
	spec   cron.Schedule
	specOf string
	specIn *time.Location
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// New returns the schedule called name, firing at the cron spec in loc (nil
// means UTC). Set IDs or Select before handing it to a Runner.
func New(name, spec string, loc *time.Location) (*Schedule, error) {
	if name == "" {
		return nil, errors.New("schedule: no name")
	}
	if loc == nil {
		loc = time.UTC
	}
	parsed, err := parseCron(spec, loc)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", name, err)
	}
	return &Schedule{Name: name, Cron: spec, TimeZone: loc.String(), Location: loc,
		spec: parsed, specOf: spec, specIn: loc}, nil
}

// parseCron parses a five-field spec (or a descriptor) read in loc.
func parseCron(spec string, loc *time.Location) (cron.Schedule, error) {
	if spec == "" {
		return nil, errors.New("no cron spec")
	}
	if strings.Contains(spec, "TZ=") {
		return nil, errors.New("put the zone in time_zone, not in the cron spec")
	}
	s, err := cronParser.Parse("CRON_TZ=" + loc.String() + " " + spec)
	if err != nil {
		return nil, fmt.Errorf("bad cron spec %q: %v (want five fields: minute hour day month weekday)", spec, err)
	}
	return s, nil
}

// zone returns the schedule's time zone.
func (s *Schedule) zone() (*time.Location, error) {
	switch {
	case s.Location != nil:
		return s.Location, nil
	case s.TimeZone != "":
		loc, err := time.LoadLocation(s.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("unknown time zone %q", s.TimeZone)
		}
		return loc, nil
	}
	return time.UTC, nil
}

func (s *Schedule) cronSpec() (cron.Schedule, error) {
	loc, err := s.zone()
	if err != nil {
		return nil, err
	}
	if s.spec != nil && s.specOf == s.Cron && s.specIn == loc {
		return s.spec, nil
	}
	return parseCron(s.Cron, loc)
}

// Next returns the first tick of s strictly after t, or the zero Time when
// s has no valid cron spec or zone (Validate says which).
func (s *Schedule) Next(t time.Time) time.Time {
	spec, err := s.cronSpec()
	if err != nil {
		return time.Time{}
	}
	return spec.Next(t)
}

// catchUp returns the schedule's catch-up window.
func (s *Schedule) catchUp() time.Duration {
	if s.CatchUp == 0 {
		return DefaultCatchUp
	}
	return s.CatchUp
}

// checkCatchUp refuses a catch-up window out of range.
func checkCatchUp(d time.Duration) error {
	if d < MinCatchUp || d > MaxCatchUp {
		return fmt.Errorf("catch_up %v is outside %v..%v", d, MinCatchUp, MaxCatchUp)
	}
	return nil
}

// Validate reports the first thing that keeps s from firing: no name, a bad
// cron spec or zone, a catch-up window out of range, bad options, bad IDs,
// or not exactly one phone selection. It does not read IDsFile: each tick
// does. Its errors name the schedule.
func (s *Schedule) Validate() error {
	if s == nil {
		return errors.New("schedule: nil")
	}
	if s.Name == "" {
		return errors.New("schedule: no name")
	}
	fail := func(err error) error { return fmt.Errorf("schedule %q: %w", s.Name, err) }
	if _, err := s.cronSpec(); err != nil {
		return fail(err)
	}
	if s.CatchUp != 0 {
		if err := checkCatchUp(s.CatchUp); err != nil {
			return fail(err)
		}
	}
	if err := s.Options.Validate(); err != nil {
		return fail(fmt.Errorf("options: %w", err))
	}
	if err := checkAction(s.Action, s.Options, s.StopAfter); err != nil {
		return fail(err)
	}
	sources := 0
	for _, given := range []bool{len(s.IDs) > 0, s.IDsFile != "", s.Select != nil} {
		if given {
			sources++
		}
	}
	switch {
	case sources > 1:
		return fail(errors.New("give only one of IDs, IDsFile and Select"))
	case sources == 0:
		return fail(errors.New("no phone selection: give IDs, IDsFile or Select"))
	case s.SkipHeader && s.IDsFile == "":
		return fail(errors.New("skip_header is for an ids_file"))
	case s.IDsFile == "-":
		return fail(errors.New(`ids_file "-": standard input is for the command line; name a file`))
	}
	for i, id := range s.IDs {
		if err := geelark.ValidateID(id); err != nil {
			return fail(fmt.Errorf("ids[%d]: %w", i, err))
		}
	}
	if s.Select != nil {
		if err := checkSelect(*s.Select); err != nil {
			return fail(fmt.Errorf("select: %w", err))
		}
	}
	return nil
}

// checkAction refuses an unknown action, and start settings on a stop.
func checkAction(action string, opts geelark.StartOptions, stopAfter time.Duration) error {
	switch action {
	case "", ActionStart:
		if stopAfter < 0 {
			return fmt.Errorf("stop_after %v is negative", stopAfter)
		}
	case ActionStop:
		if opts != (geelark.StartOptions{}) {
			return errors.New("options are for starts: a stop schedule takes none")
		}
		if stopAfter != 0 {
			return errors.New("stop_after is for starts: a stop schedule takes none")
		}
	default:
		return fmt.Errorf("action %q: want start or stop", action)
	}
	return nil
}

// checkSelect refuses a selection that would list every phone of the
// account, or that names an empty tag.
func checkSelect(f geelark.ListFilter) error {
	if f.GroupName == "" && len(f.Tags) == 0 && f.Remark == "" && f.SerialName == "" {
		return errors.New("give at least one of group_name, tags, remark, serial_name")
	}
	for i, tag := range f.Tags {
		if strings.TrimSpace(tag) == "" {
			return fmt.Errorf("tags[%d] is empty", i)
		}
	}
	return nil
}

// SelectText returns s's GeeLark selection as a schedules file gives it,
// for messages: group_name: "Shop-EU", tags: ["morning"]; "" without one.
func (s *Schedule) SelectText() string {
	if s.Select == nil {
		return ""
	}
	f := *s.Select
	var parts []string
	for _, p := range []struct{ name, v string }{{"group_name", f.GroupName}, {"remark", f.Remark}, {"serial_name", f.SerialName}} {
		if p.v != "" {
			parts = append(parts, fmt.Sprintf("%s: %q", p.name, p.v))
		}
	}
	if len(f.Tags) > 0 {
		parts = append(parts, fmt.Sprintf("tags: %q", f.Tags))
	}
	return strings.Join(parts, ", ")
}
