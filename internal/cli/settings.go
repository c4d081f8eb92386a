package cli

import (
	"errors"
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
	// help is how -h shows each flag: its type and default.
	help map[string]flagHelp
	// refused is the first flag value that did not parse, said with an
	// example of one that would.
	refused error
}

// flagHelp is what -h shows of a flag besides its usage.
type flagHelp struct {
	kind string // "duration", "int", "string"; "" for a switch
	def  string // the default, "" when it is the zero value
}

func newSettings(name string, env Env) *settings {
	fs := flag.NewFlagSet("phonestart "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &settings{name: name, fs: fs, getenv: env.Getenv, help: map[string]flagHelp{}}
}

func label(name, envName string) string {
	if envName == "" {
		return dashed(name)
	}
	return envName + " (" + dashed(name) + ")"
}

// dashed is how a flag is written: -v, --redis-url.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
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
	s.help[name] = flagHelp{kind: "string"}
	if def != "" {
		s.help[name] = flagHelp{kind: "string", def: strconv.Quote(def)}
	}
	s.fromEnv(name, envName, func(v string) error { *p = v; return nil })
}

func (s *settings) Bool(p *bool, name, text string) { s.fs.BoolVar(p, name, false, text) }

func (s *settings) Int(p *int, name, envName string, def int, text string, check func(int) error) {
	*p = def
	s.fs.Var(parsed[int]{p, s.parseInt(name)}, name, s.usage(envName, text))
	s.help[name] = flagHelp{kind: "int"}
	if def != 0 {
		s.help[name] = flagHelp{kind: "int", def: strconv.Itoa(def)}
	}
	s.fromEnv(name, envName, func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return notA(label(name, envName), v, "whole number", "")
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

// durationExample is what a duration that does not parse is told to look
// like.
const durationExample = "want a duration such as 5m or 2h"

func (s *settings) Duration(p *time.Duration, name, envName string, def time.Duration, text string, check func(time.Duration) error) {
	*p = def
	s.fs.Var(parsed[time.Duration]{p, s.parseDuration(name)}, name, s.usage(envName, text))
	s.help[name] = flagHelp{kind: "duration"}
	if def != 0 {
		s.help[name] = flagHelp{kind: "duration", def: shortDuration(def)}
	}
	s.fromEnv(name, envName, func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return notA(label(name, envName), v, "duration", durationExample)
		}
		*p = d
		return nil
	})
	if check != nil {
		s.checks = append(s.checks, func() error {
			if err := check(*p); err != nil {
				return fmt.Errorf("%s = %v: %v", label(name, envName), shortDuration(*p), err)
			}
			return nil
		})
	}
}

// notA is the error for a value v of what that is not a kind:
// `--in: "5" is not a duration: want a duration such as 5m or 2h`.
func notA(what, v, kind, example string) error {
	msg := fmt.Sprintf("%s: %q is not a %s", what, v, kind)
	if example != "" {
		msg += ": " + example
	}
	return errors.New(msg)
}

// parsed is a flag.Value of type T that parses with parse.
type parsed[T any] struct {
	p     *T
	parse func(string) (T, error)
}

func (v parsed[T]) String() string {
	if v.p == nil {
		return ""
	}
	return fmt.Sprint(*v.p)
}

func (v parsed[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	*v.p = x
	return nil
}

// parseInt and parseDuration parse flag name's value and keep the first
// refusal: package flag would wrap it in words of its own.
func (s *settings) parseInt(name string) func(string) (int, error) {
	return func(v string) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, s.refuse(notA(dashed(name), v, "whole number", ""))
		}
		return n, nil
	}
}

func (s *settings) parseDuration(name string) func(string) (time.Duration, error) {
	return func(v string) (time.Duration, error) {
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, s.refuse(notA(dashed(name), v, "duration", durationExample))
		}
		return d, nil
	}
}

func (s *settings) refuse(err error) error {
	if s.refused == nil {
		s.refused = err
	}
	return err
}

// shortDuration is d as Go writes it, less the zero units it ends with:
// 5m, not 5m0s.
func shortDuration(d time.Duration) string {
	t := d.String()
	if strings.HasSuffix(t, "m0s") {
		t = t[:len(t)-2]
	}
	if strings.HasSuffix(t, "h0m") {
		t = t[:len(t)-2]
	}
	return t
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
				commandUsage(out, s.name)
				s.printFlags(out)
				return nil, err
			}
			return nil, s.parseError(args, err)
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

// parseError is the usage error for err, which Parse returned for args: a
// value refused with its example, an unknown flag with the nearest known
// one, or package flag's own words.
func (s *settings) parseError(args []string, err error) error {
	if s.refused != nil {
		return bad("%v", s.refused)
	}
	if name := s.unknownFlag(args); name != "" {
		if near := s.nearest(name); near != "" {
			return bad("unknown flag %s; did you mean %s?", dashed(name), dashed(near))
		}
		return bad("unknown flag %s (phonestart %s -h lists the flags)", dashed(name), s.name)
	}
	return bad("%v", err)
}

// unknownFlag returns the name of the first flag in args that the command
// does not have, reading args as package flag does, or "".
func (s *settings) unknownFlag(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return ""
		}
		if len(a) < 2 || a[0] != '-' {
			continue // a positional argument: flags may follow
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		if name == "" || name == "h" || name == "help" {
			continue
		}
		f := s.fs.Lookup(name)
		if f == nil {
			return name
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !hasValue && !(ok && b.IsBoolFlag()) {
			i++ // its value
		}
	}
	return ""
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
