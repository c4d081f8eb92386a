package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/phonestart/phonestart/geelark/geelarktest"
)

func runFakeAPI(ctx context.Context, args []string, env Env) error {
	s := newSettings("fakeapi", env)
	var addr, appID, apiKey, token string
	var perMinute, perHour int
	var latency, bootTime time.Duration
	s.String(&addr, "addr", "PHONESTART_FAKEAPI_ADDR", "127.0.0.1:8089", "address to listen on")
	// Flags only: the fake does not read GEELARK_APP_ID and the like, so
	// that a shell set up for the real API (or with placeholders) still
	// gets a fake that accepts the documented test credentials.
	s.String(&appID, "app-id", "", "", "app ID to accept instead of "+geelarktest.DefaultAppID+" (with --api-key)")
	s.String(&apiKey, "api-key", "", "", "API key to accept instead of "+geelarktest.DefaultAPIKey+" (with --app-id)")
	s.String(&token, "token", "", "", "token to accept instead of "+geelarktest.DefaultToken)
	s.Int(&perMinute, "rate-per-minute", "", 200, "calls a minute before 40007, 0 for unlimited", between(0, 1<<30))
	s.Int(&perHour, "rate-per-hour", "", 24000, "calls an hour before the 40014 lockout, 0 for unlimited", between(0, 1<<30))
	s.Duration(&latency, "latency", "", 80*time.Millisecond, "added to every reply", nil)
	s.Duration(&bootTime, "boot-time", "", 3*time.Second, "how long a started phone stays at status 1 (Starting) before 0 (Started)", nil)
	pos, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return bad("unexpected argument %q", pos[0])
	}
	if (appID == "") != (apiKey == "") {
		return bad("--app-id and --api-key go together")
	}
	if bootTime < 0 {
		return bad("--boot-time %v is negative", bootTime)
	}
	fake := geelarktest.New(geelarktest.Config{
		AppID: appID, APIKey: apiKey, Token: token,
		RatePerMinute: perMinute, RatePerHour: perHour, Latency: latency,
		Default:   geelarktest.Mix(),
		Boot:      func(string) geelarktest.Boot { return geelarktest.Boot{Time: bootTime} },
		Callbacks: true, // sent once a callback URL is set
	})
	defer fake.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	// Only the documented test credentials are shown: one given by flag
	// may be a real one.
	key := fmt.Sprintf("GEELARK_APP_ID=%s GEELARK_API_KEY=%s", geelarktest.DefaultAppID, geelarktest.DefaultAPIKey)
	if appID != "" {
		key = "the app ID and key of --app-id and --api-key"
	}
	tok := "GEELARK_TOKEN=" + geelarktest.DefaultToken
	if token != "" {
		tok = "the token of --token"
	}
	creds := key + ", or " + tok
	fmt.Fprintf(env.Stdout, "fake GeeLark API on http://%s (accepts %s; %d calls/min; latency %v; phones boot in %v)\n",
		ln.Addr(), creds, perMinute, latency, bootTime)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	calls := fake.Calls()
	fmt.Fprintf(env.Stdout, "served %d calls, %d over budget\n", len(calls), fake.Violations())
	return nil
}
