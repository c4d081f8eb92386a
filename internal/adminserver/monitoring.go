package adminserver

import (
	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"
)

// newMonitoring returns the asynqmon UI rooted at MonitoringPath, read-only:
// its buttons (run, requeue, archive, delete) would move tasks behind the
// phones' records, which decide a phone's fate; `phonestart dead requeue`,
// `cancel` and `stop` are the ways to change one. It shows payloads as
// stored: phonestart's JSON (package tasks) of a phone ID, its record's
// generation and start options; tasks hold no credential.
func newMonitoring(rdb *redis.Client) *asynqmon.HTTPHandler {
	return asynqmon.New(asynqmon.Options{
		RootPath:     MonitoringPath,
		RedisConnOpt: sameRedis{rdb.Options()},
		ReadOnly:     true,
	})
}

// sameRedis makes clients with the options of an existing one: asynqmon
// closes the clients it makes, and must not close the worker's.
type sameRedis struct{ opt *redis.Options }

// MakeRedisClient implements asynq.RedisConnOpt.
func (s sameRedis) MakeRedisClient() any {
	o := *s.opt
	// A client's push processor is its own: sharing the worker's would
	// register its handlers twice (and log that it cannot).
	o.PushNotificationProcessor = nil
	return redis.NewClient(&o)
}
