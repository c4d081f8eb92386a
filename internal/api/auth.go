package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// caller is the token a request came with: its name and scopes, never the
// token itself.
type caller struct {
	name   string
	scopes []string
}

// may reports whether the caller holds every scope of need (admin holds
// them all).
func (c caller) may(need ...string) bool {
	if slices.Contains(c.scopes, ScopeAdmin) {
		return true
	}
	for _, s := range need {
		if !slices.Contains(c.scopes, s) {
			return false
		}
	}
	return true
}

type knownToken struct {
	caller
	hash []byte
}

// tokenSet is the tokens file as last read. A request looks at the file's
// size, time and identity at most every poll, and reads it again when one
// changed; a file that no longer parses is logged and the tokens read
// before are kept. It is safe for simultaneous use.
type tokenSet struct {
	file string
	poll time.Duration
	now  func() time.Time
	log  *zap.Logger

	mu      sync.Mutex
	tokens  []knownToken
	stat    os.FileInfo
	checked time.Time
	broken  os.FileInfo // the changed file that did not parse, logged once
}

// newTokenSet reads file, which must exist and parse.
func newTokenSet(file string, poll time.Duration, now func() time.Time, log *zap.Logger) (*tokenSet, error) {
	t := &tokenSet{file: file, poll: poll, now: now, log: log}
	fi, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if err := t.read(fi); err != nil {
		return nil, err
	}
	t.checked = now()
	return t, nil
}

// read parses the file whose stat is fi. Called with mu held, or before
// the set is shared.
func (t *tokenSet) read(fi os.FileInfo) error {
	b, err := os.ReadFile(t.file)
	if err != nil {
		return err
	}
	entries, err := ParseTokens(b)
	if err != nil {
		return err
	}
	tokens := make([]knownToken, len(entries))
	for i, e := range entries {
		h, _ := hex.DecodeString(e.SHA256) // checked by ParseTokens
		tokens[i] = knownToken{caller: caller{name: e.Name, scopes: e.Scopes}, hash: h}
	}
	t.tokens, t.stat = tokens, fi
	return nil
}

// current returns the tokens, reading the file again when it changed.
func (t *tokenSet) current() []knownToken {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if now.Sub(t.checked) < t.poll && !now.Before(t.checked) {
		return t.tokens
	}
	t.checked = now
	fi, err := os.Stat(t.file)
	switch {
	case err != nil:
		t.log.Error("tokens file unreadable: keeping the tokens read before", zap.String("file", t.file), zap.Error(err))
	case sameStat(fi, t.stat) || (t.broken != nil && sameStat(fi, t.broken)):
	default:
		n := len(t.tokens)
		if err := t.read(fi); err != nil {
			t.broken = fi
			t.log.Error("tokens file changed but does not parse: keeping the tokens read before",
				zap.String("file", t.file), zap.Error(err))
			break
		}
		t.broken = nil
		t.log.Info("tokens file read again", zap.String("file", t.file), zap.Int("tokens", len(t.tokens)), zap.Int("before", n))
	}
	return t.tokens
}

func sameStat(a, b os.FileInfo) bool {
	return b != nil && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) && os.SameFile(a, b)
}

// lookup returns the caller whose token hashes to the token presented. Every
// known hash is compared, each in constant time.
func (t *tokenSet) lookup(token string) (caller, bool) {
	h := sha256.Sum256([]byte(token))
	var found caller
	ok := false
	for _, k := range t.current() {
		if subtle.ConstantTimeCompare(h[:], k.hash) == 1 {
			found, ok = k.caller, true
		}
	}
	return found, ok
}

// bearer returns the token of an "Authorization: Bearer ..." header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// unauthorized is the 401 of a request without a known token.
func unauthorized(detail string) *Problem {
	p := problem(ProblemUnauthorized, "Authorization", "%s", detail)
	p.header = http.Header{"Www-Authenticate": {`Bearer realm="phonestart"`}}
	return p
}
