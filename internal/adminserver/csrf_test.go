package adminserver_test

import (
	"github.com/phonestart/phonestart/internal/adminserver/admintest"
	"net/http"
	"testing"
	"time"

	"github.com/phonestart/phonestart/tasks"
)

// /monitoring/ is read-only: a task moved behind its phone's record would
// go against the record, which decides the phone's fate. Neither a page on
// another site nor the UI itself can change a task through it.
func TestMonitoringChangesNoTask(t *testing.T) {
	e := admintest.New(t)
	e.Enqueue(admintest.PhoneIDs("csrf", 3))
	c := http.Client{Timeout: 5 * time.Second}
	post := func(site string) int {
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/monitoring/api/queues/"+tasks.Queue+"/pending_tasks:archive_all", nil)
		req.Header.Set("Sec-Fetch-Site", site)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("cross-site"); code != http.StatusForbidden {
		t.Errorf("cross-site POST answered %d, want 403", code)
	}
	if code := post("same-origin"); code < 400 {
		t.Errorf("same-origin POST answered %d, want it refused", code)
	}
	if q, err := e.Insp.GetQueueInfo(tasks.Queue); err != nil || q.Pending != 3 || q.Archived != 0 {
		t.Fatalf("the POSTs changed the queue: %+v, %v", q, err)
	}
	// Reading still works.
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/monitoring/api/queues/"+tasks.Queue+"/pending_tasks", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET of the pending tasks answered %d, want 200", resp.StatusCode)
	}
}
