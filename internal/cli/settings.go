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
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
	checks []func() error
	set    map[string]bool
}

func newSettings(name string, env Env) *settings {
	fs := flag.NewFlagSet("phonestart "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &settings{fs: fs, getenv: env.Getenv}
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

func (s *settings) String(p *string, name, envName, def, text string) {
	if v := s.envValue(envName); v != "" {
		def = v
	}
	s.fs.StringVar(p, name, def, s.usage(envName, text))
}

func (s *settings) Bool(p *bool, name, text string) { s.fs.BoolVar(p, name, false, text) }

func (s *settings) Int(p *int, name, envName string, def int, text string, check func(int) error) {
	if v := s.envValue(envName); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s=%q is not a whole number", envName, v))
		} else {
			def = n
		}
	}
	s.fs.IntVar(p, name, def, s.usage(envName, text))
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
	if v := s.envValue(envName); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s=%q is not a Go duration such as 500ms, 10s or 2h", envName, v))
		} else {
			def = d
		}
	}
	s.fs.DurationVar(p, name, def, s.usage(envName, text))
	if check != nil {
		s.checks = append(s.checks, func() error {
			if err := check(*p); err != nil {
				return fmt.Errorf("%s = %v: %v", label(name, envName), *p, err)
			}
			return nil
		})
	}
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
	if len(s.errs) > 0 {
		return nil, &exitError{code: 2, err: s.errs[0]}
	}
	var pos []string
	for {
		if err := s.fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				s.fs.SetOutput(out)
				fmt.Fprintf(out, "Usage of %s:\n", s.fs.Name())
				s.fs.PrintDefaults()
				return nil, err
			}
			return nil, bad("%v", err)
		}
		rest := s.fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" || len(args) > 0 && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	s.set = map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { s.set[f.Name] = true })
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
