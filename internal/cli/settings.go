package cli

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// settings is a FlagSet whose flags take their defaults from environment
// variables. A malformed environment value is an error naming the variable.
type settings struct {
	name   string // the command, e.g. "dead list"
	fs     *flag.FlagSet
	getenv func(string) string
	envs   []func() error
	checks []func() error
	set    map[string]bool
}

func newSettings(name string, env Env) *settings {
	fs := flag.NewFlagSet("phonestart "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &settings{name: name, fs: fs, getenv: env.Getenv}
}

func label(name, envName string) string {
	if envName == "" {
		return "--" + name
	}
	return envName + " (--" + name + ")"
}

func (s *settings) usage(envName, text string) string {
	if envName != "" {
		return text + " [$" + envName + "]"
	}
	return text
}

// String registers a string setting. The help shows def, never the
// environment's value: that may be a secret.
func (s *settings) String(p *string, name, envName, def, text string) {
	s.fs.StringVar(p, name, def, s.usage(envName, text))
	s.fromEnv(name, envName, func(v string) error { *p = v; return nil })
}

func (s *settings) Bool(p *bool, name, text string) { s.fs.BoolVar(p, name, false, text) }

func (s *settings) Int(p *int, name, envName string, def int, text string, check func(int) error) {
	s.fs.IntVar(p, name, def, s.usage(envName, text))
	s.fromEnv(name, envName, func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%s=%q is not a whole number", envName, v)
		}
		*p = n
		return nil
	})
	if check != nil {
		s.checks = append(s.checks, func() error {
			if err := check(*p); err != nil {
				return fmt.Errorf("%s = %d: %v", label(name, envName), *p, err)
			}
			return nil
		})
	}
}

func (s *settings) Duration(p *time.Duration, name, envName string, def time.Duration, text string, check func(time.Duration) error) {
	s.fs.DurationVar(p, name, def, s.usage(envName, text))
	s.fromEnv(name, envName, func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s=%q is not a Go duration such as 500ms, 10s or 2h", envName, v)
		}
		*p = d
		return nil
	})
	if check != nil {
		s.checks = append(s.checks, func() error {
			if err := check(*p); err != nil {
				return fmt.Errorf("%s = %v: %v", label(name, envName), *p, err)
			}
			return nil
		})
	}
}

// fromEnv applies the environment variable after parsing, unless the flag
// was given.
func (s *settings) fromEnv(name, envName string, apply func(string) error) {
	if envName == "" {
		return
	}
	s.envs = append(s.envs, func() error {
		v := s.envValue(envName)
		if v == "" || s.set[name] {
			return nil
		}
		return apply(v)
	})
}

func (s *settings) envValue(envName string) string {
	if envName == "" {
		return ""
	}
	return strings.TrimSpace(s.getenv(envName))
}

// parse parses args, allowing flags after positional arguments, and runs
// every check. It returns the positional arguments.
func (s *settings) parse(args []string, out io.Writer) ([]string, error) {
	var pos []string
	for {
		if err := s.fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				s.fs.SetOutput(out)
				commandUsage(out, s.name)
				fmt.Fprintln(out, "\nFlags (the variable in [$...] beside a flag sets it from the environment):")
				s.fs.PrintDefaults()
				return nil, err
			}
			return nil, bad("%v", err)
		}
		rest := s.fs.Args()
		if len(rest) == 0 {
			break
		}
		// Parse stops at the first non-flag, or just after a "--" it
		// consumed: after "--" every argument is positional.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	s.set = map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { s.set[f.Name] = true })
	for _, apply := range s.envs {
		if err := apply(); err != nil {
			return nil, &exitError{code: 2, err: err}
		}
	}
	for _, c := range s.checks {
		if err := c(); err != nil {
			return nil, &exitError{code: 2, err: err}
		}
	}
	return pos, nil
}

func positive[T int | time.Duration](v T) error {
	if v <= 0 {
		return fmt.Errorf("must be greater than 0")
	}
	return nil
}

func between(lo, hi int) func(int) error {
	return func(v int) error {
		if v < lo || v > hi {
			return fmt.Errorf("must be %d..%d", lo, hi)
		}
		return nil
	}
}

func nonNegative[T int | time.Duration](v T) error {
	if v < 0 {
		return fmt.Errorf("must be 0 or more")
	}
	return nil
}
