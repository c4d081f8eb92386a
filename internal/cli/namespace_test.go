package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
)

// Two fleets share one Redis, each under its namespace: neither sees, nor
// touches, the other's phones.
func TestNamespaceKeepsFleetsApart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fleetB := h.with(map[string]string{"PHONESTART_NAMESPACE": "fleet-b"})
	h.mustRun("", "enqueue", "--namespace", "fleet-b", "5577001")
	h.mustRun("", "enqueue", "5577002")

	if c := h.status(); c["queued"] != 1 || total(c) != 1 {
		t.Errorf("status of the default namespace: %v, want its one phone queued", c)
	}
	if o := h.runEnv(fleetB, "", "status"); o.code != 0 || !strings.Contains(o.stdout, "queued     1") {
		t.Errorf("status with PHONESTART_NAMESPACE=fleet-b: %v, want its one phone queued", o)
	}
	if o := h.run("", "phone", "5577001"); o.code != 1 || !strings.Contains(o.stderr, "knows nothing of it") {
		t.Errorf("phone 5577001 of the default namespace: %v, want it unknown there", o)
	}
	if o := h.run("", "phone", "--namespace", "fleet-b", "5577001"); o.code != 0 || !strings.Contains(o.stdout, "5577001: queued since") {
		t.Errorf("phone --namespace fleet-b 5577001: %v, want it queued", o)
	}
	// Its tasks are in its own queue, for its own workers.
	if q, err := h.insp.GetQueueInfo("fleet-b"); err != nil || q.Pending != 1 {
		t.Errorf("queue fleet-b: %+v, %v; want its one task pending", q, err)
	}
	if q, err := h.insp.GetQueueInfo(fleet.MustSpace("").StartQueue()); err != nil || q.Pending != 1 {
		t.Errorf("queue %s: %+v, %v; want its one task pending", fleet.MustSpace("").StartQueue(), q, err)
	}
	// A cancel in one namespace finds nothing of the other's.
	if o := h.mustRun("", "cancel", "--json", "5577001"); o.stdout != `{"cancelled":0,"not_found":1,"active":0}`+"\n" {
		t.Errorf("cancel in the default namespace of fleet-b's phone printed %q", o.stdout)
	}
	if o := h.runEnv(fleetB, "", "cancel", "--json", "5577001"); o.stdout != `{"cancelled":1,"not_found":0,"active":0}`+"\n" {
		t.Errorf("cancel in fleet-b of its phone: %v", o)
	}

	for _, bad := range []string{"fleet b", "{x}", strings.Repeat("n", 41)} {
		o := h.run("", "status", "--namespace", bad)
		if o.code != 2 || !strings.Contains(o.stderr, "PHONESTART_NAMESPACE") {
			t.Errorf("status --namespace %q: %v; want exit 2 naming PHONESTART_NAMESPACE", bad, o)
		}
	}
}

// --retention is how long a phone's record is kept once it ended: phone
// forgets a cancelled phone after it, and not before.
func TestRetentionBoundsHowLongAnEndedPhoneIsKept(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "5577001", "5577002")
	h.mustRun("", "cancel", "--retention", "1s", "5577001")
	h.mustRun("", "cancel", "5577002")
	if o := h.mustRun("", "phone", "5577001"); !strings.Contains(o.stdout, "5577001: cancelled since") {
		t.Fatalf("phone 5577001 just cancelled printed %q", o.stdout)
	}
	if h.r.Mini != nil {
		h.r.Mini.FastForward(1500 * time.Millisecond)
	} else {
		time.Sleep(1500 * time.Millisecond)
	}
	if o := h.run("", "phone", "5577001"); o.code != 1 || !strings.Contains(o.stderr, "knows nothing of it") {
		t.Errorf("phone 5577001, cancelled with --retention 1s, 1.5s later: %v; want it forgotten", o)
	}
	if o := h.mustRun("", "phone", "5577002"); !strings.Contains(o.stdout, "5577002: cancelled since") {
		t.Errorf("phone 5577002, cancelled with the default retention, 1.5s later printed %q", o.stdout)
	}
	if o := h.run("", "cancel", "--retention", "0s", "5577002"); o.code != 2 || !strings.Contains(o.stderr, "retention") {
		t.Errorf("cancel --retention 0s: %v; want exit 2 naming it", o)
	}
}
