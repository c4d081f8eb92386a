package api_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/api"
)

// TestNewToken: the token is returned once and the file keeps only its
// hash; names are unique and scopes known.
func TestNewToken(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "tokens")
	tok, err := api.NewToken(file, "etl", []string{"start", "read"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, api.TokenPrefix) || len(tok) < 40 {
		t.Errorf("token %q", tok)
	}
	b, _ := os.ReadFile(file)
	if strings.Contains(string(b), tok) || strings.Contains(string(b), strings.TrimPrefix(tok, api.TokenPrefix)) {
		t.Errorf("the file holds the token: %s", b)
	}
	entries, err := api.ParseTokens(b)
	if err != nil || len(entries) != 1 || entries[0].Name != "etl" || len(entries[0].SHA256) != 64 {
		t.Fatalf("file %s: %+v %v", b, entries, err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := api.NewToken(file, "etl", []string{"read"}); !errors.Is(err, api.ErrTokenExists) {
		t.Errorf("same name again: %v", err)
	}
	for _, bad := range [][]string{nil, {"write"}, {"read", "root"}} {
		if _, err := api.NewToken(file, "x", bad); err == nil {
			t.Errorf("scopes %v accepted", bad)
		}
	}
	if _, err := api.NewToken(file, "a b", []string{"read"}); err == nil {
		t.Error(`name "a b" accepted`)
	}
	if _, err := api.ParseTokens([]byte("# tokens\n\n{\"name\":\"a\",\"scopes\":[\"read\"],\"sha256\":\"xyz\"}\n")); err == nil ||
		!strings.Contains(err.Error(), "line 3") {
		t.Errorf("a bad hash: %v, want an error naming line 3", err)
	}
}

// TestTokensFileReloaded: a token added, or removed, while the server runs
// is honoured within TokensPoll, without a restart; a file that stops
// parsing keeps the tokens read before. No token reaches the log or an
// answer.
func TestTokensFileReloaded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{TokensPoll: time.Minute})
	tok, err := api.NewToken(h.file, "late", []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	status := func(auth string) int {
		x := h.do(req{method: http.MethodGet, path: "/v1/status", auth: "Bearer " + auth})
		for _, secret := range []string{tok, h.tokens["reader"]} {
			if strings.Contains(string(x.Body), secret) {
				t.Errorf("an answer holds a token: %s", x.Body)
			}
		}
		return x.Status
	}
	if s := status(tok); s != 401 {
		t.Fatalf("new token before the poll: %d, want 401 (the file is looked at once a minute)", s)
	}
	h.clock.Add(time.Minute)
	if s := status(tok); s != 200 {
		t.Fatalf("new token after the poll: %d, want 200", s)
	}
	// Revoked: its line removed.
	b, _ := os.ReadFile(h.file)
	var kept []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.Contains(l, `"late"`) {
			kept = append(kept, l)
		}
	}
	if err := os.WriteFile(h.file, []byte(strings.Join(kept, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.clock.Add(time.Minute)
	if s := status(tok); s != 401 {
		t.Errorf("revoked token: %d, want 401", s)
	}
	// Broken file: the tokens read before still work.
	if err := os.WriteFile(h.file, []byte("not json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.clock.Add(time.Minute)
	if s := status(h.tokens["reader"]); s != 200 {
		t.Errorf("after the file broke: %d, want 200 with the tokens read before", s)
	}
	logs := h.logText()
	if !strings.Contains(logs, "does not parse") {
		t.Errorf("the broken file is not logged:\n%s", logs)
	}
	for name, secret := range h.tokens {
		if strings.Contains(logs, secret) || strings.Contains(logs, strings.TrimPrefix(secret, api.TokenPrefix)) {
			t.Errorf("token %s in the log", name)
		}
	}
	if strings.Contains(logs, tok) {
		t.Error("a token in the log")
	}
	if !strings.Contains(logs, "token=reader") {
		t.Errorf("the token's name is not logged:\n%s", logs)
	}
}

// TestBudget: a token over its budget gets 429 with Retry-After, another
// token is not held back, and the budget refills with time.
func TestBudget(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{Rate: 1, Burst: 3})
	for i := range 3 {
		if x := h.do(req{method: http.MethodGet, path: "/v1/status", token: "reader"}); x.Status != 200 {
			t.Fatalf("request %d: %d", i+1, x.Status)
		}
	}
	x := h.do(req{method: http.MethodGet, path: "/v1/status", token: "reader"})
	checkRefused(t, x, badCase{status: 429, typ: api.ProblemRateLimited})
	if ra, err := strconv.Atoi(x.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 2 {
		t.Errorf("Retry-After %q, want 1", x.Header.Get("Retry-After"))
	}
	if x := h.do(req{method: http.MethodGet, path: "/v1/status", token: "admin"}); x.Status != 200 {
		t.Errorf("another token: %d", x.Status)
	}
	h.clock.Add(time.Second)
	if x := h.do(req{method: http.MethodGet, path: "/v1/status", token: "reader"}); x.Status != 200 {
		t.Errorf("a second later: %d", x.Status)
	}
}

// TestConfigErrors: each bad setting is refused by New, naming its
// variable.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	cert := filepath.Join(t.TempDir(), "cert.pem")
	for _, c := range []struct {
		cfg  api.Config
		want string
	}{
		{api.Config{TokensFile: h.file}, "Redis"},
		{api.Config{Redis: h.rdb}, "PHONESTART_API_TOKENS_FILE"},
		{api.Config{Redis: h.rdb, TokensFile: filepath.Join(t.TempDir(), "none")}, "PHONESTART_API_TOKENS_FILE"},
		{api.Config{Redis: h.rdb, TokensFile: h.file, Addr: "8080"}, "PHONESTART_API_ADDR"},
		{api.Config{Redis: h.rdb, TokensFile: h.file, TLSCert: cert}, "PHONESTART_API_TLS_KEY"},
		{api.Config{Redis: h.rdb, TokensFile: h.file, TLSKey: cert}, "PHONESTART_API_TLS_CERT"},
		{api.Config{Redis: h.rdb, TokensFile: h.file, TLSCert: cert, TLSKey: cert}, "PHONESTART_API_TLS_CERT"},
		{api.Config{Redis: h.rdb, TokensFile: h.file, WebhookSecret: "short"}, "PHONESTART_WEBHOOK_SECRET"},
		{api.Config{Redis: h.rdb, TokensFile: h.file, Namespace: "a b"}, "PHONESTART_NAMESPACE"},
		{api.Config{Redis: h.rdb, TokensFile: h.file, Rate: -1}, "PHONESTART_API_RATE"},
	} {
		_, err := api.New(c.cfg)
		var ce *api.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want a ConfigError naming %s", c.cfg, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "short") {
			t.Errorf("the secret is in the error: %v", err)
		}
	}
}
