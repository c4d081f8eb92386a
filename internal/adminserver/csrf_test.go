package adminserver_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/phonestart/phonestart/tasks"
)

// A page on another site cannot make the operator's browser change tasks
// through /monitoring/; the UI itself still can.
func TestMonitoringRefusesCrossSiteChanges(t *testing.T) {
	e := newEnv(t)
	e.enqueue(phoneIDs("csrf", 3))
	c := http.Client{Timeout: 5 * time.Second}
	post := func(site string) int {
		req, _ := http.NewRequest(http.MethodPost, e.url+"/monitoring/api/queues/"+tasks.Queue+"/pending_tasks:archive_all", nil)
		req.Header.Set("Sec-Fetch-Site", site)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("cross-site"); code != http.StatusForbidden {
		t.Fatalf("cross-site POST answered %d, want 403", code)
	}
	if q, _ := e.insp.GetQueueInfo(tasks.Queue); q.Pending != 3 {
		t.Fatalf("cross-site POST changed the queue: %+v", q)
	}
	if code := post("same-origin"); code >= 300 {
		t.Fatalf("same-origin POST answered %d", code)
	}
	if q, _ := e.insp.GetQueueInfo(tasks.Queue); q.Archived != 3 {
		t.Fatalf("same-origin archive_all did not archive: %+v", q)
	}
}
