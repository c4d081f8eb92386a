package geelark

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Sign returns the key-mode signature of a request: the uppercase hex
// SHA-256 of appID + traceID + ts + nonce + apiKey, where ts is Unix
// milliseconds as a decimal string and nonce the first six characters of
// traceID.
func Sign(appID, traceID, ts, nonce, apiKey string) string {
	sum := sha256.Sum256([]byte(appID + traceID + ts + nonce + apiKey))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// Nonce returns the nonce that goes with traceID: its first six characters.
func Nonce(traceID string) string {
	if len(traceID) < 6 {
		return traceID
	}
	return traceID[:6]
}

// Timestamp formats t as the ts header: Unix milliseconds.
func Timestamp(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
