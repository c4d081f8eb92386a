package adminserver_test

import (
	"github.com/phonestart/phonestart/internal/adminserver/admintest"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark/geelarktest"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// A scripted run: some phones do not exist (42001, dead at once), some are
// out of resources once (47002, retried), the rest start. What /metrics
// says afterwards must match what the fake API saw.
func TestMetricsMatchWhatTheAPISaw(t *testing.T) {
	e := admintest.New(t)
	ids := admintest.PhoneIDs("metric", 40)
	missing, scarce := ids[:6], ids[6:15]
	for _, id := range missing {
		e.Fake.Script(id, geelarktest.Script{Code: 42001})
	}
	for _, id := range scarce {
		e.Fake.Script(id, geelarktest.Script{Code: 47002, Times: 1})
	}
	// The first call gets an HTTP 500: its outcome is unknown, and its
	// phones are retried.
	e.Fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.Fault500})
	req := e.Enqueue(ids)
	e.StartWorker(nil)
	out := e.WaitEnded(req, 30*time.Second)
	if len(out.Ready) != len(ids)-len(missing) || len(out.Dead) != len(missing) {
		t.Fatalf("request ended with %d ready and %d dead, want %d and %d", len(out.Ready), len(out.Dead),
			len(ids)-len(missing), len(missing))
	}

	code, body := e.Get("/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	if strings.Contains(body, geelarktest.DefaultAPIKey) {
		t.Fatal("/metrics shows the API key")
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}

	// What the fake saw.
	calls := e.Fake.Calls()
	var sentIDs, answered, unknown int
	startedIDs := map[string]bool{}
	failed := map[int]map[string]bool{} // code -> phones answered with it
	for _, c := range calls {
		sentIDs += len(c.IDs)
		switch {
		case c.Fault == geelarktest.Fault500:
			unknown++
		case c.Code == 0:
			answered++
		}
		for _, id := range c.Started {
			startedIDs[id] = true
		}
		for id, code := range c.Failed {
			if failed[code] == nil {
				failed[code] = map[string]bool{}
			}
			failed[code][id] = true
		}
	}
	t.Logf("fake: %d calls (%d answered, %d server errors), %d IDs sent, %d phones started, failures by code %v",
		len(calls), answered, unknown, sentIDs, len(startedIDs), map[int]int{42001: len(failed[42001]), 47002: len(failed[47002])})
	if len(startedIDs) != len(ids)-len(missing) || len(failed[42001]) != len(missing) || len(failed[47002]) != len(scarce) {
		t.Fatalf("the scripted run went differently than planned")
	}

	checks := []struct {
		what string
		got  float64
		want int
	}{
		{"api calls", sum(fams, "phonestart_api_calls_total", nil), len(calls)},
		{"api calls answered", sum(fams, "phonestart_api_calls_total", map[string]string{"result": "started"}), answered},
		{"api calls with unknown outcome", sum(fams, "phonestart_api_calls_total", map[string]string{"result": "unknown"}), unknown},
		{"IDs sent (histogram sum)", histSum(fams, "phonestart_api_call_ids"), sentIDs},
		{"calls timed (histogram count)", float64(histCount(fams, "phonestart_api_call_duration_seconds")), len(calls)},
		{"phones started", sum(fams, "phonestart_phones_total", map[string]string{"outcome": "started"}), len(startedIDs)},
		{"phones dead, 42001", sum(fams, "phonestart_phones_total", map[string]string{"outcome": "dead", "code": "42001"}), len(failed[42001])},
		{"phones dead", sum(fams, "phonestart_phones_total", map[string]string{"outcome": "dead"}), len(failed[42001])},
		{"phones retried, 47002", sum(fams, "phonestart_phones_total", map[string]string{"outcome": "retried", "code": "47002"}), len(failed[47002])},
		{"phones retried, outcome unknown", sum(fams, "phonestart_phones_total", map[string]string{"outcome": "retried", "code": "0"}), len(calls[0].IDs)},
		// Each phone's outcome is in its record: asynq keeps no task
		// once it is done, started or dead.
		{"asynq: tasks left in the queue", sum(fams, "asynq_queue_size", map[string]string{"queue": "phonestart"}), 0},
		{"not paused", sum(fams, "phonestart_paused", nil), 0},
	}
	for _, c := range checks {
		if c.got != float64(c.want) {
			t.Errorf("%s: /metrics says %v, the fake saw %d", c.what, c.got, c.want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grep(body, "phonestart_", "asynq_"))
	}
}

// sum adds the values of the samples of family name whose labels include
// match.
func sum(fams map[string]*dto.MetricFamily, name string, match map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	total := 0.0
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range match {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Untyped != nil:
			total += m.Untyped.GetValue()
		}
	}
	return total
}

func histSum(fams map[string]*dto.MetricFamily, name string) float64 {
	if f := fams[name]; f != nil && len(f.Metric) == 1 {
		return f.Metric[0].Histogram.GetSampleSum()
	}
	return -1
}

func histCount(fams map[string]*dto.MetricFamily, name string) uint64 {
	if f := fams[name]; f != nil && len(f.Metric) == 1 {
		return f.Metric[0].Histogram.GetSampleCount()
	}
	return 0
}

// grep returns the lines of s that start with one of the prefixes.
func grep(s string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
