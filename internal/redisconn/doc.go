// Package redisconn opens the Redis that holds a phonestart fleet's state,
// from one REDIS_URL, and checks it before anything runs on it. Watch then
// logs each outage of it once, and its end.
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
// with a ClusterMode error when cluster_enabled is 1, and RefuseCluster
// refuses a Cluster (or Ring) client handed to enqueue.New, worker.New,
// schedule.NewRunner or the API server. Every key phonestart writes shares
// one hash tag ({NAMESPACE}), so its own scripts would run on one shard;
// but that puts the whole fleet on that one shard, so a Cluster would buy no
// capacity, and phonestart is not tested against one. Sentinel gives the
// availability a Cluster would.
//
// Errors name the setting (REDIS_URL unless Config.Name says otherwise) and
// never the password.
package redisconn
