package cli_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/cli"
)

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the README from the heading "## title" to the next "## ".
func section(t *testing.T, doc, title string) string {
	t.Helper()
	i := strings.Index(doc, "\n## "+title+"\n")
	if i < 0 {
		t.Fatalf("README has no section %q", title)
	}
	rest := doc[i+1:]
	if j := strings.Index(rest[3:], "\n## "); j >= 0 {
		rest = rest[:j+3]
	}
	return rest
}

var envVarRE = regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")

// flagVariables runs -h on every command and subcommand and returns the
// environment variables their flags read ([$NAME]), each with a command
// that reads it.
func flagVariables(t *testing.T, h *harness) map[string]string {
	t.Helper()
	cmds := [][]string{}
	for _, name := range commandNames(t, h) {
		cmds = append(cmds, []string{name})
	}
	cmds = append(cmds, []string{"dead", "list"}, []string{"dead", "requeue"}, []string{"dead", "purge"},
		[]string{"schedule", "list"}, []string{"schedule", "run"})
	vars := map[string]string{}
	re := regexp.MustCompile(`\[\$([A-Z][A-Z0-9_]+)\]`)
	for _, c := range cmds {
		o := h.run("", append(c, "-h")...)
		if o.code != 0 {
			t.Fatalf("phonestart %q -h: %v", c, o)
		}
		for _, m := range re.FindAllStringSubmatch(o.stdout, -1) {
			vars[m[1]] = strings.Join(c, " ")
		}
	}
	return vars
}

// The configuration table lists every variable a flag reads, and only those.
func TestREADMEConfigurationTableMatchesTheFlags(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	binary := flagVariables(t, h)
	table := map[string]bool{}
	for _, line := range strings.Split(section(t, readme(t), "Configuration"), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.SplitN(line[1:], "|", 2)[0]
		for _, m := range envVarRE.FindAllStringSubmatch(first, -1) {
			table[m[1]] = true
		}
	}
	if len(binary) < 10 || len(table) < 10 {
		t.Fatalf("found %d variables in the flags and %d in the table: the parsing is broken", len(binary), len(table))
	}
	for _, v := range slices.Sorted(maps.Keys(binary)) {
		if !table[v] {
			t.Errorf("%s (read by phonestart %s) is missing from the README's configuration table", v, binary[v])
		}
	}
	for _, v := range slices.Sorted(maps.Keys(table)) {
		if _, ok := binary[v]; !ok {
			t.Errorf("the README's configuration table lists %s, which no flag reads", v)
		}
	}
}

// The command table lists every command phonestart help does.
func TestREADMECommandTableListsEveryCommand(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	real := section(t, readme(t), "Real use")
	for _, name := range commandNames(t, h) {
		if !strings.Contains(real, "\n| `phonestart "+name) {
			t.Errorf("the README's command table has no row for phonestart %s", name)
		}
	}
}

// shellLines returns the lines of the README's sh blocks, in order, up to
// the section named until.
func shellLines(t *testing.T, doc, until string) []string {
	t.Helper()
	if i := strings.Index(doc, "\n## "+until+"\n"); i >= 0 {
		doc = doc[:i]
	}
	var lines []string
	in := false
	for _, l := range strings.Split(doc, "\n") {
		switch {
		case strings.HasPrefix(l, "```sh"):
			in = true
		case strings.HasPrefix(l, "```"):
			in = false
		case in:
			if i := strings.Index(l, "#"); i >= 0 {
				l = l[:i]
			}
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
	}
	return lines
}

// Following the README from the top through Real use against the fake API:
// every worker it starts has credentials the fake it started accepts.
func TestREADMEWalkthroughCredentialsMatchTheFakeAPI(t *testing.T) {
	t.Parallel()
	lines := shellLines(t, readme(t), "Scheduled start-ups")
	env := map[string]string{}
	fakes := map[string]string{} // the README's address -> where the test's fake listens
	workers := 0
	for _, line := range lines {
		f := strings.Fields(strings.TrimSuffix(line, "&"))
		if f[0] == "export" {
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			continue
		}
		i := slices.Index(f, "./phonestart")
		if i < 0 || i+1 >= len(f) {
			continue
		}
		cmdEnv := maps.Clone(env)
		for _, kv := range f[:i] {
			k, v, _ := strings.Cut(kv, "=")
			cmdEnv[k] = v
		}
		switch f[i+1] {
		case "fakeapi":
			addr := "127.0.0.1:8089"
			if j := slices.Index(f, "--addr"); j > 0 {
				addr = f[j+1]
			}
			fakes["http://"+addr] = startFakeAPI(t, cmdEnv)
		case "worker":
			workers++
			base, ok := fakes[cmdEnv["GEELARK_BASE_URL"]]
			if !ok {
				t.Fatalf("README line %q starts a worker against %q, not a fake API it started (%v)",
					line, cmdEnv["GEELARK_BASE_URL"], slices.Collect(maps.Keys(fakes)))
			}
			api, err := geelark.NewClient(geelark.Config{BaseURL: base, AppID: cmdEnv["GEELARK_APP_ID"],
				APIKey: cmdEnv["GEELARK_API_KEY"], Token: cmdEnv["GEELARK_TOKEN"]})
			if err != nil {
				t.Fatalf("README line %q: the worker's credentials: %v", line, err)
			}
			_, err = api.StartPhones(context.Background(), []string{"557712345678901234"}, geelark.StartOptions{})
			var ae *geelark.APIError
			if errors.As(err, &ae) && ae.Code == 40003 {
				t.Fatalf("README line %q: the fake API refuses the worker's credentials: %v", line, err)
			}
		}
	}
	if len(fakes) == 0 || workers == 0 {
		t.Fatalf("the README starts %d fake APIs and %d workers before Scheduled start-ups: want both", len(fakes), workers)
	}
}

// startFakeAPI runs `phonestart fakeapi` with env on a free port until the
// test ends and returns its URL.
func startFakeAPI(t *testing.T, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- cli.Main([]string{"fakeapi", "--addr", "127.0.0.1:0", "--latency", "0s"},
			cli.Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Getenv: getenv(env), Ctx: ctx})
	}()
	t.Cleanup(func() { cancel(); <-done })
	re := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)`)
	var url string
	eventually(t, 10*time.Second, func() bool {
		m := re.FindStringSubmatch(out.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}, func() string { return "fakeapi did not start: " + out.String() })
	return url
}

// A shell set up for the real API (or with the README's placeholders)
// still gets a fake that accepts the documented test credentials.
func TestFakeAPIAcceptsTheTestCredentialsWhateverTheEnvironment(t *testing.T) {
	t.Parallel()
	url := startFakeAPI(t, map[string]string{"GEELARK_APP_ID": "...", "GEELARK_API_KEY": "...", "GEELARK_TOKEN": secretToken})
	for _, cfg := range []geelark.Config{
		{BaseURL: url, AppID: "test-app", APIKey: "test-key"},
		{BaseURL: url, Token: "test-token"},
	} {
		api, err := geelark.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.StartPhones(context.Background(), []string{"557712345678901234"}, geelark.StartOptions{}); err != nil {
			t.Errorf("%s mode: %v", api.AuthMode(), err)
		}
	}
}
