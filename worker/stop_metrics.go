package worker

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// outcomeStopped is the outcome of a phone a stop call shut down.
const outcomeStopped = "stopped"

// stopMetrics are the stop side of a worker's Metrics, registered beside
// them:
//
//	phonestart_stop_calls_total{result}           stop calls made; result is "answered"
//	                                              (per phone), "refused-<code>" or "unknown"
//	phonestart_stops_total{outcome,code}          phones settled by stop tasks; outcome is
//	                                              "stopped", "retried", "dead" or "paused"
//
// They are safe for simultaneous use by multiple goroutines.
type stopMetrics struct {
	calls  *prometheus.CounterVec
	phones *prometheus.CounterVec
}

var _ prometheus.Collector = (*stopMetrics)(nil)

func newStopMetrics() *stopMetrics {
	const ns = "phonestart"
	return &stopMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "stop_calls_total",
			Help: `Stop calls made, by result: "answered" (per phone), "refused-<code>" or "unknown".`,
		}, []string{"result"}),
		phones: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "stops_total",
			Help: `Phones settled by stop tasks, by outcome (stopped, retried, dead, paused) and GeeLark code ("0": none).`,
		}, []string{"outcome", "code"}),
	}
}

// Describe implements prometheus.Collector.
func (m *stopMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.calls.Describe(ch)
	m.phones.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *stopMetrics) Collect(ch chan<- prometheus.Metric) {
	m.calls.Collect(ch)
	m.phones.Collect(ch)
}

// call records one stop call. A nil m records nothing.
func (m *stopMetrics) call(result string, _ int) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(result).Inc()
}

// countStop records a phone a stop task settled, in Stats and the metrics.
func (w *Worker) countStop(outcome string, code int) {
	if outcome == outcomeStopped {
		w.stats.add(func(s *Stats) { s.Stopped++ })
	}
	if w.stopStats != nil {
		w.stopStats.phones.WithLabelValues(outcome, strconv.Itoa(code)).Inc()
	}
}
