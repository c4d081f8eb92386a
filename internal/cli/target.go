package cli

import (
	"io"
	"time"
)

// target is what enqueue and stop are asked about: phones, from arguments
// or a file, and when (--at or --in; now without either).
type target struct {
	verb       string // "start" or "stop", for help and messages
	at, file   string
	skipHeader bool
	in         time.Duration
}

func (t *target) register(s *settings, example string) {
	s.String(&t.at, "at", "", "", t.verb+" at this RFC 3339 time, e.g. "+example)
	s.Duration(&t.in, "in", "", 0, t.verb+" this long from now, e.g. 90m", nil)
	s.String(&t.file, "file", "", "", "read IDs from this file, one per line (# comments, blank lines allowed); - reads standard input")
	s.Bool(&t.skipHeader, "skip-header", skipHeaderUsage)
}

// resolve checks the flags and returns the phone IDs (args, or the file's)
// and when: a time, a delay from now, or neither. done names what did not
// happen on an error ("enqueued", "stopped").
func (t *target) resolve(s *settings, args []string, stdin io.Reader, done string) (ids []string, at time.Time, in time.Duration, err error) {
	if s.set["at"] && s.set["in"] {
		return nil, at, 0, bad("--at and --in: give one or the other")
	}
	if s.set["at"] {
		if at, err = time.Parse(time.RFC3339, t.at); err != nil {
			return nil, at, 0, bad("--at %q is not an RFC 3339 time such as 2026-11-26T07:30:00Z", t.at)
		}
		if time.Until(at) < -time.Minute {
			return nil, at, 0, bad("--at %s is in the past; nothing was %s (leave --at out to %s now)", t.at, done, t.verb)
		}
	}
	if s.set["in"] {
		if t.in <= 0 {
			return nil, at, 0, bad("--in %v: must be greater than 0", t.in)
		}
		in = t.in
	}
	ids = args
	switch {
	case t.file != "" && len(args) > 0:
		return nil, at, 0, bad("give phone IDs as arguments or with --file, not both")
	case t.skipHeader && t.file == "":
		return nil, at, 0, bad("--skip-header without --file")
	case t.file != "":
		if ids, err = readIDs(t.file, stdin, t.skipHeader); err != nil {
			return nil, at, 0, bad("%v; nothing was %s", err, done)
		}
	}
	if len(ids) == 0 {
		return nil, at, 0, bad("no phone IDs: give them as arguments or with --file F (- for standard input)")
	}
	return ids, at, in, nil
}
