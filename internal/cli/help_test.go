package cli_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/phonestart/phonestart/internal/cli"
)

// commandNames are the commands `phonestart help` lists.
func commandNames(t *testing.T, h *harness) []string {
	t.Helper()
	o := h.mustRun("", "help")
	var names []string
	for _, line := range strings.Split(o.stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "  phonestart "); ok {
			names = append(names, strings.Fields(rest)[0])
		}
	}
	return names
}

func TestEveryCommandAnswersHelp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// -h must not read the environment, let alone connect: these would
	// fail any command that did.
	env := map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0", "PHONESTART_BATCH_SIZE": "abc", "PHONESTART_LOG_FORMAT": "xml"}
	names := commandNames(t, h)
	for _, want := range []string{"worker", "enqueue", "cancel", "status", "dead", "schedule", "fakeapi", "demo", "version"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("phonestart help lists %v: no %q", names, want)
		}
	}
	// What each command's help must show beyond its name: its positional
	// arguments and subcommands.
	shows := map[string][]string{
		"enqueue":  {"phonestart enqueue [flags] (ID... | --file F)", "-width"},
		"cancel":   {"(ID... | --file F)", "-json"},
		"status":   {"[--json | --watch]", "-watch"},
		"dead":     {"phonestart dead list", "phonestart dead requeue (--all | ID...)", "phonestart dead purge (--all | ID...)"},
		"schedule": {"phonestart schedule list --file F", "phonestart schedule run NAME --file F", "-file"},
		"worker":   {"-batch-size", "PHONESTART_BATCH_SIZE"},
	}
	var args [][]string
	for _, name := range names {
		args = append(args, []string{name, "-h"}, []string{name, "--help"}, []string{"help", name})
	}
	args = append(args,
		[]string{"dead", "list", "-h"}, []string{"dead", "requeue", "--help"}, []string{"dead", "purge", "-h"},
		[]string{"schedule", "list", "-h"}, []string{"schedule", "run", "--help"},
		[]string{"enqueue", "5577001", "-h"}, // after an argument too
	)
	for _, a := range args {
		o := h.runEnv(env, "", a...)
		name := a[0]
		if name == "help" {
			name = a[1]
		}
		full := "phonestart " + name
		if name == "dead" || name == "schedule" {
			if len(a) > 2 && a[0] != "help" {
				full += " " + a[1]
			}
		}
		if o.code != 0 || !strings.Contains(o.stdout, "Usage:") || !strings.Contains(o.stdout, full) {
			t.Errorf("phonestart %q: want exit 0 and a usage naming %q; got %v", a, full, o)
			continue
		}
		if len(a) == 2 || a[0] == "help" {
			for _, w := range shows[name] {
				if !strings.Contains(o.stdout, w) {
					t.Errorf("phonestart %q does not show %q:\n%s", a, w, o.stdout)
				}
			}
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.mustRun("", "version")
	if !strings.HasPrefix(o.stdout, "phonestart ") || !strings.Contains(o.stdout, "revision ") {
		t.Fatalf("version printed %q", o.stdout)
	}
	cases := []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{nil, "phonestart devel (revision unknown, unknown)\n"},
		{&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			"phonestart devel (revision unknown, go1.26.0)\n"},
		{&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "7291fa9e"}, {Key: "vcs.time", Value: "2026-11-30T09:00:00Z"}, {Key: "vcs.modified", Value: "true"},
		}}, "phonestart v1.2.3 (revision 7291fa9e, modified, 2026-11-30T09:00:00Z, go1.26.0)\n"},
	}
	for _, tc := range cases {
		var b bytes.Buffer
		cli.PrintVersion(&b, tc.bi)
		if b.String() != tc.want {
			t.Errorf("version of %+v: %q, want %q", tc.bi, b.String(), tc.want)
		}
	}
}

// helpFlag is one flag as a command's -h lists it.
type helpFlag struct {
	typ   string // "duration", "int", "string"; "" for a switch
	env   string // the variable beside it, if any
	usage string
}

var (
	helpFlagRE = regexp.MustCompile(`^  --?([a-z0-9][a-z0-9-]*)(?: ([a-z]+))?$`)
	helpEnvRE  = regexp.MustCompile(`\[\$([A-Z][A-Z0-9_]+)\]`)
)

// helpFlags runs `phonestart ARGS -h` and returns the flags it lists.
func helpFlags(t *testing.T, h *harness, args ...string) (map[string]helpFlag, string) {
	t.Helper()
	o := h.run("", append(args, "-h")...)
	if o.code != 0 {
		t.Fatalf("phonestart %q -h: %v", args, o)
	}
	flags := map[string]helpFlag{}
	name := ""
	for _, line := range strings.Split(o.stdout, "\n") {
		if m := helpFlagRE.FindStringSubmatch(line); m != nil {
			name = m[1]
			flags[name] = helpFlag{typ: m[2]}
			continue
		}
		if name != "" && strings.HasPrefix(line, "    ") {
			f := flags[name]
			f.usage = strings.TrimSpace(f.usage + " " + strings.TrimSpace(line))
			if m := helpEnvRE.FindStringSubmatch(line); m != nil {
				f.env = m[1]
			}
			flags[name] = f
			continue
		}
		name = ""
	}
	return flags, o.stdout
}

// flagsRead is, for each command and subcommand, every flag its code reads:
// the settings it passes on or acts upon. A flag a command parses and then
// ignores (the replica count of a command that enqueues nothing, the events
// cap of one that records no event) misleads whoever sets it.
var flagsRead = func() map[string][]string {
	api := []string{"geelark-base-url", "geelark-app-id", "geelark-api-key", "geelark-token", "geelark-call-timeout"}
	rate := []string{"rate-per-minute", "rate-per-hour"}
	cat := func(lists ...[]string) []string { return slices.Concat(lists...) }
	// The Redis settings, by what a command does with Redis: reads it,
	// records events, ends phones or requests, enqueues.
	read := []string{"redis-url", "namespace"}
	events := cat(read, []string{"events-max"})
	records := cat(events, []string{"retention"})
	writes := cat(records, []string{"redis-min-replicas"})
	schedule := cat([]string{"file", "log-format"}, writes, api, rate)
	return map[string][]string{
		"worker": cat([]string{"batch-size", "concurrency", "batch-wait", "max-attempts",
			"retry-base", "retry-max", "max-wait", "shutdown-timeout", "boot-poll", "boot-timeout", "max-runtime",
			"dead-retention", "log-format", "admin-addr", "callback"}, records, api, rate),
		"enqueue": cat([]string{"json", "width", "center", "hide-sidebar", "display-timer", "hide-library", "hide-mirror",
			"at", "in", "file", "skip-header", "stop-after", "label", "wait", "wait-timeout"}, writes),
		"stop":          cat([]string{"json", "at", "in", "file", "skip-header"}, writes),
		"cancel":        cat([]string{"json", "file", "skip-header"}, writes),
		"status":        cat([]string{"json", "watch"}, read),
		"events":        cat([]string{"follow", "json"}, read),
		"phone":         cat([]string{"json"}, read),
		"dead":          {},
		"dead list":     cat([]string{"json", "limit", "after"}, read),
		"dead requeue":  cat([]string{"all"}, writes),
		"dead purge":    cat([]string{"all", "yes"}, events),
		"schedule":      schedule,
		"schedule list": {"file"},
		"schedule run":  cat(schedule, []string{"json"}),
		"pause":         cat([]string{"json", "max-wait"}, read),
		"pause lift":    read,
		"callback":      {},
		"callback set":  api,
		"fakeapi":       {"addr", "app-id", "api-key", "token", "rate-per-minute", "rate-per-hour", "latency", "boot-time"},
		"demo":          {"phones", "v", "timeout"},
		"api":           cat([]string{"addr", "tokens-file", "tls-cert", "tls-key", "rate", "burst", "log-format"}, writes),
		"version":       {},
	}
}()

// Each command's -h lists the flags that command reads, and no other: a
// read-only command offers no replica count, version no empty heading.
func TestHelpListsOnlyTheFlagsACommandReads(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, name := range commandNames(t, h) {
		if _, ok := flagsRead[name]; !ok {
			t.Errorf("phonestart %s: not in flagsRead; add the flags it reads", name)
		}
	}
	for _, cmd := range slices.Sorted(maps.Keys(flagsRead)) {
		listed, out := helpFlags(t, h, strings.Fields(cmd)...)
		for _, f := range slices.Sorted(maps.Keys(listed)) {
			if !slices.Contains(flagsRead[cmd], f) {
				t.Errorf("phonestart %s -h lists --%s, which it does not read", cmd, f)
			}
		}
		for _, f := range flagsRead[cmd] {
			if _, ok := listed[f]; !ok {
				t.Errorf("phonestart %s -h does not list --%s, which it reads", cmd, f)
			}
		}
		if len(listed) == 0 && strings.Contains(out, "Flags") {
			t.Errorf("phonestart %s -h has a flags heading and no flags:\n%s", cmd, out)
		}
	}
}

// jsonObjects returns the keys of each top-level JSON object shown in text,
// in order: `{"a":N,"b":[...]} or {"c":N}` gives [[a b] [c]].
func jsonObjects(text string) [][]string {
	var objs [][]string
	depth := 0
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '{', '[':
			if depth == 0 && text[i] == '{' {
				objs = append(objs, nil)
			}
			depth++
		case '}', ']':
			depth = max(depth-1, 0)
		case '"':
			j := strings.IndexByte(text[i+1:], '"')
			if j < 0 {
				return objs
			}
			if depth == 1 && len(objs) > 0 && i+j+2 < len(text) && text[i+j+2] == ':' {
				objs[len(objs)-1] = append(objs[len(objs)-1], text[i+1:i+1+j])
			}
			i += j + 1
		}
	}
	return objs
}

// What -h promises --json prints is what it prints: the same keys.
func TestJSONHelpNamesTheFieldsPrinted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "5577009")
	cases := []struct {
		help   string   // the command whose --json help is checked
		object int      // which object of the help's --json text
		args   []string // what prints it
		some   bool     // fields left out when empty (omitempty): a subset
	}{
		{"status", 0, []string{"status", "--json"}, false},
		{"enqueue", 0, []string{"enqueue", "--json", "5577001"}, false},
		{"enqueue", 1, []string{"enqueue", "--json", "--wait", "--wait-timeout", "100ms", "5577002"}, false},
		{"stop", 0, []string{"stop", "--json", "5577003"}, false},
		{"cancel", 0, []string{"cancel", "--json", "5577004"}, false},
		{"events", 0, []string{"events", "--json", "5577009"}, false},
		{"pause", 0, []string{"pause", "--json"}, true},
	}
	for _, tc := range cases {
		flags, _ := helpFlags(t, h, strings.Fields(tc.help)...)
		objs := jsonObjects(flags["json"].usage)
		if len(objs) <= tc.object {
			t.Errorf("phonestart %s -h: --json %q shows %d objects, want at least %d", tc.help, flags["json"].usage, len(objs), tc.object+1)
			continue
		}
		promised := objs[tc.object]
		o := h.run("", tc.args...)
		line, _, _ := strings.Cut(o.stdout, "\n")
		var printed map[string]any
		if err := json.Unmarshal([]byte(line), &printed); err != nil {
			t.Errorf("phonestart %q printed %q: %v", tc.args, o.stdout, err)
			continue
		}
		keys := slices.Sorted(maps.Keys(printed))
		for _, k := range keys {
			if !slices.Contains(promised, k) {
				t.Errorf("phonestart %q prints %q, which %s -h does not name (it names %v)", tc.args, k, tc.help, promised)
			}
		}
		if !tc.some {
			for _, k := range promised {
				if !slices.Contains(keys, k) {
					t.Errorf("phonestart %s -h promises %q; phonestart %q prints only %v", tc.help, k, tc.args, keys)
				}
			}
		}
	}
}
