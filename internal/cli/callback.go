package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/adminserver"
)

const callbackUsage = `usage:
  phonestart callback set URL`

// runCallback registers the URL GeeLark POSTs its events to.
func runCallback(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return bad("callback needs a subcommand: set\n%s", callbackUsage)
	}
	sub, args := args[0], args[1:]
	if sub != "set" {
		return bad("callback %q: want set\n%s", sub, callbackUsage)
	}
	s := newSettings("callback set", env)
	var af apiFlags
	af.register(s)
	pos, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return bad("callback set takes one URL, got %d arguments\n%s", len(pos), callbackUsage)
	}
	raw := pos[0]
	if err := geelark.ValidateCallbackURL(raw); err != nil {
		return bad("%v", err)
	}
	api, err := af.client()
	if err != nil {
		return err
	}
	if err := api.SetCallback(ctx, raw); err != nil {
		return fmt.Errorf("set the callback URL at %s: %w", api.BaseURL(), err)
	}
	fmt.Fprintf(env.Stdout, "callback URL set to %s at %s: GeeLark now POSTs the account's phone events there (it replaces any URL set before)\n",
		raw, api.BaseURL())
	if u, _ := url.Parse(raw); !strings.HasSuffix(u.Path, adminserver.CallbackPath) {
		fmt.Fprintf(env.Stdout, "note: phonestart's admin server takes callbacks at %s; this URL's path is %q\n", adminserver.CallbackPath, u.Path)
	}
	fmt.Fprintln(env.Stdout, "workers confirm boots from it when run with PHONESTART_CALLBACK=on, key-mode credentials, and an admin server GeeLark can reach")
	return nil
}

// callbackFlags is the worker's PHONESTART_CALLBACK setting.
type callbackFlags struct{ mode string }

func (c *callbackFlags) register(s *settings) {
	s.String(&c.mode, "callback", "PHONESTART_CALLBACK", "off",
		"on: the admin server accepts GeeLark's signed callbacks at "+adminserver.CallbackPath+" (needs GEELARK_APP_ID and GEELARK_API_KEY)")
}

// config returns the admin server's Callbacks: nil when off. On needs
// key-mode credentials, which GeeLark signs its callbacks with, and an
// admin server.
func (c *callbackFlags) config(af *apiFlags, adminAddr string) (*adminserver.Callbacks, error) {
	switch strings.ToLower(c.mode) {
	case "off", "":
		return nil, nil
	case "on":
	default:
		return nil, bad("PHONESTART_CALLBACK (--callback) = %q: want on or off", c.mode)
	}
	if af.appID == "" || af.apiKey == "" {
		return nil, bad("PHONESTART_CALLBACK=on needs GEELARK_APP_ID and GEELARK_API_KEY (key mode): GeeLark signs its callbacks with them")
	}
	if adminAddr == "" {
		return nil, bad("PHONESTART_CALLBACK=on needs the admin server, which takes the callbacks: set PHONESTART_ADMIN_ADDR")
	}
	return &adminserver.Callbacks{AppID: af.appID, APIKey: af.apiKey}, nil
}
