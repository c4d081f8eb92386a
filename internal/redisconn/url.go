package redisconn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// SentinelScheme is the scheme of a URL naming Sentinels and a master set.
const SentinelScheme = "redis+sentinel"

// DefaultSentinelPort is the port of a Sentinel named without one.
const DefaultSentinelPort = "26379"

const schemes = "redis://, rediss://, unix:// or redis+sentinel://"

// target is a parsed URL: exactly one of opt and failover is set.
type target struct {
	opt      *redis.Options
	failover *redis.FailoverOptions
}

// addr describes the server without credentials.
func (t target) addr() string {
	if t.failover != nil {
		return fmt.Sprintf("master %q via Sentinel %s", t.failover.MasterName, strings.Join(t.failover.SentinelAddrs, ","))
	}
	if t.opt.Network == "unix" {
		return "unix:" + t.opt.Addr
	}
	return t.opt.Addr
}

// parse reads raw, the value of the setting name. Its errors never quote
// raw, which may hold a password.
func parse(name, raw string) (target, error) {
	bad := func(format string, args ...any) error {
		return &Error{Kind: BadURL, Name: name, msg: fmt.Sprintf(format, args...)}
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return target{}, bad("empty: write redis://host:port/db (or %s)", schemes)
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return target{}, bad("no scheme: write %s (or rediss://, unix://, redis+sentinel://)", suggest(raw))
	}
	switch strings.ToLower(scheme) {
	case "redis", "rediss", "unix":
		opt, err := redis.ParseURL(raw)
		if err != nil {
			return target{}, bad("%s", redact(err))
		}
		return target{opt: opt}, nil
	case SentinelScheme:
		fo, err := parseSentinel(rest)
		if err != nil {
			return target{}, bad("%v", err)
		}
		return target{failover: fo}, nil
	}
	return target{}, bad("scheme %q is not one of %s", scheme, schemes)
}

// parseSentinel reads what follows redis+sentinel://:
// [[user]:password@]host1[:port],host2[:port]/MASTER[/db][?sentinel_password=P].
func parseSentinel(rest string) (*redis.FailoverOptions, error) {
	const form = "want redis+sentinel://[:password@]host1:26379,host2:26379/MASTER[/db]"
	rest, query, _ := strings.Cut(rest, "?")
	fo := &redis.FailoverOptions{}
	authority, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		user, pass, _ := strings.Cut(authority[:i], ":")
		var err1, err2 error
		fo.Username, err1 = url.PathUnescape(user)
		fo.Password, err2 = url.PathUnescape(pass)
		if err1 != nil || err2 != nil {
			return nil, errors.New("the user or password has a malformed %-escape")
		}
		authority = authority[i+1:]
	}
	if authority == "" {
		return nil, fmt.Errorf("no Sentinel address: %s", form)
	}
	for _, hp := range strings.Split(authority, ",") {
		if !strings.Contains(hp, ":") || strings.HasSuffix(hp, "]") {
			hp = net.JoinHostPort(strings.Trim(hp, "[]"), DefaultSentinelPort)
		}
		host, port, err := net.SplitHostPort(hp)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("Sentinel address %q is not host:port: %s", hp, form)
		}
		fo.SentinelAddrs = append(fo.SentinelAddrs, hp)
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if parts[0] == "" {
		return nil, fmt.Errorf("no master name after the Sentinel addresses: %s", form)
	}
	if len(parts) > 2 {
		return nil, fmt.Errorf("path /%s has more than a master name and a database number: %s", path, form)
	}
	fo.MasterName = parts[0]
	if len(parts) == 2 {
		db, err := strconv.Atoi(parts[1])
		if err != nil || db < 0 {
			return nil, fmt.Errorf("database %q after the master name is not a number 0 or more", parts[1])
		}
		fo.DB = db
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, errors.New("the query after ? is malformed")
	}
	for k, v := range q {
		switch k {
		case "sentinel_password":
			fo.SentinelPassword = v[len(v)-1]
		case "sentinel_username":
			fo.SentinelUsername = v[len(v)-1]
		default:
			return nil, fmt.Errorf("unknown parameter %q: a redis+sentinel URL takes sentinel_username and sentinel_password", k)
		}
	}
	return fo, nil
}

// suggest turns a value without a scheme into the redis:// URL it likely
// meant, without its password: host:port becomes redis://host:port/0.
func suggest(raw string) string {
	cred := ""
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		raw, cred = raw[i+1:], "[user:]password@"
	}
	hostport, db, _ := strings.Cut(raw, "/")
	if _, err := strconv.Atoi(db); err != nil {
		db = "0"
	}
	if h, p, err := net.SplitHostPort(hostport); err == nil && h != "" && p != "" {
		return "redis://" + cred + hostport + "/" + db
	}
	return "redis://" + cred + "host:port/db"
}

// redact describes a URL error without the URL: url.Parse quotes the whole
// URL in its errors, password and all.
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// tlsConfig is the TLS configuration of t, nil without TLS.
func (t target) tlsConfig() *tls.Config {
	if t.opt != nil {
		return t.opt.TLSConfig
	}
	return t.failover.TLSConfig
}

// Describe says where rawURL points, without credentials, for a log line:
// host:port, unix:/path, or the master and its Sentinels. It is empty when
// rawURL does not parse. (A Sentinel client's Options().Addr is only the
// placeholder "FailoverClient".)
func Describe(rawURL string) string {
	t, err := parse(DefaultName, rawURL)
	if err != nil {
		return ""
	}
	return t.addr()
}
