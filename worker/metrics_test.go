package worker_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/worker"
)

func TestMetricsRegisterOncePerRegistry(t *testing.T) {
	t.Parallel()
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

// The boot failures counter is exported at 0 for both reasons from the
// start: an alert on its rate sees 0, not nothing.
func TestBootFailuresStartAtZero(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	reg := prometheus.NewRegistry()
	cfg := e.fastConfig()
	cfg.Registerer = reg
	if _, err := worker.New(cfg); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range fams {
		if f.GetName() != "phonestart_boot_failures_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetCounter().GetValue() == 0 {
				got[m.GetLabel()[0].GetValue()] = true
			}
		}
	}
	if !got["boot_timeout"] || !got["boot_failed"] {
		t.Fatalf("phonestart_boot_failures_total at 0 for %v, want boot_timeout and boot_failed", got)
	}
}

// A Redis Cluster client is refused, with an error naming the field.
func TestNewRefusesARedisCluster(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer cc.Close()
	cfg := e.fastConfig()
	cfg.Redis = cc
	_, err := worker.New(cfg)
	var ce *worker.ConfigError
	if !errors.As(err, &ce) || ce.Field != "Redis" || !strings.Contains(err.Error(), "Cluster") {
		t.Fatalf("worker.New with a cluster client: %v, want a ConfigError of Redis refusing it", err)
	}
}
