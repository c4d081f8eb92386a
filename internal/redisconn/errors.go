package redisconn

import "fmt"

// Kind says what kept Open from handing back a client.
type Kind int

const (
	// BadURL: the URL is malformed or of an unsupported scheme.
	BadURL Kind = iota + 1
	// Unreachable: no answer from the server (or no Sentinel knew the
	// master). The only kind that trying again later may cure.
	Unreachable
	// TLS: a rediss:// server did not complete a TLS handshake, most often
	// because it does not speak TLS at all.
	TLS
	// Rejected: the server answered with an error, e.g. a wrong password or
	// a database number it does not have.
	Rejected
	// ClusterMode: the server is a Redis Cluster node, which phonestart
	// refuses (see the package comment).
	ClusterMode
)

// Error is why Open failed. Its message names the setting and the server,
// never a password.
type Error struct {
	Kind Kind
	// Name is the setting the URL came from, e.g. REDIS_URL.
	Name string
	// Addr is the server, without credentials: host:port, a socket path,
	// or the master and its Sentinels. Empty for BadURL.
	Addr string
	// Err is the underlying error, if any.
	Err error
	msg string
}

func (e *Error) Error() string {
	switch e.Kind {
	case Unreachable:
		return fmt.Sprintf("cannot reach Redis at %s: %v; is it running, and is %s right?", e.Addr, e.Err, e.Name)
	case Rejected:
		return fmt.Sprintf("Redis at %s refused the connection: %v; check %s", e.Addr, e.Err, e.Name)
	}
	return e.Name + ": " + e.msg
}

func (e *Error) Unwrap() error { return e.Err }

// Config reports whether the error is one of configuration, which running
// again unchanged cannot cure: every kind but Unreachable.
func (e *Error) Config() bool { return e.Kind != Unreachable }
