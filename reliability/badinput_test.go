//go:build reliability

package reliability

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/geelark/geelarktest"
	psfleet "github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/tasks"
)

// TestBadInputIsRefusedAndNothingIsDone types bad input wherever a user can
// (the arguments, flags and --file of enqueue, the environment of a worker,
// a schedules file) into the real binary. Each must exit 2 with a message
// naming what was wrong, and leave Redis as it was: one phone enqueued
// beforehand stays pending, untouched, and no other task appears. The fake
// API must get no call.
func TestBadInputIsRefusedAndNothingIsDone(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	f := newFleet(t, r.URL)
	fake := geelarktest.NewServer(geelarktest.Config{})
	t.Cleanup(fake.Close)
	const sentinel = "5577906000001"
	f.enqueue([]string{sentinel})

	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	idsWithBadLine := file("badline.txt", "# fleet\n5577906000010\n\n5577906 000011\n")
	goodYAML := "schedules:\n  - name: ok\n    cron: \"0 7 * * *\"\n    ids: [\"5577906000030\"]\n"
	unknownField := file("unknown.yaml", goodYAML+"  - name: shop\n    cron: \"0 7 * * *\"\n    ids: [\"5577906000031\"]\n    tagz: [morning]\n")
	badCron := file("cron.yaml", "schedules:\n  - name: shop\n    cron: \"61 7 * * *\"\n    ids: [\"5577906000032\"]\n")
	badZone := file("zone.yaml", "schedules:\n  - name: shop\n    cron: \"0 7 * * *\"\n    time_zone: Mars/Olympus\n    ids: [\"5577906000033\"]\n")
	badID := file("id.yaml", "schedules:\n  - name: shop\n    cron: \"0 7 * * *\"\n    ids: [\"5577906000034\", \"has space\"]\n")
	noSelection := file("nosel.yaml", "schedules:\n  - name: shop\n    cron: \"0 7 * * *\"\n")
	notYAML := file("broken.yaml", "schedules: [ {name: shop\n")

	worker := func(extra ...string) []string { return workerEnv(r.URL, fake.URL, extra...) }
	redisOnly := []string{"REDIS_URL=" + r.URL}
	cases := []struct {
		name  string
		env   []string
		stdin string
		args  []string
		want  []string // in the message, each
	}{
		// enqueue: one bad ID spoils the whole request.
		{"enqueue: one bad ID among good ones", redisOnly, "",
			[]string{"enqueue", "5577906000020", "5577906 000021", "5577906000022"}, []string{"ids[2]", "whitespace", "nothing was enqueued"}},
		{"enqueue: width out of range", redisOnly, "", []string{"enqueue", "--width", "1000", "5577906000023"}, []string{"--width", "200..600"}},
		{"enqueue: --at not a time", redisOnly, "", []string{"enqueue", "--at", "7am", "5577906000024"}, []string{"--at", "RFC 3339"}},
		{"enqueue: --file with a bad line", redisOnly, "", []string{"enqueue", "--file", idsWithBadLine}, []string{"line 4", "whitespace"}},
		{"enqueue: standard input with a long ID", redisOnly, "5577906000025\n" + strings.Repeat("7", 65) + "\n",
			[]string{"enqueue", "--file", "-"}, []string{"line 2", "64"}},
		{"enqueue: unknown flag", redisOnly, "", []string{"enqueue", "--colour", "red", "5577906000026"}, []string{"colour"}},
		// worker: a bad setting stops it before it takes a task.
		{"worker: batch size 300", worker("PHONESTART_BATCH_SIZE=300"), "", []string{"worker"}, []string{"PHONESTART_BATCH_SIZE", "1..200"}},
		{"worker: batch wait not a duration", worker("PHONESTART_BATCH_WAIT=fast"), "", []string{"worker"}, []string{"PHONESTART_BATCH_WAIT", `"fast"`}},
		{"worker: shutdown timeout 0", worker("PHONESTART_SHUTDOWN_TIMEOUT=0s"), "", []string{"worker"}, []string{"PHONESTART_SHUTDOWN_TIMEOUT"}},
		{"worker: no credentials", worker("GEELARK_APP_ID=", "GEELARK_API_KEY="), "", []string{"worker"}, []string{"GEELARK_APP_ID", "GEELARK_TOKEN"}},
		{"worker: Redis URL", worker("REDIS_URL=localhost:6379"), "", []string{"worker"}, []string{"REDIS_URL"}},
		// schedules: the file is checked before anything runs.
		{"schedule list: unknown field", redisOnly, "", []string{"schedule", "list", "--file", unknownField}, []string{"unknown.yaml:8", `"shop"`, `"tagz"`}},
		{"schedule list: bad cron", redisOnly, "", []string{"schedule", "list", "--file", badCron}, []string{"cron.yaml:3", "cron"}},
		{"schedule list: unknown zone", redisOnly, "", []string{"schedule", "list", "--file", badZone}, []string{"zone.yaml:4", "Mars/Olympus"}},
		{"schedule list: bad ID", redisOnly, "", []string{"schedule", "list", "--file", badID}, []string{"id.yaml", "ids[1]", "whitespace"}},
		{"schedule list: no selection", redisOnly, "", []string{"schedule", "list", "--file", noSelection}, []string{"nosel.yaml", "no phone selection"}},
		{"schedule list: not YAML", redisOnly, "", []string{"schedule", "list", "--file", notYAML}, []string{"broken.yaml"}},
		{"schedule list: no such file", redisOnly, "", []string{"schedule", "list", "--file", filepath.Join(dir, "nope.yaml")}, []string{"nope.yaml"}},
		// A bad file refuses a run too: the good schedule in it does not fire.
		{"schedule run: good schedule in a bad file", redisOnly, "", []string{"schedule", "run", "ok", "--file", unknownField}, []string{"unknown.yaml:8", `"tagz"`}},
		{"schedule: run all from a bad file", redisOnly, "", []string{"schedule", "--file", badCron}, []string{"cron.yaml:3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			began := time.Now()
			code, stdout, stderr := run(t, tc.env, tc.stdin, tc.args...)
			t.Logf("exit %d: %s", code, strings.TrimSpace(stderr))
			if code != 2 {
				t.Errorf("phonestart %q exited %d, want 2; stdout %q; stderr %q", tc.args, code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("phonestart %q: message %q does not mention %q", tc.args, strings.TrimSpace(stderr), w)
				}
			}
			if took := time.Since(began); took > 10*time.Second {
				t.Errorf("phonestart %q took %v to refuse", tc.args, took.Round(time.Millisecond))
			}
			f.assertNoTasks(sentinel)
			p, err := f.store.Phone(context.Background(), sentinel)
			if err != nil || p.State != psfleet.StateQueued || p.Attempt != 0 {
				t.Errorf("the phone enqueued before is %+v (%v), want queued and untouched", p, err)
			}
			ti, err := f.insp.GetTaskInfo(tasks.Queue, tasks.TaskID(sentinel, p.Gen, p.Task))
			if err != nil || ti.State != asynq.TaskStatePending || ti.Retried != 0 {
				t.Errorf("the task of the phone enqueued before is %+v (%v), want pending and untouched", ti, err)
			}
		})
	}
	if n := len(fake.Calls()); n != 0 {
		t.Errorf("the API got %d calls, want none", n)
	}
}
