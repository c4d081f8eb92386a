package worker_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/worker"
)

func TestMetricsRegisterOncePerRegistry(t *testing.T) {
	e := newEnv(t, geelarktest.Config{})
	reg := prometheus.NewRegistry()
	cfg := e.fastConfig()
	cfg.Registerer = reg
	if _, err := worker.New(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := worker.New(cfg); err == nil || !strings.Contains(err.Error(), "Registerer") {
		t.Fatalf("a second worker on the same registry: %v, want an error naming Registerer", err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range fams {
		names[f.GetName()] = true
	}
	// Counters and histograms without samples yet are not gathered; the
	// pause gauges always are.
	for _, n := range []string{"phonestart_api_call_ids", "phonestart_api_call_duration_seconds",
		"phonestart_budget_wait_seconds", "phonestart_paused", "phonestart_pause_code", "phonestart_pause_until_seconds"} {
		if !names[n] {
			t.Errorf("%s not gathered; have %v", n, names)
		}
	}
}
