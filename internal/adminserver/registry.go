package adminserver

import (
	"github.com/hibiken/asynq"
	"github.com/hibiken/asynq/x/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
)

// NewRegistry returns a registry holding the Go runtime and process metrics
// and asynq's queue metrics (asynq_tasks_enqueued_total by queue and state,
// asynq_queue_size, asynq_queue_latency_seconds, asynq_tasks_processed_total,
// asynq_tasks_failed_total, ...), read from rdb at each scrape. Those are the
// same for every worker of a fleet. A worker adds its own metrics by
// registering them here (worker.Config.Registerer).
func NewRegistry(rdb redis.UniversalClient) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		metrics.NewQueueMetricsCollector(asynq.NewInspectorFromRedisClient(rdb)),
	)
	return reg
}
