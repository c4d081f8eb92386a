package e2e

import (
	"context"
	"github.com/phonestart/phonestart/internal/adminserver/admintest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// chromium returns the path of a chromium binary, or "".
func chromium() string {
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// artifacts is where screenshots go: $PHONESTART_ARTIFACTS, or a directory
// removed with the test.
func artifacts(t *testing.T) string {
	dir := os.Getenv("PHONESTART_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// In a real browser: the asynqmon UI under /monitoring/ lists the phonestart
// queue, and its Pending tab lists the phones waiting for a worker, each by
// its task ID (phone ID:generation:task number). (Outcomes, dead phones
// among them, are in the phones' records, not in asynq: `phonestart dead`
// lists those.)
func TestMonitoringShowsWaitingPhonesInABrowser(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium binary (looked for /usr/bin/chromium, chromium, chromium-browser): " +
			"install it (apt-get install chromium) to run the browser test")
	}
	e := admintest.New(t)
	ids := admintest.PhoneIDs("5577", 12)
	e.Enqueue(ids)
	store, err := fleet.NewStore(e.RDB, fleet.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := store.Phone(context.Background(), ids[0])
	if err != nil || first.State != fleet.StateQueued {
		t.Fatalf("record of %s: %+v, %v; want queued", ids[0], first, err)
	}
	firstTask := tasks.TaskID(first.ID, first.Gen, first.Task)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	defer cancel()
	// The first action starts the browser, which lives as long as ctx: no
	// timeout on it, only on the steps after.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	browser := ctx
	ctx, cancelSteps := context.WithTimeout(browser, time.Minute)
	defer cancelSteps()
	fail := func(err error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, 5*time.Second)
		defer cancel()
		url, _ := chromedp.Run(ctx, chromedp.Location())
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML("body"))
		t.Fatalf("browser: %v\nat %s\n%s", err, url, html)
	}

	// The dashboard lists the queue; its link leads to the queue's page,
	// whose Pending tab lists the waiting phones' tasks.
	queueLink := `//a[normalize-space(.)="phonestart"]`
	pendingTab := `//*[@role="button"][starts-with(normalize-space(.), "Pending")]`
	if err := chromedp.Do(ctx, chromedp.Navigate(e.URL+"/monitoring/"), chromedp.WaitVisible(queueLink)); err != nil {
		fail(err)
	}
	dashboard, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		fail(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(queueLink),
		chromedp.WaitVisible(pendingTab),
		chromedp.Click(pendingTab),
		chromedp.WaitVisible(`//th[contains(., "`+firstTask+`")]`),
	); err != nil {
		fail(err)
	}
	pending, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		fail(err)
	}
	dir := artifacts(t)
	kind := "miniredis" // CI runs the tests on both kinds of Redis: keep both sets
	if e.R.Real {
		kind = "redis"
	}
	for name, png := range map[string][]byte{"dashboard": dashboard, "pending": pending} {
		path := filepath.Join(dir, "monitoring-"+name+"-"+kind+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
}
