package api_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/api"
)

// run runs an example's interpreter on a program, in the example's
// directory, with env, and returns its standard output.
func run(t *testing.T, dir, bin string, env []string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Skipf("%s is not installed", bin)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = filepath.Join("..", "..", "examples", dir)
	cmd.Env = append(cmd.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s: %v\n%s\n%s", bin, err, out, stderr)
	}
	return string(out)
}

// signed is a webhook body signed now, as the deliverer signs it, and the
// same forged: another signature, another body, an old timestamp.
func signed() (body, ts, sig string, forged [][3]string) {
	body = `{"request":"mic1x2a9-3f9a0c12bd4e","ended":true,"ready":[],"dead":[],"cancelled":["5577"],"stopped":[],"unfinished":[]}`
	ts = strconv.FormatInt(time.Now().Unix(), 10)
	sig = api.Sign([]byte(secret), ts, []byte(body))
	old := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	flipped := []byte(sig)
	flipped[len(flipped)-1] ^= 1
	forged = [][3]string{
		{ts, string(flipped), body},
		{ts, sig, strings.Replace(body, "5577", "5578", 1)},
		{old, api.Sign([]byte(secret), old, []byte(body)), body},
		{ts, api.Sign([]byte("someone-elses-secret-0000"), ts, []byte(body)), body},
		{ts, "", body},
	}
	return body, ts, sig, forged
}

// verdicts runs the example's verify function on the real webhook and each
// forged one and returns its answers, one a line.
func checkVerdicts(t *testing.T, out string, forged int) {
	t.Helper()
	got := strings.Fields(out)
	want := append([]string{"true"}, slices.Repeat([]string{"false"}, forged)...)
	if !slices.Equal(got, want) {
		t.Errorf("verify said %v, want %v (the real signature accepted, each forged one refused)", got, want)
	}
}

// TestPythonVerifySignature: the Python example's verify_signature accepts
// a webhook signed as the server signs it, and refuses forged ones.
func TestPythonVerifySignature(t *testing.T) {
	t.Parallel()
	body, ts, sig, forged := signed()
	cases, _ := json.Marshal(append([][3]string{{ts, sig, body}}, forged...))
	out := run(t, "python", "python3", []string{"CASES=" + string(cases), "SECRET=" + secret}, "-c", `
import json, os
from phonestart import verify_signature
for ts, sig, body in json.loads(os.environ["CASES"]):
    print("true" if verify_signature(os.environ["SECRET"], ts, sig, body.encode()) else "false")
`)
	checkVerdicts(t, out, len(forged))
}

// TestNodeVerifySignature: the same of the Node example's verifySignature.
func TestNodeVerifySignature(t *testing.T) {
	t.Parallel()
	body, ts, sig, forged := signed()
	cases, _ := json.Marshal(append([][3]string{{ts, sig, body}}, forged...))
	out := run(t, "node", "node", []string{"CASES=" + string(cases), "SECRET=" + secret}, "--input-type=module", "-e", `
import { verifySignature } from "./phonestart.mjs";
for (const [ts, sig, body] of JSON.parse(process.env.CASES)) {
  console.log(String(verifySignature(process.env.SECRET, ts, sig, Buffer.from(body))));
}
`)
	checkVerdicts(t, out, len(forged))
}

// clientRun is what the examples' client programs print: the request they
// made, its outcome after a wait, and the stream IDs of its events, read
// in two connections (the second resuming after the first).
type clientRun struct {
	Request string          `json:"request"`
	Outcome json.RawMessage `json:"outcome"`
	IDs     []string        `json:"ids"`
}

func checkClientRun(t *testing.T, h *harness, out string) {
	t.Helper()
	var r clientRun
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	h.checkSchema("Outcome", string(r.Outcome))
	if want := h.streamIDs(r.Request); !slices.Equal(r.IDs, want) {
		t.Errorf("events read %v, want %v", r.IDs, want)
	}
}

// TestPythonClient: the Python client starts phones, waits on the request
// and reads its events in two connections, missing none.
func TestPythonClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	out := run(t, "python", "python3", []string{"URL=" + h.ts.URL, "TOKEN=" + h.tokens["starter"]}, "-c", `
import json, os
from phonestart import Client
c = Client(os.environ["URL"], os.environ["TOKEN"])
r = c.start(["5577000000000001", "5577000000000002", "5577000000000003"], label="py", options={"width": 300})
o = c.wait(r["request"], timeout=1)
ids, last = [], "0"
for i, _, _ in c.events(request=r["request"], last_event_id=last):
    ids.append(i)
    break
for i, _, _ in c.events(request=r["request"], last_event_id=ids[-1], stop=lambda: len(ids) == 3):
    ids.append(i)
print(json.dumps({"request": r["request"], "outcome": o, "ids": ids}))
`)
	checkClientRun(t, h, out)
}

// TestNodeClient: the same of the Node client.
func TestNodeClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	out := run(t, "node", "node", []string{"URL=" + h.ts.URL, "TOKEN=" + h.tokens["starter"]}, "--input-type=module", "-e", `
import { Client } from "./phonestart.mjs";
const c = new Client(process.env.URL, process.env.TOKEN);
const r = await c.start(["5577000000000001", "5577000000000002", "5577000000000003"], { label: "js", options: { width: 300 } });
const o = await c.wait(r.request, 1);
const ids = [];
for await (const e of c.events({ request: r.request, lastEventId: "0" })) { ids.push(e.id); break; }
const ac = new AbortController();
for await (const e of c.events({ request: r.request, lastEventId: ids[0], signal: ac.signal })) {
  ids.push(e.id);
  if (ids.length === 3) { ac.abort(); break; }
}
console.log(JSON.stringify({ request: r.request, outcome: o, ids }));
`)
	checkClientRun(t, h, out)
}
