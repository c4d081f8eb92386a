package geelarktest

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/phonestart/phonestart/geelark"
)

// Call-level codes the fake answers itself.
const (
	codeBodyUnreadable = 40001
	codeNoTraceID      = 40002
	codeBadAuth        = 40003
	codeBadParams      = 40004
	codeBadPagination  = 40008
)

// authenticate checks the headers of a call at now and returns the mode
// ("key" or "token") or the code that refuses it. A call with an
// Authorization header is a token-mode call; any other is a key-mode call.
func (f *Fake) authenticate(h http.Header, now time.Time) (mode string, code int) {
	traceID := h.Get("traceId")
	if traceID == "" {
		return "", codeNoTraceID
	}
	if auth := h.Get("Authorization"); auth != "" {
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || !same(token, f.cfg.Token) {
			return "", codeBadAuth
		}
		return "token", 0
	}
	appID, ts, nonce, sign := h.Get("appId"), h.Get("ts"), h.Get("nonce"), h.Get("sign")
	if appID == "" || !same(appID, f.cfg.AppID) {
		return "", codeBadAuth
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", codeBadAuth
	}
	if skew := now.Sub(time.UnixMilli(ms)).Abs(); skew > MaxSkew {
		return "", codeBadAuth
	}
	if nonce != geelark.Nonce(traceID) {
		return "", codeBadAuth
	}
	if !same(sign, geelark.Sign(appID, traceID, ts, nonce, f.cfg.APIKey)) {
		return "", codeBadAuth
	}
	return "key", 0
}

// same compares two credentials in constant time.
func same(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
