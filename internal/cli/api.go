package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/phonestart/phonestart/internal/api"
)

// apiCommand is `phonestart api` and `phonestart api token new`.
func apiCommand() command {
	return command{name: "api", args: "[flags] | token new --name NAME --scope SCOPES",
		summary: "serve the HTTP API, its event stream and webhooks; or add a token", run: runAPI,
		subs: []command{
			{name: "api", args: "[flags]", summary: "serve the HTTP JSON API (see docs/api.md) until SIGINT/SIGTERM"},
			{name: "api token new", args: "--name NAME --scope start,stop,read,admin",
				summary: "add a token to PHONESTART_API_TOKENS_FILE and print it: the only time it is shown"},
		}}
}

// runAPI runs `api [flags]` and `api token new`.
func runAPI(ctx context.Context, args []string, env Env) error {
	if len(args) > 0 && args[0] == "token" {
		if len(args) < 2 || args[1] != "new" {
			return bad("unknown subcommand: want `phonestart api token new --name NAME --scope SCOPES`")
		}
		return runTokenNew(args[2:], env)
	}
	s := newSettings("api", env)
	var rf redisFlags
	rf.register(s, redisEnqueue)
	var cfg api.Config
	var logFormat string
	var rate int
	s.String(&cfg.Addr, "addr", "PHONESTART_API_ADDR", api.DefaultAddr, "host:port to serve on; loopback unless behind a TLS proxy or with --tls-cert")
	s.String(&cfg.TokensFile, "tokens-file", "PHONESTART_API_TOKENS_FILE", "", "the tokens' names, scopes and hashes (phonestart api token new)")
	s.String(&cfg.TLSCert, "tls-cert", "PHONESTART_API_TLS_CERT", "", "PEM certificate: serve HTTPS (with --tls-key)")
	s.String(&cfg.TLSKey, "tls-key", "PHONESTART_API_TLS_KEY", "", "PEM key of --tls-cert")
	s.Int(&rate, "rate", "PHONESTART_API_RATE", api.DefaultRate, "requests a second each token may make, on average", positive)
	s.Int(&cfg.Burst, "burst", "PHONESTART_API_BURST", api.DefaultBurst, "requests each token may make at once", positive)
	s.String(&logFormat, "log-format", "PHONESTART_LOG_FORMAT", "auto", "json, console, or auto (console on a terminal)")
	pos, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return bad("unexpected argument %q", pos[0])
	}
	// A secret is read from the environment only: flags show in ps.
	cfg.WebhookSecret = strings.TrimSpace(env.Getenv("PHONESTART_WEBHOOK_SECRET"))
	cfg.Rate, cfg.EventsMax, cfg.MinReplicas, cfg.Retention = float64(rate), rf.eventsMax, rf.minReplicas, rf.retention
	sp, err := rf.space()
	if err != nil {
		return err
	}
	cfg.Namespace = sp.Name()
	log, err := newLogger(env.Stderr, logFormat)
	if err != nil {
		return err
	}
	defer log.Sync()
	cfg.Logger = log
	rdb, err := rf.dial(ctx)
	if err != nil {
		return err
	}
	defer rdb.Close()
	cfg.Redis = rdb
	srv, err := api.New(cfg)
	if err == nil {
		err = srv.Run(ctx)
	}
	var ce *api.ConfigError
	if errors.As(err, &ce) {
		return bad("%v", err)
	}
	return err
}

// runTokenNew runs `api token new --name NAME --scope SCOPES`.
func runTokenNew(args []string, env Env) error {
	s := newSettings("api token new", env)
	var file, name, scopes string
	s.String(&file, "tokens-file", "PHONESTART_API_TOKENS_FILE", "", "the tokens file to add to (created when missing)")
	s.String(&name, "name", "", "", "the token's name, as logs show it: 1 to 64 letters, digits, '.', '_', '-'")
	s.String(&scopes, "scope", "", "", "comma-separated scopes: start, stop, read, admin")
	pos, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return bad("unexpected argument %q", pos[0])
	case file == "":
		return bad("PHONESTART_API_TOKENS_FILE (--tokens-file) is required")
	case name == "" || scopes == "":
		return bad("--name and --scope are required")
	}
	token, err := api.NewToken(file, name, strings.Split(scopes, ","))
	if err != nil {
		return bad("%v", err)
	}
	fmt.Fprintln(env.Stdout, token)
	fmt.Fprintf(env.Stderr, "token %s (%s) added to %s; running servers take it within seconds. It is not shown again.\n",
		name, scopes, file)
	return nil
}
