package cli_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/cli"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/logging/logtest"
)

// startCalls are the fake's calls to the start endpoint.
func startCalls(fake *geelarktest.Server) []geelarktest.Call {
	var out []geelarktest.Call
	for _, c := range fake.Calls() {
		if c.Path == geelark.StartPath {
			out = append(out, c)
		}
	}
	return out
}

// runWorkerFor runs `phonestart worker` with env until it returns, or until
// d has passed, when its context is cancelled as SIGINT would: a worker
// that was to exit 2 at start-up and is still running then exits 0.
func runWorkerFor(env map[string]string, d time.Duration) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var stdout, stderr syncBuffer
	code := cli.Main([]string{"worker"}, cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: getenv(env), Ctx: ctx})
	return outcome{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// assertNoFleetPause checks that nothing paused the fleet, nor began an
// account-wide streak of refusals.
func (h *harness) assertNoFleetPause() {
	h.t.Helper()
	sp := fleet.MustSpace("")
	n, err := h.r.Client(h.t).Exists(context.Background(), sp.Key("pause"), sp.Key("blocked")).Result()
	if err != nil {
		h.t.Fatal(err)
	}
	if n != 0 {
		h.t.Errorf("Redis holds %d fleet pause keys: a refused start-up check paused the fleet", n)
	}
}

func TestWorkerWithABadKeyExitsTwoNamingIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	h.mustRun("", "enqueue", "5577000001")
	const staleKey = "sk-0b5e7c2d4a6f8e1-stale-never-log-me"
	env := h.workerEnv(fake)
	env["GEELARK_API_KEY"] = staleKey

	o := runWorkerFor(env, 10*time.Second)
	t.Logf("%s", o.stderr)
	if o.code != 2 {
		t.Fatalf("worker with a wrong key: want exit 2 within 10s, got %v", o)
	}
	for _, want := range []string{"40003", "GEELARK_API_KEY", "signature verification failed"} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("worker with a wrong key: the error does not name %q:\n%s", want, o.stderr)
		}
	}
	for _, secret := range []string{staleKey, secretKey} {
		if strings.Contains(o.stdout+o.stderr, secret) {
			t.Errorf("output shows the key %q", secret)
		}
	}
	if calls := fake.Calls(); len(calls) != 1 || calls[0].Path != geelark.ListPath {
		t.Errorf("the fake saw %d calls, want the one list call of the check: %+v", len(calls), calls)
	}
	if p := h.record("5577000001"); p.State != fleet.StateQueued || p.Attempt != 0 {
		t.Errorf("the refused worker took the phone: it is %s after %d attempts, want queued", p.State, p.Attempt)
	}
	h.assertNoFleetPause()
}

func TestWorkerRefusedByTheIPWhitelistExitsTwo(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40016})

	o := runWorkerFor(h.workerEnv(fake), 10*time.Second)
	t.Logf("%s", o.stderr)
	if o.code != 2 || !strings.Contains(o.stderr, "40016") || !strings.Contains(o.stderr, "IP whitelist") {
		t.Fatalf("worker refused with 40016: want exit 2 naming the code and the IP whitelist, got %v", o)
	}
	assertNoSecret(t, o.stdout+o.stderr)
	h.assertNoFleetPause()
}

// The scheduler, when a schedule selects phones through GeeLark, checks
// too: other set-up codes are refused the same way.
func TestSchedulerWithSelectionsChecksTheCredentials(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	file := t.TempDir() + "/schedules.yaml"
	yaml := "schedules:\n  - name: vip\n    cron: \"0 8 * * *\"\n    select:\n      group_name: vip\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40012})
	env := h.workerEnv(fake)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	code := cli.Main([]string{"schedule", "--file", file}, cli.Env{Stdin: strings.NewReader(""),
		Stdout: &stdout, Stderr: &stderr, Getenv: getenv(env), Ctx: ctx})
	if code != 2 || !strings.Contains(stderr.String(), "40012") || !strings.Contains(stderr.String(), "renew") {
		t.Fatalf("schedule with API access expired: want exit 2 naming 40012 and what to do, got %d:\n%s", code, stderr.String())
	}
	h.assertNoFleetPause()
}

func TestWorkerRetriesTheCheckUntilGeeLarkAnswers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// An address where nothing listens yet: connections are refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h.mustRun("", "enqueue", "5577000001")
	env := h.with(map[string]string{
		"GEELARK_BASE_URL": "http://" + addr, "GEELARK_APP_ID": "test-app", "GEELARK_API_KEY": secretKey,
		"PHONESTART_BATCH_WAIT": "50ms", "PHONESTART_LOG_FORMAT": "json", "PHONESTART_ADMIN_ADDR": "off",
	})
	w := h.startWorker(env)
	const retrying = "cannot reach GeeLark to check the credentials; retrying in "
	eventually(t, 20*time.Second, func() bool { return strings.Count(w.stderr.String(), retrying) >= 2 },
		func() string { return "no two retries in the log:\n" + w.stderr.String() })
	if p := h.record("5577000001"); p.State != fleet.StateQueued || p.Attempt != 0 {
		t.Fatalf("the worker took a phone before its start-up check passed: it is %s after %d attempts", p.State, p.Attempt)
	}

	fake := geelarktest.New(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	var srvLn net.Listener
	eventually(t, 10*time.Second, func() bool { srvLn, err = net.Listen("tcp", addr); return err == nil },
		func() string { return fmt.Sprintf("listen on %s: %v", addr, err) })
	srv := &http.Server{Handler: fake}
	go srv.Serve(srvLn)
	t.Cleanup(func() { srv.Close() })

	eventually(t, 30*time.Second, func() bool { return fake.Starts("5577000001") == 1 },
		func() string { return "the phone did not start once GeeLark answered; log:\n" + w.stderr.String() })
	if code := w.stop(); code != 0 {
		t.Fatalf("worker exited %d:\n%s", code, w.stderr)
	}
	log := w.stderr.String()
	for _, p := range logtest.Check(log) {
		t.Errorf("%v", p)
	}
	retries := 0
	for _, l := range logLines(t, log) {
		msg, _ := l["msg"].(string)
		if !strings.HasPrefix(msg, retrying) {
			continue
		}
		retries++
		if e, _ := l["error"].(string); !strings.Contains(e, "connection refused") || l["level"] != "warn" {
			t.Errorf("retry line %v: want a warning with the error (connection refused)", l)
		}
	}
	if retries < 2 || !strings.Contains(log, "GeeLark accepts the credentials") {
		t.Errorf("the log shows %d retries and then no pass:\n%s", retries, log)
	}
	assertNoSecret(t, log)
}

func TestWorkerInterruptedDuringTheCheckExitsZero(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	w := h.startWorker(h.with(map[string]string{
		"GEELARK_BASE_URL": "http://" + addr, "GEELARK_TOKEN": secretToken,
		"PHONESTART_LOG_FORMAT": "json", "PHONESTART_ADMIN_ADDR": "off",
	}))
	eventually(t, 20*time.Second, func() bool { return strings.Contains(w.stderr.String(), "retrying in") },
		func() string { return "no retry in the log:\n" + w.stderr.String() })
	if code := w.stop(); code != 0 {
		t.Fatalf("worker interrupted during its start-up check exited %d:\n%s", code, w.stderr)
	}
	if strings.Contains(w.stderr.String(), "worker started") {
		t.Errorf("the worker started taking phones without a passed check:\n%s", w.stderr)
	}
}

// A fleet pause left by a worker refused with its own credentials (40003)
// is lifted by the next worker whose check passes.
func TestAPassedCheckLiftsAPerWorkerPause(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	pauses := h.store().Pauses(nil)
	if _, _, err := pauses.Set(context.Background(), 40003, "signature verification failed", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	h.mustRun("", "enqueue", "5577000001")
	w := h.startWorker(h.workerEnv(fake))
	eventually(t, 30*time.Second, func() bool { return fake.Starts("5577000001") == 1 },
		func() string { return "the phone did not start; log:\n" + w.stderr.String() })
	if !strings.Contains(w.stderr.String(), "lifted the fleet pause for geelark 40003") {
		t.Errorf("the log does not say the pause was lifted:\n%s", w.stderr)
	}
	o := h.mustRun("", "status")
	if !strings.Contains(o.stdout, "pause lifted at ") || !strings.Contains(o.stdout, "by start-up check of ") {
		t.Errorf("status does not show the lift:\n%s", o.stdout)
	}
}

// A rate-limit pause in force at start-up is waited out: no call, not even
// the check, until it ends or is lifted.
func TestCheckWaitsOutARateLimitPause(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	pauses := h.store().Pauses(nil)
	if _, _, err := pauses.Set(context.Background(), 40014, "hourly limit exceeded", time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	h.mustRun("", "enqueue", "5577000001")
	w := h.startWorker(h.workerEnv(fake))
	eventually(t, 20*time.Second, func() bool { return strings.Contains(w.stderr.String(), "checking the credentials after it") },
		func() string { return "the worker does not say it waits for the pause:\n" + w.stderr.String() })
	if n := len(fake.Calls()); n != 0 {
		t.Fatalf("%d calls during a 40014 lockout", n)
	}
	if o := h.mustRun("", "pause", "lift"); !strings.Contains(o.stdout, "geelark 40014") {
		t.Fatalf("pause lift: %v", o)
	}
	eventually(t, 30*time.Second, func() bool { return fake.Starts("5577000001") == 1 },
		func() string { return "the phone did not start after the lift; log:\n" + w.stderr.String() })
}

// An HTTP 500 or a transient code is GeeLark's trouble, not the
// credentials': the check is retried and the worker starts.
func TestCheckRetriesServerErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.Fault500})
	fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 50000})
	h.mustRun("", "enqueue", "5577000001")
	w := h.startWorker(h.workerEnv(fake))
	eventually(t, 30*time.Second, func() bool { return fake.Starts("5577000001") == 1 },
		func() string { return "the phone did not start; log:\n" + w.stderr.String() })
	log := w.stderr.String()
	for _, want := range []string{"cannot reach GeeLark to check the credentials; retrying in ", "HTTP 500",
		"GeeLark answered the credentials check with 50000 (internal error), which is not the credentials' fault; retrying in "} {
		if !strings.Contains(log, want) {
			t.Errorf("the log has no %q:\n%s", want, log)
		}
	}
	h.assertNoFleetPause()
}

// answering is an HTTP server that answers every request with status,
// content type and body, and counts the requests.
func answering(t *testing.T, status int, ctype, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// A base URL that leads to another server than GeeLark's API is a
// configuration mistake: the worker exits 2 at once, naming
// GEELARK_BASE_URL and what came back, instead of retrying it forever as
// GeeLark being unreachable.
func TestWorkerWithABaseURLThatIsNotGeeLarkExitsTwo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		status       int
		ctype, body  string
		wantInStderr []string
	}{
		{"404", 404, "text/html", "<html><body>404 Not Found</body></html>",
			[]string{"HTTP 404", "text/html"}},
		{"an HTML page", 200, "text/html; charset=utf-8", "<!doctype html><html><title>Welcome to nginx!</title></html>",
			[]string{"HTTP 200", "text/html"}},
		{"JSON of another shape", 200, "application/json", `{"status":"UP","components":{"db":"UP"}}`,
			[]string{"HTTP 200", "application/json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			srv, requests := answering(t, tt.status, tt.ctype, tt.body)
			h.mustRun("", "enqueue", "5577000001")
			env := h.with(map[string]string{
				"GEELARK_BASE_URL": srv.URL, "GEELARK_APP_ID": "test-app", "GEELARK_API_KEY": secretKey,
				"PHONESTART_LOG_FORMAT": "json", "PHONESTART_ADMIN_ADDR": "off",
			})
			o := runWorkerFor(env, 10*time.Second)
			t.Logf("%s", o.stderr)
			if o.code != 2 {
				t.Fatalf("worker against a server that is not GeeLark (%s): want exit 2 within 10s, got %v", tt.name, o)
			}
			for _, want := range append([]string{"GEELARK_BASE_URL", srv.URL, "not GeeLark's API"}, tt.wantInStderr...) {
				if !strings.Contains(o.stderr, want) {
					t.Errorf("the error does not name %q:\n%s", want, o.stderr)
				}
			}
			if strings.Contains(o.stderr, "retrying in") {
				t.Errorf("the worker retried a wrong base URL:\n%s", o.stderr)
			}
			if n := requests.Load(); n != 1 {
				t.Errorf("the server saw %d requests, want the one of the check", n)
			}
			if p := h.record("5577000001"); p.State != fleet.StateQueued || p.Attempt != 0 {
				t.Errorf("the refused worker took the phone: it is %s after %d attempts, want queued", p.State, p.Attempt)
			}
			assertNoSecret(t, o.stdout+o.stderr)
			h.assertNoFleetPause()
		})
	}
}

// A host that does not resolve may resolve later (DNS trouble passes): the
// check is retried, and each warning names the host and the variable.
func TestWorkerRetriesAHostThatDoesNotResolve(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "5577000001")
	w := h.startWorker(h.with(map[string]string{
		"GEELARK_BASE_URL": "https://openapi.geelark.invalid", "GEELARK_TOKEN": secretToken,
		"PHONESTART_LOG_FORMAT": "json", "PHONESTART_ADMIN_ADDR": "off",
	}))
	const retrying = "cannot resolve openapi.geelark.invalid (GEELARK_BASE_URL); retrying in "
	eventually(t, 20*time.Second, func() bool { return strings.Count(w.stderr.String(), retrying) >= 2 },
		func() string { return "no two retries naming the host in the log:\n" + w.stderr.String() })
	if code := w.stop(); code != 0 {
		t.Fatalf("worker stopped while retrying exited %d:\n%s", code, w.stderr)
	}
	for _, l := range logLines(t, w.stderr.String()) {
		if msg, _ := l["msg"].(string); strings.HasPrefix(msg, retrying) && l["level"] != "warn" {
			t.Errorf("retry line %v is not a warning", l)
		}
	}
	if p := h.record("5577000001"); p.State != fleet.StateQueued || p.Attempt != 0 {
		t.Errorf("the phone is %s after %d attempts, want queued: the check never passed", p.State, p.Attempt)
	}
	assertNoSecret(t, w.stderr.String())
}

// TLS trouble with an https base URL is named as such: a plain-http server
// behind https, or a certificate the machine does not trust, exits 2.
func TestWorkerWithTLSTroubleExitsTwoNamingIt(t *testing.T) {
	t.Parallel()
	plain, _ := answering(t, 200, "application/json", `{"code":0,"data":{"total":0,"items":[]}}`)
	untrusted := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(untrusted.Close)
	tests := []struct {
		name, base string
		want       []string
	}{
		{"https to a plain-http server", strings.Replace(plain.URL, "http://", "https://", 1),
			[]string{"TLS", "GEELARK_BASE_URL", "answered in plain HTTP", "http://"}},
		{"untrusted certificate", untrusted.URL,
			[]string{"TLS", "GEELARK_BASE_URL", "certificate", "x509"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			o := runWorkerFor(h.with(map[string]string{
				"GEELARK_BASE_URL": tt.base, "GEELARK_TOKEN": secretToken,
				"PHONESTART_LOG_FORMAT": "json", "PHONESTART_ADMIN_ADDR": "off",
			}), 10*time.Second)
			t.Logf("%s", o.stderr)
			if o.code != 2 {
				t.Fatalf("%s: want exit 2 within 10s, got %v", tt.name, o)
			}
			for _, want := range tt.want {
				if !strings.Contains(o.stderr, want) {
					t.Errorf("the error does not say %q:\n%s", want, o.stderr)
				}
			}
			assertNoSecret(t, o.stdout+o.stderr)
		})
	}
}

// adminBase waits for the worker's "admin server listening" line and
// returns the admin server's base URL.
func adminBase(t *testing.T, w *backgroundWorker) string {
	t.Helper()
	var base string
	eventually(t, 10*time.Second, func() bool {
		for _, l := range logLines(t, w.stderr.String()) {
			if l["msg"] == "admin server listening" {
				base = strings.TrimSuffix(fmt.Sprint(l["metrics"]), "/metrics")
				return true
			}
		}
		return false
	}, func() string { return "no admin server in the worker log:\n" + w.stderr.String() })
	return base
}

// A worker still checking GeeLark at start-up takes no phone, and its
// /readyz says so; once the check passes it is ready.
func TestReadyzIsUnreadyUntilTheStartUpCheckPasses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	// Two failed checks: the first retry comes after 0.75s at least, the
	// second after 1.5s more.
	fake.FailNext(2, geelarktest.Fault{Kind: geelarktest.Fault500})
	env := h.workerEnv(fake)
	env["PHONESTART_ADMIN_ADDR"] = "127.0.0.1:0"
	w := h.startWorker(env)
	base := adminBase(t, w)
	readyz := func() (int, string) {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + "/readyz")
		if err != nil {
			t.Fatalf("GET /readyz: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if code, body := readyz(); code != 503 || !strings.Contains(body, "start-up check of GeeLark not yet passed") {
		t.Errorf("/readyz during the start-up check: %d %q, want 503 naming the check", code, body)
	}
	eventually(t, 20*time.Second, func() bool { code, _ := readyz(); return code == 200 },
		func() string { return "/readyz not ready after the check; log:\n" + w.stderr.String() })
	if !strings.Contains(w.stderr.String(), "GeeLark accepts the credentials") {
		t.Errorf("ready without the check passing:\n%s", w.stderr)
	}
}
