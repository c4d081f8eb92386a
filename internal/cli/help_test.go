package cli_test

import (
	"bytes"
	"runtime/debug"
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
