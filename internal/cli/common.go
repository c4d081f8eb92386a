package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/redis/go-redis/v9"
)

// DefaultRedisURL is where phonestart looks for Redis unless told.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// redisFlags are the Redis settings every command shares.
type redisFlags struct{ url string }

func (r *redisFlags) register(s *settings) {
	s.String(&r.url, "redis-url", "REDIS_URL", DefaultRedisURL, "Redis: redis://[user:password@]host:port/db or rediss://")
}

func (r *redisFlags) client() (*redis.Client, error) {
	opt, err := redis.ParseURL(r.url)
	if err != nil {
		return nil, bad("REDIS_URL (--redis-url): %v", redactErr(err))
	}
	opt.PoolSize = max(opt.PoolSize, 64)
	return redis.NewClient(opt), nil
}

// dial opens Redis and checks that it answers.
func (r *redisFlags) dial(ctx context.Context) (*redis.Client, error) {
	rdb, err := r.client()
	if err != nil {
		return nil, err
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("cannot reach Redis at %s: %v", rdb.Options().Addr, err)
	}
	return rdb, nil
}

// redactErr describes a Redis URL error without the URL, which may hold a
// password: url.Parse quotes the whole URL in its errors.
func redactErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
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
		if strings.Contains(err.Error(), "BaseURL") {
			return nil, bad("GEELARK_BASE_URL (--geelark-base-url): %v", err)
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
