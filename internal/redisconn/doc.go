// Package redisconn opens the Redis that holds a phonestart fleet's state,
// from one REDIS_URL, and checks it before anything runs on it.
//
// A URL is one of:
//
//	redis://[[user]:password@]host:port[/db]     a single Redis
//	rediss://[[user]:password@]host:port[/db]    the same over TLS
//	unix://[[user]:password@]/path/redis.sock[?db=N]
//	redis+sentinel://[[user]:password@]host1:26379,host2:26379/MASTER[/db][?sentinel_password=P]
//
// A redis+sentinel URL names Sentinels and the master set they watch; the
// client asks them where the master is, and follows it across a failover:
// Sentinel announces the promoted replica, the client drops its connections
// to the old master and dials the new one. The password is the master's (and
// its replicas'); sentinel_password, when the Sentinels ask for one, is
// theirs.
//
// Redis Cluster is refused, not supported: Open reads INFO cluster and fails
// with a ClusterMode error when cluster_enabled is 1. phonestart's scripts
// each touch keys of several hash slots, which a Cluster refuses with
// CROSSSLOT: the enqueue script adds to asynq's all-queues set
// (asynq:queues) in the same call as it writes the queue's {phonestart}
// keys, and the budget and pause scripts use keys without a common hash tag.
// Making a Cluster work would mean one hash tag on every such key and
// writing asynq:queues outside the script; and it would put the whole fleet
// on one shard anyway, so a Cluster would buy no capacity. Sentinel gives the
// availability a Cluster would, without any of that.
//
// Errors name the setting (REDIS_URL unless Config.Name says otherwise) and
// never the password.
package redisconn
