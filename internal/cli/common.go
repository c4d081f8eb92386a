package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redisconn"
)

// DefaultRedisURL is where phonestart looks for Redis unless told.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// redisFlags are the Redis settings every command shares.
type redisFlags struct {
	url string
	// minReplicas is how many replicas an enqueue's writes must reach
	// before it is acknowledged (Redis WAIT); 0: none.
	minReplicas int
	// eventsMax caps the events stream (fleet.EventsKey), about.
	eventsMax int
}

func (r *redisFlags) register(s *settings) {
	s.String(&r.url, "redis-url", "REDIS_URL", DefaultRedisURL,
		"Redis: redis://[user:password@]host:port/db, rediss:// (TLS), unix:///path.sock, "+
			"or redis+sentinel://[:password@]host1:26379,host2:26379/MASTER[/db]")
	s.Int(&r.minReplicas, "redis-min-replicas", "PHONESTART_REDIS_MIN_REPLICAS", 0,
		"replicas an enqueue must reach before it is acknowledged (0: none)", nonNegative)
	s.Int(&r.eventsMax, "events-max", "PHONESTART_EVENTS_MAX", fleet.DefaultEventsMax,
		"entries the events stream phonestart:events keeps, about", positive)
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
