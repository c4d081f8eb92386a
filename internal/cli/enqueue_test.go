package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

func TestEnqueueRefusesBadInputAndEnqueuesNothing(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("7", 65)
	// file writes a file of IDs and returns its path.
	file := func(t *testing.T, content string) string {
		p := filepath.Join(t.TempDir(), "ids.txt")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name  string
		args  func(t *testing.T) []string
		stdin string
		want  []string // in stderr
	}{
		{name: "empty ID", args: fixed("enqueue", ""), want: []string{"empty"}},
		{name: "ID with a space", args: fixed("enqueue", "5577 1234"), want: []string{`"5577 1234"`, "whitespace"}},
		{name: "ID with a tab", args: fixed("enqueue", "5577\t1234"), want: []string{"whitespace or a control character"}},
		{name: "ID with a control character", args: fixed("enqueue", "5577\x071234"), want: []string{"control character"}},
		{name: "ID of 65 characters", args: fixed("enqueue", long), want: []string{"65", "64"}},
		{name: "width 199", args: fixed("enqueue", "--width", "199", "5577"), want: []string{"--width 199", "200..600"}},
		{name: "width 601", args: fixed("enqueue", "--width", "601", "5577"), want: []string{"--width 601", "200..600"}},
		{name: "width not a number", args: fixed("enqueue", "--width", "wide", "5577"), want: []string{"width"}},
		{name: "center 2", args: fixed("enqueue", "--center", "2", "5577"), want: []string{"--center", "0 or 1"}},
		{name: "at tomorrow", args: fixed("enqueue", "--at", "tomorrow", "5577"), want: []string{"--at", "tomorrow", "RFC 3339"}},
		{name: "in soon", args: fixed("enqueue", "--in", "soon", "5577"), want: []string{"-in", "soon"}},
		{name: "in negative", args: fixed("enqueue", "--in", "-5m", "5577"), want: []string{"--in", "greater than 0"}},
		{name: "at and in", args: fixed("enqueue", "--at", "2030-01-02T03:04:05Z", "--in", "1h", "5577"),
			want: []string{"--at and --in"}},
		{name: "no IDs", args: fixed("enqueue"), want: []string{"no phone IDs"}},
		{name: "no IDs but flags", args: fixed("enqueue", "--json", "--width", "400"), want: []string{"no phone IDs"}},
		{name: "file with a bad ID after comments and blank lines", args: func(t *testing.T) []string {
			return []string{"enqueue", "--file", file(t, "\uFEFF# fleet A\n5577001\n\n5577002  # ok\n557/7003\n5577004\n")}
		}, want: []string{"line 5", `"557/7003"`, "nothing was enqueued"}},
		{name: "file with a space in an ID", args: func(t *testing.T) []string {
			return []string{"enqueue", "--file", file(t, "5577001\n5577 002\n")}
		}, want: []string{"line 2", "whitespace"}},
		{name: "stdin with a bad line", args: fixed("enqueue", "--file", "-"),
			stdin: "5577001\n5577002\n" + long + "\n5577004\n", want: []string{"--file -", "line 3", "64"}},
		{name: "stdin empty", args: fixed("enqueue", "--file", "-"), want: []string{"no phone IDs"}},
		{name: "file that does not exist", args: func(t *testing.T) []string {
			return []string{"enqueue", "--file", filepath.Join(t.TempDir(), "nope.txt")}
		}, want: []string{"--file", "nope.txt", "no such file"}},
		{name: "file and ID arguments", args: func(t *testing.T) []string {
			return []string{"enqueue", "--file", file(t, "5577001\n"), "5577002"}
		}, want: []string{"not both"}},
		{name: "good ID then a bad one", args: fixed("enqueue", "5577001", "5577002", "bad id", "5577004"),
			want: []string{"ids[3]", `"bad id"`, "nothing was enqueued"}},
		{name: "good IDs with a bad width", args: fixed("enqueue", "5577001", "5577002", "--width", "1000"),
			want: []string{"--width 1000"}},
		{name: "unknown flag", args: fixed("enqueue", "--colour", "red", "5577001"), want: []string{"colour"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			args := tc.args(t)
			o := h.run(tc.stdin, args...)
			if o.code != 2 {
				t.Fatalf("phonestart %q: want exit 2, got %v", args, o)
			}
			for _, w := range tc.want {
				if !strings.Contains(o.stderr, w) {
					t.Errorf("phonestart %q: stderr %q does not name the problem (%q)", args, o.stderr, w)
				}
			}
			if strings.Contains(o.stdout, "enqueued") {
				t.Errorf("phonestart %q reported an enqueue: %q", args, o.stdout)
			}
			h.assertNothingEnqueued()
		})
	}
}

// fixed returns args as they are.
func fixed(args ...string) func(*testing.T) []string {
	return func(*testing.T) []string { return args }
}

// enqueueJSON is what `enqueue --json` prints.
type enqueueJSON struct {
	Request    string `json:"request"`
	Enqueued   int    `json:"enqueued"`
	Duplicates int    `json:"duplicates"`
}

// enqueuedJSON decodes the output of `enqueue --json`, which must be
// exactly {"request":ID,"enqueued":N,"duplicates":M}.
func enqueuedJSON(t *testing.T, stdout string) enqueueJSON {
	t.Helper()
	var v enqueueJSON
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil || !fleet.ValidRequestID(v.Request) ||
		!strings.HasPrefix(stdout, `{"request":"`+v.Request+`","enqueued":`) || !strings.HasSuffix(stdout, "}\n") {
		t.Fatalf("enqueue --json printed %q (%v): want one line {\"request\":ID,\"enqueued\":N,\"duplicates\":M}", stdout, err)
	}
	return v
}

// wantEnqueued checks that `enqueue --json` printed n enqueued and dups
// duplicates.
func wantEnqueued(t *testing.T, stdout string, n, dups int) {
	t.Helper()
	if v := enqueuedJSON(t, stdout); v.Enqueued != n || v.Duplicates != dups {
		t.Fatalf("enqueue --json printed %q, want %d enqueued and %d duplicates", stdout, n, dups)
	}
}

func TestEnqueueJSONCountsEnqueuedAndDuplicates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.mustRun("", "enqueue", "--json", "5577001", "5577002", "5577003")
	wantEnqueued(t, o.stdout, 3, 0)
	// Two already queued, one new, one given twice.
	o = h.mustRun("", "enqueue", "--json", "5577002", "5577003", "5577004", "5577004")
	wantEnqueued(t, o.stdout, 1, 3)
	if c := h.status(); c["queued"] != 4 || total(c) != 4 {
		t.Fatalf("status after enqueues: %v, want 4 queued", c)
	}
	// Without --json: a sentence naming the duplicates.
	o = h.mustRun("", "enqueue", "5577001", "5577005")
	if !strings.Contains(o.stdout, "enqueued 1 phone, 1 duplicate") || !strings.Contains(o.stdout, "5577001") {
		t.Fatalf("enqueue printed %q", o.stdout)
	}
}

func TestEnqueueFlagsAndIDsInAnyOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// An ID first, flags after it, and "--" before an ID that looks like a flag.
	o := h.mustRun("", "enqueue", "5577001", "--json", "5577002", "--width", "300", "--", "-5577003")
	wantEnqueued(t, o.stdout, 3, 0)
	for _, id := range []string{"5577001", "5577002", "-5577003"} {
		if p := h.payload(id); p.Options.Width != 300 {
			t.Fatalf("phone %s: options %+v, want width 300", id, p.Options)
		}
	}
}

func TestEnqueueFromStdin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ids := phoneIDs("5577", 250)
	// Windows line endings and a missing final newline are fine.
	stdin := strings.Join(ids[:100], "\n") + "\r\n" + strings.Join(ids[100:], "\r\n")
	o := h.mustRun(stdin, "enqueue", "--json", "--file", "-")
	wantEnqueued(t, o.stdout, 250, 0)
	if c := h.status(); c["queued"] != 250 || total(c) != 250 {
		t.Fatalf("status: %v, want 250 queued", c)
	}
	for _, id := range []string{ids[0], ids[99], ids[100], ids[249]} {
		if s := h.state(id); s != fleet.StateQueued {
			t.Fatalf("phone %s is %s, want queued", id, s)
		}
	}
}

func TestEnqueueFromFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := filepath.Join(t.TempDir(), "ids.txt")
	if err := os.WriteFile(p, []byte("5577001\n5577002\n5577003\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := h.mustRun("", "enqueue", "--json", "--file", p, "--hide-mirror")
	wantEnqueued(t, o.stdout, 3, 0)
	if p := h.payload("5577002"); !p.Options.HideMirror {
		t.Fatalf("options %+v, want hide_mirror", p.Options)
	}
}

func TestEnqueueOptionsReachThePayload(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "--width", "400", "--center", "0", "--hide-sidebar", "--display-timer",
		"--hide-library", "--hide-mirror", "5577001")
	h.mustRun("", "enqueue", "--center", "1", "5577002")
	h.mustRun("", "enqueue", "5577003")

	zero, one := 0, 1
	want := map[string]geelark.StartOptions{
		"5577001": {Width: 400, Center: &zero, HideSideBar: true, DisplayTimer: true, HideLibrary: true, HideMirror: true},
		"5577002": {Center: &one},
		"5577003": {},
	}
	for id, w := range want {
		p := h.payload(id)
		// Key spells out every option, center's nil included.
		if p.ID != id || p.Options.Key() != w.Key() {
			t.Errorf("phone %s: payload %+v (options key %q), want options key %q", id, p, p.Options.Key(), w.Key())
		}
	}
}

// A file as spreadsheets and other tools export it: a byte-order mark,
// CRLF, comments, blank lines and spaces around IDs.
func TestEnqueueFromAnExportedFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := filepath.Join(t.TempDir(), "ids.txt")
	content := "\uFEFF# fleet A\r\n" +
		"5577001\r\n" +
		"  5577002  \r\n" +
		"\r\n" +
		"5577003\t# the spare\r\n" +
		"   # fleet B\r\n" +
		"5577004 \r\n" +
		"\r\n\r\n"
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	o := h.mustRun("", "enqueue", "--json", "--file", p)
	wantEnqueued(t, o.stdout, 4, 0)
	for _, id := range []string{"5577001", "5577002", "5577003", "5577004"} {
		if s := h.state(id); s != fleet.StateQueued {
			t.Errorf("phone %s is %s, want queued", id, s)
		}
	}
	if c := h.status(); total(c) != 4 {
		t.Errorf("status %v, want exactly the 4 phones", c)
	}
	// The same from standard input.
	h2 := newHarness(t)
	o = h2.mustRun(content, "enqueue", "--json", "--file", "-")
	wantEnqueued(t, o.stdout, 4, 0)
}

func TestEnqueueLaterIsScheduled(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	at := time.Now().Add(3 * time.Hour).UTC().Truncate(time.Second)
	h.mustRun("", "enqueue", "--at", at.Format(time.RFC3339), "5577001", "5577002")
	before := time.Now()
	h.mustRun("", "enqueue", "--in", "90m", "5577003")
	after := time.Now()
	if c := h.status(); c["scheduled"] != 3 || total(c) != 3 {
		t.Fatalf("status: %v, want 3 scheduled", c)
	}
	// The record says when each is due, and the task comes to a worker then.
	if p := h.record("5577001"); p.State != fleet.StateScheduled || !p.Due.Equal(at) {
		t.Errorf("--at %v: phone %s due %v", at, p.State, p.Due)
	}
	ti, err := h.insp.GetTaskInfo(fleet.MustSpace("").StartQueue(), h.taskID("5577001"))
	if err != nil {
		t.Fatal(err)
	}
	if !ti.NextProcessAt.Equal(at) {
		t.Errorf("--at %v: task processes at %v", at, ti.NextProcessAt)
	}
	lo, hi := before.Add(90*time.Minute).Add(-time.Second), after.Add(90*time.Minute).Add(time.Second)
	if p := h.record("5577003"); p.State != fleet.StateScheduled || p.Due.Before(lo) || p.Due.After(hi) {
		t.Errorf("--in 90m: phone %s due %v, want within [%v, %v]", p.State, p.Due, lo, hi)
	}
	ti, err = h.insp.GetTaskInfo(fleet.MustSpace("").StartQueue(), h.taskID("5577003"))
	if err != nil {
		t.Fatal(err)
	}
	if ti.NextProcessAt.Before(lo) || ti.NextProcessAt.After(hi) {
		t.Errorf("--in 90m: task processes at %v, want within [%v, %v]", ti.NextProcessAt, lo, hi)
	}
	if o := h.mustRun("", "phone", "5577003"); !strings.Contains(o.stdout, "5577003: scheduled since") || !strings.Contains(o.stdout, "(in 1h29m)") {
		t.Errorf("phone 5577003 printed %q, want it scheduled, due in 1h29m", o.stdout)
	}
	// A scheduled phone is a duplicate too.
	o := h.mustRun("", "enqueue", "--json", "5577003")
	wantEnqueued(t, o.stdout, 0, 1)
}

// payload returns the payload of phone id's start task: what a worker
// sends GeeLark.
func (h *harness) payload(id string) tasks.StartPhone {
	h.t.Helper()
	ti, err := h.insp.GetTaskInfo(fleet.MustSpace("").StartQueue(), h.taskID(id))
	if err != nil {
		h.t.Fatalf("phone %s: %v", id, err)
	}
	if ti.Type != tasks.TypeStartPhone {
		h.t.Fatalf("phone %s: task type %q", id, ti.Type)
	}
	p, err := tasks.ParseStartPhone(ti.Payload)
	if err != nil {
		h.t.Fatalf("phone %s: %v", id, err)
	}
	return p
}
