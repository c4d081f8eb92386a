package fleet

import (
	"errors"
	"fmt"
	"regexp"
)

// DefaultNamespace names a deployment that sets no PHONESTART_NAMESPACE: its
// keys start with "{phonestart}:" and its asynq queues are "phonestart"
// (starts) and "phonestart-stop" (stops).
const DefaultNamespace = "phonestart"

// Space is one deployment's share of a Redis: every key phonestart writes
// outside asynq's starts with its prefix "{NAME}:", and its asynq queues
// are named after it, so that several fleets can share one Redis without
// taking each other's tasks. The braces make NAME the keys' hash tag: all
// of a deployment's keys live in one slot, which is what lets one Lua
// script move a phone's record, its indexes and the events stream together.
type Space struct {
	name string
}

var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// NewSpace returns the space of namespace name ("" for DefaultNamespace).
func NewSpace(name string) (Space, error) {
	if name == "" {
		name = DefaultNamespace
	}
	if !namespaceRE.MatchString(name) {
		return Space{}, fmt.Errorf("namespace %q: want 1 to 40 ASCII letters, digits, '-' or '_'", name)
	}
	return Space{name: name}, nil
}

// MustSpace is NewSpace for names known to be valid; it panics otherwise.
func MustSpace(name string) Space {
	sp, err := NewSpace(name)
	if err != nil {
		panic(err)
	}
	return sp
}

// Name is the namespace.
func (s Space) Name() string {
	if s.name == "" {
		return DefaultNamespace
	}
	return s.name
}

// Prefix starts every key of the space: "{NAME}:".
func (s Space) Prefix() string { return "{" + s.Name() + "}:" }

// Key returns the key named by parts under the prefix, joined by ':'.
func (s Space) Key(parts ...string) string {
	k := s.Prefix()
	for i, p := range parts {
		if i > 0 {
			k += ":"
		}
		k += p
	}
	return k
}

// StartQueue is the asynq queue of the space's start tasks: its name.
func (s Space) StartQueue() string { return s.Name() }

// StopQueue is the asynq queue of the space's stop tasks.
func (s Space) StopQueue() string { return s.Name() + "-stop" }

// EventsKey is the Redis stream of every step of every phone's life, for
// producers in any language (XREAD): "{NAME}:events".
func (s Space) EventsKey() string { return s.Key("events") }

// errNoRedis is the error of a constructor given no Redis.
var errNoRedis = errors.New("fleet: Redis is required")
