package redisconn

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of Config.
const (
	DefaultName     = "REDIS_URL"
	DefaultPoolSize = 64
	DefaultTimeout  = 5 * time.Second
)

// tlsHandshakeTimeout bounds the TLS handshake Open tries before anything
// else on a rediss:// URL: a server without TLS reads the handshake as the
// start of a command and waits for the rest, silently.
const tlsHandshakeTimeout = 3 * time.Second

// Config says which Redis to open.
type Config struct {
	// URL is the Redis to open: see the package comment. Required.
	URL string
	// Name is the setting URL came from, for error messages. Default
	// DefaultName (REDIS_URL).
	Name string
	// PoolSize is the least number of connections the client keeps; a
	// URL's pool_size above it wins. Default DefaultPoolSize (64).
	PoolSize int
	// Timeout bounds Open's checks of the server: the TLS handshake (at
	// most 3s of it), PING and INFO. Default DefaultTimeout (5s).
	Timeout time.Duration
}

// Open parses cfg.URL, connects and checks the server: that it answers, and
// that it is not a Redis Cluster node. The client it returns follows the
// master across a failover when the URL names Sentinels. Its errors are an
// *Error unless ctx ended first. The client is safe for simultaneous use by
// multiple goroutines; the caller closes it.
func Open(ctx context.Context, cfg Config) (*redis.Client, error) {
	cfg.Name = cmp.Or(cfg.Name, DefaultName)
	cfg.PoolSize = cmp.Or(cfg.PoolSize, DefaultPoolSize)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	t, err := parse(cfg.Name, cfg.URL)
	if err != nil {
		return nil, err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	fail := func(kind Kind, err error, msg string) error {
		if parent.Err() != nil {
			return parent.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %v", cfg.Timeout)
		}
		return &Error{Kind: kind, Name: cfg.Name, Addr: t.addr(), Err: err, msg: msg}
	}
	// Each look returns a Kind, 0 when all is well. Look before go-redis does: it retries a refused dial for seconds,
	// and reads a missing TLS or an unknown master as a hang.
	switch {
	case t.failover != nil:
		if kind, err, msg := askSentinels(ctx, t.failover); kind != 0 {
			return nil, fail(kind, err, msg)
		}
	case t.opt.TLSConfig != nil:
		if kind, err, msg := probeTLS(ctx, t.opt.Addr, t.opt.TLSConfig); kind != 0 {
			return nil, fail(kind, err, msg)
		}
	default:
		var d net.Dialer
		conn, err := d.DialContext(ctx, t.opt.Network, t.opt.Addr)
		if err != nil {
			return nil, fail(Unreachable, err, "")
		}
		conn.Close()
	}
	var rdb *redis.Client
	if t.failover != nil {
		t.failover.PoolSize = max(t.failover.PoolSize, cfg.PoolSize)
		rdb = redis.NewFailoverClient(t.failover)
	} else {
		t.opt.PoolSize = max(t.opt.PoolSize, cfg.PoolSize)
		rdb = redis.NewClient(t.opt)
	}
	if kind, err, msg := check(ctx, rdb, t.addr()); kind != 0 {
		rdb.Close()
		return nil, fail(kind, err, msg)
	}
	return rdb, nil
}

// probeTLS tries a TLS handshake with addr, so that a server without TLS
// is named as such within seconds rather than after go-redis's retries.
func probeTLS(ctx context.Context, addr string, cfg *tls.Config) (Kind, error, string) {
	ctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Unreachable, err, ""
	}
	defer conn.Close()
	err = tls.Client(conn, cfg.Clone()).HandshakeContext(ctx)
	if err == nil {
		return 0, nil, ""
	}
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &rh):
		return TLS, err, fmt.Sprintf("rediss:// asks for TLS, but the server at %s did not speak TLS: it answered in plain text. "+
			"Use redis:// for a server without TLS", addr)
	case ctx.Err() != nil:
		return TLS, err, fmt.Sprintf("rediss:// asks for TLS, but the server at %s did not complete a TLS handshake within %v: "+
			"it most likely does not speak TLS (then use redis://)", addr, tlsHandshakeTimeout)
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		return TLS, err, fmt.Sprintf("rediss:// asks for TLS, but the server at %s hung up on the TLS handshake: "+
			"it most likely does not speak TLS (then use redis://)", addr)
	}
	return TLS, err, fmt.Sprintf("rediss:// asks for TLS, but the TLS handshake with %s failed: %v", addr, err)
}

// check pings the server and refuses a Redis Cluster node.
func check(ctx context.Context, rdb *redis.Client, addr string) (Kind, error, string) {
	if err := rdb.Ping(ctx).Err(); err != nil {
		var re redis.Error
		if errors.As(err, &re) && !transient(re) {
			return Rejected, err, ""
		}
		return Unreachable, err, ""
	}
	cluster, err := clusterMode(ctx, rdb)
	if err != nil {
		return Unreachable, err, ""
	}
	if cluster {
		return ClusterMode, nil, fmt.Sprintf("Redis at %s runs in cluster mode (cluster_enabled:1), which phonestart does not support: "+
			"it needs a single Redis, or a master/replica set managed by Sentinel (redis+sentinel://), "+
			"because its scripts use keys of several hash slots, which Redis Cluster refuses (CROSSSLOT)", addr)
	}
	return 0, nil, ""
}

// clusterMode reports whether the server is a Redis Cluster node. It reads
// INFO cluster; a server that does not answer that section (a Redis
// look-alike) is asked to run a script over keys of two hash slots, which a
// Cluster refuses.
func clusterMode(ctx context.Context, rdb *redis.Client) (bool, error) {
	info, err := rdb.Info(ctx, "cluster").Result()
	var re redis.Error
	switch {
	case err == nil:
		sc := bufio.NewScanner(strings.NewReader(info))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "cluster_enabled:"); ok {
				return v == "1", nil
			}
		}
		return false, nil
	case !errors.As(err, &re):
		return false, err
	}
	err = rdb.Eval(ctx, "return 1", []string{"phonestart:slot-probe:{a}", "phonestart:slot-probe:{b}"}).Err()
	if errors.As(err, &re) {
		code, _, _ := strings.Cut(re.Error(), " ")
		switch code {
		case "CROSSSLOT", "CLUSTERDOWN", "MOVED", "ASK", "TRYAGAIN":
			return true, nil
		}
		return false, nil
	}
	return false, err
}

// transient reports whether a server's error reply says to come back later:
// loading its data, busy with a script, or a replica without its master.
func transient(re redis.Error) bool {
	code, _, _ := strings.Cut(re.Error(), " ")
	switch code {
	case "LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN":
		return true
	}
	return false
}

// askSentinels asks each Sentinel in turn where the master is, until one
// says. It tells "no Sentinel answers" (Unreachable) from "no Sentinel
// knows that master" (BadURL).
func askSentinels(ctx context.Context, fo *redis.FailoverOptions) (Kind, error, string) {
	var lastErr error
	unknown := 0
	for _, addr := range fo.SentinelAddrs {
		sc := redis.NewSentinelClient(&redis.Options{
			Addr: addr, Username: fo.SentinelUsername, Password: fo.SentinelPassword,
			TLSConfig: fo.TLSConfig, MaxRetries: -1, DialerRetries: 1,
		})
		_, err := sc.GetMasterAddrByName(ctx, fo.MasterName).Result()
		sc.Close()
		var re redis.Error
		switch {
		case err == nil:
			return 0, nil, ""
		case errors.Is(err, redis.Nil):
			unknown++
		case errors.As(err, &re) && strings.HasPrefix(re.Error(), "ERR unknown command"):
			return BadURL, err, fmt.Sprintf("%s is not a Sentinel: it does not know the SENTINEL command. A redis+sentinel URL names "+
				"Sentinels (port %s by default), not Redis itself; for a single Redis write redis://", addr, DefaultSentinelPort)
		case errors.As(err, &re):
			return Rejected, fmt.Errorf("Sentinel %s: %w", addr, err), ""
		case ctx.Err() != nil:
			return Unreachable, err, ""
		default:
			lastErr = fmt.Errorf("Sentinel %s: %w", addr, err)
		}
	}
	if unknown > 0 {
		return BadURL, nil, fmt.Sprintf("no Sentinel of %s knows a master named %q: the name after the addresses must be the one in sentinel monitor",
			strings.Join(fo.SentinelAddrs, ","), fo.MasterName)
	}
	return Unreachable, fmt.Errorf("no Sentinel answers; last: %w", lastErr), ""
}
