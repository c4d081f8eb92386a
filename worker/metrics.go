package worker

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/phonestart/phonestart/internal/fleet"
)

// Metrics are a worker's Prometheus metrics. A Worker whose Config has a
// Registerer registers its Metrics there; they count what that worker did
// since it started, so a fleet's totals are the sum over its workers.
//
//	phonestart_api_calls_total{result}            calls made; result is "started" (GeeLark
//	                                              answered per phone), "refused-<code>" (the
//	                                              whole call refused with that code) or
//	                                              "unknown" (timeout, dropped connection,
//	                                              HTTP error, unreadable reply)
//	phonestart_phones_total{outcome,code}         phones settled; outcome is "started",
//	                                              "retried", "dead" or "paused" (sent back to
//	                                              wait out a pause, or handed back at
//	                                              shutdown); code is GeeLark's code, "0" when
//	                                              there is none (started, outcome unknown)
//	phonestart_api_call_ids                       histogram of phone IDs per call
//	phonestart_api_call_duration_seconds          histogram of call latency
//	phonestart_budget_wait_seconds                histogram of the time each call waited for
//	                                              a token of the fleet's API budget
//	phonestart_boot_seconds{by}                   histogram of the time from a phone's start
//	                                              call to its confirmation; by is "status"
//	                                              or "callback"
//	phonestart_boot_failures_total{reason}        boots that failed: boot_timeout or
//	                                              boot_failed
//	phonestart_status_call_ids                    histogram of phone IDs per status call
//	                                              checking booting phones (its count is the
//	                                              calls)
//	phonestart_boot_first_check_seconds           how long after its start a booting phone is
//	                                              first checked, as the fleet learned it
//	                                              (as of this worker's last status call)
//	phonestart_paused                             1 while calls are paused fleet-wide, else 0
//	phonestart_pause_code                         the pause's GeeLark code, 0 when not paused
//	phonestart_pause_until_seconds                when the pause ends (Unix time), 0 when not
//	                                              paused
//
// The pause gauges show the pause as this worker last read it from Redis: at
// most a second old while it has phones to start. Labels never carry phone
// IDs, credentials or messages.
//
// Metrics are safe for simultaneous use by multiple goroutines.
type Metrics struct {
	calls      *prometheus.CounterVec
	phones     *prometheus.CounterVec
	callIDs    prometheus.Histogram
	latency    prometheus.Histogram
	budgetWait prometheus.Histogram
	bootTime   *prometheus.HistogramVec
	bootFails  *prometheus.CounterVec
	statusIDs  prometheus.Histogram
	firstAge   prometheus.Gauge

	pause                       func() (fleet.Pause, bool)
	paused, pauseCode, pauseEnd *prometheus.Desc
}

var _ prometheus.Collector = (*Metrics)(nil)

// Phone outcomes, the values of phonestart_phones_total's outcome label.
const (
	outcomeStarted = "started"
	outcomeRetried = "retried"
	outcomeDead    = "dead"
	outcomePaused  = "paused"
)

func newMetrics(pause func() (fleet.Pause, bool)) *Metrics {
	const ns = "phonestart"
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "api_calls_total",
			Help: `Start calls made, by result: "started" (answered per phone), "refused-<code>" or "unknown".`,
		}, []string{"result"}),
		phones: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "phones_total",
			Help: `Phones settled, by outcome (started, retried, dead, paused) and GeeLark code ("0": none).`,
		}, []string{"outcome", "code"}),
		callIDs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "api_call_ids",
			Help:    "Phone IDs per start call.",
			Buckets: []float64{1, 10, 25, 50, 100, 150, 199, 200},
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "api_call_duration_seconds",
			Help:    "Latency of start calls, reply included.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30},
		}),
		budgetWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "budget_wait_seconds",
			Help:    "Time each start call waited for a token of the fleet's API budget.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		bootTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "boot_seconds",
			Help:    "Time from a phone's start call to its confirmation as usable, by what confirmed it (status, callback).",
			Buckets: []float64{5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600},
		}, []string{"by"}),
		bootFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "boot_failures_total",
			Help: "Boots that failed, by reason (boot_timeout, boot_failed).",
		}, []string{"reason"}),
		statusIDs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "status_call_ids",
			Help:    "Phone IDs per status call checking booting phones.",
			Buckets: []float64{1, 10, 25, 50, 75, 90, 99, 100},
		}),
		firstAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "boot_first_check_seconds",
			Help: "How long after its start a booting phone is first checked, as the fleet learned it (at this worker's last status call).",
		}),
		pause:     pause,
		paused:    prometheus.NewDesc(ns+"_paused", "1 while start calls are paused fleet-wide, else 0.", nil, nil),
		pauseCode: prometheus.NewDesc(ns+"_pause_code", "GeeLark code of the fleet-wide pause, 0 when not paused.", nil, nil),
		pauseEnd:  prometheus.NewDesc(ns+"_pause_until_seconds", "When the fleet-wide pause ends, Unix time; 0 when not paused.", nil, nil),
	}
	// Exported at 0 from the start, so that an alert on their rate sees 0,
	// not nothing.
	for _, r := range []string{fleet.ReasonBootTimeout, fleet.ReasonBootFailed} {
		m.bootFails.WithLabelValues(r)
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.calls.Describe(ch)
	m.phones.Describe(ch)
	m.callIDs.Describe(ch)
	m.latency.Describe(ch)
	m.budgetWait.Describe(ch)
	m.bootTime.Describe(ch)
	m.bootFails.Describe(ch)
	m.statusIDs.Describe(ch)
	m.firstAge.Describe(ch)
	ch <- m.paused
	ch <- m.pauseCode
	ch <- m.pauseEnd
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.calls.Collect(ch)
	m.phones.Collect(ch)
	m.callIDs.Collect(ch)
	m.latency.Collect(ch)
	m.budgetWait.Collect(ch)
	m.bootTime.Collect(ch)
	m.bootFails.Collect(ch)
	m.statusIDs.Collect(ch)
	m.firstAge.Collect(ch)
	var on, code, until float64
	if p, ok := m.pause(); ok {
		on, code, until = 1, float64(p.Code), float64(p.Until.UnixMilli())/1000
	}
	ch <- prometheus.MustNewConstMetric(m.paused, prometheus.GaugeValue, on)
	ch <- prometheus.MustNewConstMetric(m.pauseCode, prometheus.GaugeValue, code)
	ch <- prometheus.MustNewConstMetric(m.pauseEnd, prometheus.GaugeValue, until)
}

// call records one start call. A nil m records nothing.
func (m *Metrics) call(result string, ids int, latency time.Duration) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(result).Inc()
	m.callIDs.Observe(float64(ids))
	m.latency.Observe(latency.Seconds())
}

// phone records one settled phone. A nil m records nothing.
func (m *Metrics) phone(outcome string, code int) {
	if m == nil {
		return
	}
	m.phones.WithLabelValues(outcome, strconv.Itoa(code)).Inc()
}

// booted records a confirmed boot. A nil m records nothing.
func (m *Metrics) booted(d time.Duration, by string) {
	if m == nil {
		return
	}
	m.bootTime.WithLabelValues(by).Observe(d.Seconds())
}

// bootFailed records a failed boot. A nil m records nothing.
func (m *Metrics) bootFailed(reason string) {
	if m == nil {
		return
	}
	m.bootFails.WithLabelValues(reason).Inc()
}

// statusCall records a status call of n IDs. A nil m records nothing.
func (m *Metrics) statusCall(n int) {
	if m == nil {
		return
	}
	m.statusIDs.Observe(float64(n))
}

// firstCheck records the fleet's first check. A nil m records nothing.
func (m *Metrics) firstCheck(d time.Duration) {
	if m == nil {
		return
	}
	m.firstAge.Set(d.Seconds())
}

// waited records a call's wait for the API budget. A nil m records nothing.
func (m *Metrics) waited(d time.Duration) {
	if m == nil {
		return
	}
	m.budgetWait.Observe(d.Seconds())
}

// countCall records a call of n IDs in Stats and the metrics: refused is the
// call-level code it was refused with (0: it was answered per phone), and
// unknown says its outcome is unknown.
func (w *Worker) countCall(n int, latency time.Duration, refused int, unknown bool) {
	result := "started"
	switch {
	case unknown:
		result = "unknown"
	case refused != 0:
		result = "refused-" + strconv.Itoa(refused)
	}
	w.stats.add(func(s *Stats) {
		s.Calls++
		s.CallIDs += n
		switch {
		case unknown:
			s.Unknown++
		case refused != 0:
			s.CallCodes[refused]++
		}
	})
	w.metrics.call(result, n, latency)
}

// countPhone records a settled phone in Stats and the metrics.
func (w *Worker) countPhone(outcome string, code int) {
	w.stats.add(func(s *Stats) {
		switch outcome {
		case outcomeStarted:
			s.Started++
		case outcomeRetried:
			s.Retried++
		case outcomeDead:
			s.Dead[code]++
		case outcomePaused:
			s.Paused++
		}
	})
	w.metrics.phone(outcome, code)
}
