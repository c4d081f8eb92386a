package redisconn

import (
	"errors"

	"github.com/redis/go-redis/v9"
)

// ErrCluster is the error of a Redis Cluster (or Ring) client handed to a
// phonestart constructor: see the package comment for why a Cluster is
// refused.
var ErrCluster = errors.New("a Redis Cluster client is not supported: give a client of a single Redis, " +
	"or of a master/replica set managed by Sentinel (redis.NewFailoverClient)")

// RefuseCluster returns ErrCluster for a client that spreads keys over
// several servers (*redis.ClusterClient, *redis.Ring), and nil otherwise.
// The server behind a plain client is checked by Open.
func RefuseCluster(rdb redis.UniversalClient) error {
	switch rdb.(type) {
	case *redis.ClusterClient, *redis.Ring:
		return ErrCluster
	}
	return nil
}
