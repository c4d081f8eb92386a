// Package cli is the phonestart command line: it maps flags and environment
// variables onto the config structs of the other packages and calls them.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Env is what a command reads and writes besides its arguments.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// LookupEnv, when set, tells a variable set to "" from an unset one.
	LookupEnv func(string) (string, bool)
	// Ctx, when set, replaces the context that SIGINT and SIGTERM cancel.
	Ctx context.Context
}

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, env Env) error
}

func commands() []command {
	return []command{
		{"worker", "[flags]", "start phones from the queue until SIGINT/SIGTERM", runWorker},
		{"enqueue", "[flags] (ID... | --file F)", "ask for phones to be started", runEnqueue},
		{"status", "[--json | --watch]", "phones by state, the API budget and any pause; --watch keeps it live", runStatus},
		{"dead", "list [--json] | requeue (--all | ID...) | purge (--all | ID...)", "the dead-letter queue", runDead},
		{"schedule", "[list | run NAME] --file F", "run, list or fire the schedules of a YAML file", runSchedule},
		{"fakeapi", "--addr HOST:PORT", "serve a fake GeeLark API for manual runs", runFakeAPI},
		{"demo", "[--phones N]", "embedded Redis, fake API, a worker and a burst of phones", runDemo},
	}
}

// lookup is LookupEnv, or Getenv taking "" for unset.
func (e Env) lookup(name string) (string, bool) {
	if e.LookupEnv != nil {
		return e.LookupEnv(name)
	}
	v := e.Getenv(name)
	return v, v != ""
}

// exitError carries an exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Main runs the command in args and returns the process exit code: 0 on
// success, 1 on failure, 2 on bad usage or configuration.
func Main(args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx := env.Ctx
		if ctx == nil {
			var stop context.CancelFunc
			ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
		}
		// Before any Redis use: commands that log replace it with their
		// logger.
		quietRedis()
		err := c.run(ctx, args[1:], env)
		if err == nil {
			return 0
		}
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(env.Stderr, "phonestart %s: %v\n", c.name, err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	fmt.Fprintf(env.Stderr, "phonestart: unknown command %q\n\n", args[0])
	usage(env.Stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "phonestart starts GeeLark cloud phones in bulk through a Redis job queue.")
	fmt.Fprintln(w, "\nUsage:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  phonestart %s %s\n      %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'phonestart COMMAND -h' for a command's flags; each flag can also be set by the")
	fmt.Fprintln(w, "environment variable shown beside it.")
}

// bad is a usage or configuration error: exit code 2.
func bad(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}
