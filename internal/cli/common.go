package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/queueadmin"
	"github.com/phonestart/phonestart/internal/redisconn"
)

// DefaultRedisURL is where phonestart looks for Redis unless told.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// redisFlags are the Redis settings commands share.
type redisFlags struct {
	url string
	// namespace names the deployment: the prefix of its keys and its
	// asynq queues.
	namespace string
	// minReplicas is how many replicas an enqueue's writes must reach
	// before it is acknowledged (Redis WAIT); 0: none.
	minReplicas int
	// eventsMax caps the events stream, about.
	eventsMax int
	// retention is how long ended records and requests are kept.
	retention time.Duration
}

// redisUse is which of the Redis settings a command reads, so that its help
// offers no setting it would ignore.
type redisUse int

const (
	// redisURL: the URL alone, for commands that read, or write no event.
	redisURL redisUse = iota
	// redisEvents: and the events cap, for commands that record events.
	redisEvents
	// redisRecords: and the retention, for commands that end phones or
	// requests (whose records are kept that long after).
	redisRecords
	// redisEnqueue: and the replica count, for commands that enqueue
	// starts (package enqueue's Start waits for replicas).
	redisEnqueue
)

func (r *redisFlags) register(s *settings, use redisUse) {
	s.String(&r.url, "redis-url", "REDIS_URL", DefaultRedisURL,
		"Redis: redis://[user:password@]host:port/db, rediss:// (TLS), unix:///path.sock, "+
			"or redis+sentinel://[:password@]host1:26379,host2:26379/MASTER[/db]")
	s.String(&r.namespace, "namespace", "PHONESTART_NAMESPACE", fleet.DefaultNamespace,
		"the deployment's namespace: its keys start with {NAMESPACE}: and its queues are NAMESPACE and NAMESPACE-stop, "+
			"so that several fleets can share one Redis")
	if use >= redisEnqueue {
		s.Int(&r.minReplicas, "redis-min-replicas", "PHONESTART_REDIS_MIN_REPLICAS", 0,
			"replicas an enqueue must reach before it is acknowledged (0: none)", nonNegative)
	}
	if use >= redisEvents {
		s.Int(&r.eventsMax, "events-max", "PHONESTART_EVENTS_MAX", fleet.DefaultEventsMax,
			"entries the events stream {NAMESPACE}:events keeps, about", positive)
	}
	if use >= redisRecords {
		s.Duration(&r.retention, "retention", "PHONESTART_RETENTION", fleet.DefaultRetention,
			"how long a phone's record, and a request with its outcomes, are kept after they ended", positive)
	}
}

// space is the deployment's namespace; a bad one is a configuration error.
func (r *redisFlags) space() (fleet.Space, error) {
	sp, err := fleet.NewSpace(r.namespace)
	if err != nil {
		return fleet.Space{}, bad("PHONESTART_NAMESPACE (--namespace): %v", err)
	}
	return sp, nil
}

// conn is an open deployment: its Redis, the phones' records, the producer
// API and the admin.
type conn struct {
	rdb   *redis.Client
	store *fleet.Store
	enq   *enqueue.Client
	adm   *queueadmin.Admin
}

// Close closes the Redis client.
func (c *conn) Close() error { return c.rdb.Close() }

// open opens Redis (see dial) and the deployment in it.
func (r *redisFlags) open(ctx context.Context) (*conn, error) {
	sp, err := r.space()
	if err != nil {
		return nil, err
	}
	rdb, err := r.dial(ctx)
	if err != nil {
		return nil, err
	}
	store, err := fleet.NewStore(rdb, fleet.StoreConfig{Space: sp, EventsMax: r.eventsMax, Retention: r.retention})
	if err != nil {
		rdb.Close()
		return nil, err
	}
	enq, err := enqueue.New(enqueue.Config{Redis: rdb, Namespace: sp.Name(), MinReplicas: r.minReplicas,
		EventsMax: r.eventsMax, Retention: r.retention})
	if err != nil {
		rdb.Close()
		return nil, err
	}
	return &conn{rdb: rdb, store: store, enq: enq, adm: queueadmin.New(enq, store)}, nil
}

// dial opens Redis and checks that it answers and is not a Redis Cluster
// node (see package redisconn). A bad URL, a server without TLS behind
// rediss:// or a Cluster is a configuration error (exit 2).
func (r *redisFlags) dial(ctx context.Context) (*redis.Client, error) {
	rdb, err := redisconn.Open(ctx, redisconn.Config{URL: r.url, Name: "REDIS_URL (--redis-url)"})
	var e *redisconn.Error
	if errors.As(err, &e) && e.Config() {
		return nil, bad("%v", err)
	}
	return rdb, err
}

// apiFlags are the GeeLark client settings.
type apiFlags struct {
	baseURL, appID, apiKey, token string
	callTimeout                   time.Duration
}

func (a *apiFlags) register(s *settings) {
	s.String(&a.baseURL, "geelark-base-url", "GEELARK_BASE_URL", geelark.DefaultBaseURL, "GeeLark API base URL")
	s.String(&a.appID, "geelark-app-id", "GEELARK_APP_ID", "", "app ID (key mode, with the API key)")
	s.String(&a.apiKey, "geelark-api-key", "GEELARK_API_KEY", "", "API key (key mode); prefer the environment variable")
	s.String(&a.token, "geelark-token", "GEELARK_TOKEN", "", "bearer token (token mode); prefer the environment variable")
	s.Duration(&a.callTimeout, "geelark-call-timeout", "GEELARK_CALL_TIMEOUT", geelark.DefaultCallTimeout,
		"bound on one API call, reply included", positive)
}

func (a *apiFlags) client() (*geelark.Client, error) {
	c, err := geelark.NewClient(geelark.Config{
		BaseURL: a.baseURL, AppID: a.appID, APIKey: a.apiKey, Token: a.token, CallTimeout: a.callTimeout,
	})
	if err != nil {
		// NewClient names the Config field; name the variable that sets it.
		var ce *geelark.ConfigError
		if errors.As(err, &ce) {
			switch ce.Field {
			case "BaseURL":
				return nil, bad("GEELARK_BASE_URL (--geelark-base-url): %v", err)
			case "CallTimeout":
				return nil, bad("GEELARK_CALL_TIMEOUT (--geelark-call-timeout): %v", err)
			}
		}
		return nil, bad("%v (GEELARK_APP_ID + GEELARK_API_KEY, or GEELARK_TOKEN)", err)
	}
	return c, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
