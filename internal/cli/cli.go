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
	"strings"
	"syscall"

	"github.com/phonestart/phonestart/enqueue"
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
	subs                []command // subcommands, whose names are "name sub"
	run                 func(ctx context.Context, args []string, env Env) error
}

func commands() []command {
	return []command{
		{name: "worker", args: "[flags]", summary: "start phones from the queue until SIGINT/SIGTERM", run: runWorker},
		{name: "enqueue", args: "[flags] (ID... | --file F)",
			summary: "ask for phones to be started, now (default), --at a time or --in a while; --file - reads standard input; --wait until they are ready", run: runEnqueue},
		{name: "stop", args: "[--json] [--at RFC3339 | --in DURATION] (ID... | --file F)",
			summary: "stop (shut down) phones, now or later; cancels their waiting starts", run: runStop},
		{name: "cancel", args: "[--json] (ID... | --file F)",
			summary: "remove phones' pending, scheduled or retrying starts (not those being started now)", run: runCancel},
		{name: "status", args: "[--json | --watch]", summary: "phones by state, the API budget and any pause; --watch keeps it live", run: runStatus},
		{name: "events", args: "[--follow] [--json] [ID...]",
			summary: "every step of phones' lives (enqueued, started, ready, retry, dead, ...), newest last; --follow keeps printing", run: runEvents},
		{name: "phone", args: "[--json] ID", summary: "one phone's state (ready, dead, booting, ...) and history", run: runPhone},
		{name: "dead", args: "list [--json] | requeue (--all | ID...) | purge (--all | ID...)", summary: "the dead-letter queue", run: runDead,
			subs: []command{
				{name: "dead list", args: "[--json]", summary: "each dead phone: id, code, message, attempts, failure time, options"},
				{name: "dead requeue", args: "(--all | ID...)", summary: "enqueue dead phones again with a fresh set of attempts"},
				{name: "dead purge", args: "(--all | ID...)", summary: "delete dead phones for good"},
			}},
		{name: "schedule", args: "[list | run NAME] --file F", summary: "run, list or fire the schedules of a YAML file", run: runSchedule,
			subs: []command{
				{name: "schedule", args: "--file F", summary: "run every schedule until SIGINT/SIGTERM"},
				{name: "schedule list", args: "--file F", summary: "each schedule and its next three runs, in its zone"},
				{name: "schedule run", args: "NAME --file F", summary: "fire one schedule now"},
			}},
		{name: "pause", args: "[--json] | lift", summary: "show the fleet-wide pause of API calls, or lift it now", run: runPause,
			subs: []command{
				{name: "pause", args: "[--json]", summary: "the fleet pause in force: code, GeeLark's message, who set it, since when and until when"},
				{name: "pause lift", args: "", summary: "end the fleet pause now"},
			}},
		apiCommand(),
		{name: "callback", args: "set URL", summary: "register the URL GeeLark POSTs phone events to", run: runCallback,
			subs: []command{
				{name: "callback set", args: "URL", summary: "register URL (https://host/geelark/callback) as the account's callback URL at GeeLark"},
			}},
		{name: "fakeapi", args: "[--addr HOST:PORT]", summary: "serve a fake GeeLark API for manual runs", run: runFakeAPI},
		{name: "demo", args: "[--phones N] [-v]", summary: "embedded Redis, fake API, a worker and a burst of phones", run: runDemo},
		{name: "version", args: "", summary: "the module version and VCS revision of this binary", run: runVersion},
	}
}

// findCommand returns the command or subcommand called name ("dead list").
func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
		for _, sc := range c.subs {
			if sc.name == name {
				return sc, true
			}
		}
	}
	return command{}, false
}

// commandUsage writes the usage lines of the command or subcommand name:
// its synopsis, or those of its subcommands, each with its summary.
func commandUsage(w io.Writer, name string) {
	c, ok := findCommand(name)
	if !ok {
		fmt.Fprintf(w, "Usage: phonestart %s [flags]\n", name)
		return
	}
	fmt.Fprintln(w, "Usage:")
	lines := c.subs
	if len(lines) == 0 {
		lines = []command{c}
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  %s\n      %s\n", strings.TrimSpace("phonestart "+l.name+" "+l.args), l.summary)
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
	if len(args) == 2 && args[0] == "help" {
		args = []string{args[1], "-h"} // phonestart help COMMAND
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
		// A command that is only its subcommands (dead) lists them;
		// "COMMAND SUB -h" shows the subcommand's flags. One that runs
		// bare too (schedule) shows its flags as well.
		if len(c.subs) > 0 && c.subs[0].name != c.name && len(args) > 1 && isHelp(args[1]) {
			commandUsage(env.Stdout, c.name)
			fmt.Fprintf(env.Stdout, "\nRun 'phonestart %s SUBCOMMAND -h' for its flags.\n", c.name)
			return 0
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
		// A package's error may start with the package's name, which
		// for enqueue is the command's: say it once.
		fmt.Fprintf(env.Stderr, "phonestart %s: %s\n", c.name, strings.TrimPrefix(err.Error(), c.name+": "))
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
		fmt.Fprintf(w, "  %s\n      %s\n", strings.TrimSpace("phonestart "+c.name+" "+c.args), c.summary)
	}
	fmt.Fprintln(w, "\nRun 'phonestart COMMAND -h' (or 'phonestart help COMMAND') for a command's flags; each flag can also be set by the")
	fmt.Fprintln(w, "environment variable shown beside it.")
}

func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "-help" }

// bad is a usage or configuration error: exit code 2. A refused request
// among args is said as the field and what is wrong with it: the command's
// name goes before it, not package enqueue's.
func bad(format string, args ...any) error {
	for i, a := range args {
		if ie, ok := a.(*enqueue.InputError); ok {
			args[i] = inputError{ie}
		}
	}
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// inputError is an *enqueue.InputError without the package's prefix:
// "ids[1]: phone ID ...".
type inputError struct{ e *enqueue.InputError }

func (e inputError) Error() string { return e.e.Field + ": " + e.e.Err.Error() }
func (e inputError) Unwrap() error { return e.e }
