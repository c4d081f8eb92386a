package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// schedule run NAME of a selection that matches no phone fails: exit 1,
// the selection named. A group renamed at GeeLark is not a success.
func TestScheduleRunOfASelectionMatchingNoPhoneExits1(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	fake.AddPhones(geelarktest.Phone{ID: "5577001", GroupName: "Shop-EU"})
	file := filepath.Join(t.TempDir(), "schedules.yaml")
	yaml := "schedules:\n" +
		"  - name: renamed\n    cron: \"0 8 * * *\"\n    select: {group_name: Shop-E}\n" +
		"  - name: shop\n    cron: \"0 8 * * *\"\n    select: {group_name: Shop-EU}\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := h.workerEnv(fake)
	o := h.runEnv(env, "", "schedule", "run", "renamed", "--file", file)
	if o.code != 1 || !strings.Contains(o.stdout, "selected 0") || !strings.Contains(o.stderr, "matched no phone") ||
		!strings.Contains(o.stderr, `"Shop-E"`) {
		t.Fatalf("schedule run of a selection matching nothing: want exit 1 naming the selection, got %v", o)
	}
	if o := h.runEnv(env, "", "schedule", "run", "shop", "--file", file); o.code != 0 || !strings.Contains(o.stdout, "selected 1, enqueued 1") {
		t.Fatalf("schedule run of a selection matching a phone: %v", o)
	}
}
