package schedule

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"go.yaml.in/yaml/v3"
)

// File is a parsed schedules file.
type File struct {
	Path      string
	Schedules []*Schedule
}

// Find returns the schedule called name.
func (f *File) Find(name string) (*Schedule, bool) {
	for _, s := range f.Schedules {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

var fields = map[string]map[string]bool{
	"top": {"schedules": true},
	"schedule": {"name": true, "cron": true, "time_zone": true, "catch_up": true, "options": true, "ids": true, "ids_file": true, "skip_header": true, "select": true,
		"action": true, "stop_after": true},
	"options": {"width": true, "center": true, "hide_sidebar": true, "display_timer": true, "hide_library": true, "hide_mirror": true},
	"select":  {"group_name": true, "tags": true, "remark": true, "serial_name": true},
}

// Load reads and checks a schedules file. Every problem is reported as
// "path:line: schedule "name": what", and nothing runs unless the whole
// file is valid.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse checks a schedules file read from path (used in messages and to
// find ids_file relative to it).
func Parse(path string, data []byte) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty file: want a top-level \"schedules\" list", path)
	}
	p := &parser{path: path}
	root := doc.Content[0]
	if err := p.mapping(root, "top", "the file"); err != nil {
		return nil, err
	}
	list := value(root, "schedules")
	if list == nil || list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		return nil, p.errf(root, "", "want a non-empty \"schedules\" list")
	}
	f := &File{Path: path}
	seen := map[string]int{}
	for _, n := range list.Content {
		s, err := p.schedule(n)
		if err != nil {
			return nil, err
		}
		if line, dup := seen[s.Name]; dup {
			return nil, p.errf(n, s.Name, "name already used by the schedule at line %d", line)
		}
		seen[s.Name] = n.Line
		f.Schedules = append(f.Schedules, s)
	}
	return f, nil
}

type parser struct{ path string }

func (p *parser) errf(n *yaml.Node, name, format string, args ...any) error {
	where := fmt.Sprintf("%s:%d", p.path, n.Line)
	if name != "" {
		where += fmt.Sprintf(": schedule %q", name)
	}
	return fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...))
}

// mapping checks that n is a mapping whose keys are all known for kind.
func (p *parser) mapping(n *yaml.Node, kind, name string) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "", "%s: want a mapping", name)
	}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		if !fields[kind][k.Value] {
			known := make([]string, 0, len(fields[kind]))
			for f := range fields[kind] {
				known = append(known, f)
			}
			sort.Strings(known)
			return fmt.Errorf("%s:%d: %s: unknown field %q (known: %s)", p.path, k.Line, name, k.Value, strings.Join(known, ", "))
		}
	}
	return nil
}

func value(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

type rawSchedule struct {
	Name      string `yaml:"name"`
	Cron      string `yaml:"cron"`
	TimeZone  string `yaml:"time_zone"`
	CatchUp   string `yaml:"catch_up"`
	Action    string `yaml:"action"`
	StopAfter string `yaml:"stop_after"`
	Options   struct {
		Width        int  `yaml:"width"`
		Center       *int `yaml:"center"`
		HideSidebar  bool `yaml:"hide_sidebar"`
		DisplayTimer bool `yaml:"display_timer"`
		HideLibrary  bool `yaml:"hide_library"`
		HideMirror   bool `yaml:"hide_mirror"`
	} `yaml:"options"`
	IDs        []string `yaml:"ids"`
	IDsFile    string   `yaml:"ids_file"`
	SkipHeader bool     `yaml:"skip_header"`
	Select     *struct {
		GroupName  string   `yaml:"group_name"`
		Tags       []string `yaml:"tags"`
		Remark     string   `yaml:"remark"`
		SerialName string   `yaml:"serial_name"`
	} `yaml:"select"`
}

func (p *parser) schedule(n *yaml.Node) (*Schedule, error) {
	name := ""
	if v := value(n, "name"); v != nil {
		name = v.Value
	}
	label := "schedule"
	if name != "" {
		label = fmt.Sprintf("schedule %q", name)
	}
	if err := p.mapping(n, "schedule", label); err != nil {
		return nil, err
	}
	for _, sub := range []string{"options", "select"} {
		if v := value(n, sub); v != nil {
			if err := p.mapping(v, sub, label+": "+sub); err != nil {
				return nil, err
			}
		}
	}
	var r rawSchedule
	if err := n.Decode(&r); err != nil {
		return nil, p.errf(n, name, "%v", err)
	}
	if r.Name == "" {
		return nil, p.errf(n, "", "a schedule has no name")
	}
	s := &Schedule{Name: r.Name, Cron: r.Cron, TimeZone: r.TimeZone, Line: n.Line}
	at := func(key string) *yaml.Node {
		if v := value(n, key); v != nil {
			return v
		}
		return n
	}
	if r.Cron == "" {
		return nil, p.errf(n, r.Name, "no cron spec")
	}
	loc := time.UTC
	if r.TimeZone != "" {
		var err error
		if loc, err = time.LoadLocation(r.TimeZone); err != nil {
			return nil, p.errf(at("time_zone"), r.Name, "unknown time zone %q", r.TimeZone)
		}
	}
	s.Location = loc
	spec, err := parseCron(r.Cron, loc)
	if err != nil {
		return nil, p.errf(at("cron"), r.Name, "%v", err)
	}
	s.spec, s.specOf, s.specIn = spec, r.Cron, loc
	if r.CatchUp != "" {
		d, err := time.ParseDuration(r.CatchUp)
		if err != nil {
			return nil, p.errf(at("catch_up"), r.Name, "catch_up %q: want a duration such as 30m or 2h", r.CatchUp)
		}
		if err := checkCatchUp(d); err != nil {
			return nil, p.errf(at("catch_up"), r.Name, "%v", err)
		}
		s.CatchUp = d
	}
	o := r.Options
	s.Options = geelark.StartOptions{Width: o.Width, Center: o.Center, HideSideBar: o.HideSidebar,
		DisplayTimer: o.DisplayTimer, HideLibrary: o.HideLibrary, HideMirror: o.HideMirror}
	if err := s.Options.Validate(); err != nil {
		return nil, p.errf(at("options"), r.Name, "options: %v", err)
	}
	if r.StopAfter != "" {
		d, err := time.ParseDuration(r.StopAfter)
		if err != nil || d <= 0 {
			return nil, p.errf(at("stop_after"), r.Name, "stop_after %q: want a positive duration such as 8h", r.StopAfter)
		}
		s.StopAfter = d
	}
	s.Action = r.Action
	if err := checkAction(s.Action, s.Options, s.StopAfter); err != nil {
		where := at("action")
		if r.Action == ActionStop && value(n, "options") != nil {
			where = at("options")
		}
		return nil, p.errf(where, r.Name, "%v", err)
	}

	sources := 0
	if len(r.IDs) > 0 {
		sources++
		for i, id := range r.IDs {
			if err := geelark.ValidateID(id); err != nil {
				return nil, p.errf(at("ids"), r.Name, "ids[%d]: %v", i, err)
			}
		}
		s.IDs = r.IDs
	}
	if r.IDsFile != "" {
		sources++
		// Read at each tick, not here: editing the file changes the next
		// tick's phones.
		s.IDsFile = r.IDsFile
		if !filepath.IsAbs(s.IDsFile) {
			s.IDsFile = filepath.Join(filepath.Dir(p.path), s.IDsFile)
		}
	}
	if r.SkipHeader {
		if r.IDsFile == "" {
			return nil, p.errf(at("skip_header"), r.Name, "skip_header is for an ids_file")
		}
		s.SkipHeader = true
	}
	if r.Select != nil {
		sources++
		sel := r.Select
		f := geelark.ListFilter{GroupName: sel.GroupName, Tags: sel.Tags, Remark: sel.Remark, SerialName: sel.SerialName}
		if err := checkSelect(f); err != nil {
			return nil, p.errf(at("select"), r.Name, "select: %v", err)
		}
		s.Select = &f
	}
	switch sources {
	case 0:
		return nil, p.errf(n, r.Name, "no phone selection: give ids, ids_file or select")
	case 1:
	default:
		return nil, p.errf(n, r.Name, "give only one of ids, ids_file and select")
	}
	return s, nil
}
