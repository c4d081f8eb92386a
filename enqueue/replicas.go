package enqueue

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// ReplicaError is Start's error when the request's writes did not reach
// Config.MinReplicas replicas within Config.ReplicaTimeout. The tasks are
// on the master, counted in the Report, and workers will process them;
// they may reach the replicas later, but a failover before then can lose
// them.
type ReplicaError struct {
	// Acknowledged is how many replicas had the writes when the wait ended.
	Acknowledged int
	// Wanted is Config.MinReplicas.
	Wanted int
	// Timeout is Config.ReplicaTimeout.
	Timeout time.Duration
}

func (e *ReplicaError) Error() string {
	return fmt.Sprintf("enqueue: only %d of the %d replicas wanted acknowledged the writes within %v",
		e.Acknowledged, e.Wanted, e.Timeout)
}

// awaitReplicas returns once every write this process made before the
// call has reached c.minReplicas replicas, or a *ReplicaError after
// c.replicaTimeout.
//
// Redis's WAIT only counts the writes of the connection it is sent on,
// and the request's writes went over many pooled connections. But the
// master streams its writes to a replica in the order it made them, so a
// replica that acknowledged a write made after all of them has them all:
// one small write on a connection of its own, then WAIT on that
// connection.
func (c *Client) awaitReplicas(ctx context.Context) error {
	conn := c.conns.Conn()
	defer conn.Close()
	mark := strconv.FormatInt(time.Now().UnixNano(), 10)
	// The small write is phonestart's own key, in the namespace, and
	// expires.
	if err := conn.Set(ctx, c.store.Space().Key("enqueue", "replica-mark"), mark, time.Minute).Err(); err != nil {
		return fmt.Errorf("enqueue: wait for %d replicas: %w", c.minReplicas, err)
	}
	n, err := conn.Wait(ctx, c.minReplicas, c.replicaTimeout).Result()
	if err != nil {
		return fmt.Errorf("enqueue: wait for %d replicas: %w", c.minReplicas, err)
	}
	if int(n) < c.minReplicas {
		return &ReplicaError{Acknowledged: int(n), Wanted: c.minReplicas, Timeout: c.replicaTimeout}
	}
	return nil
}
