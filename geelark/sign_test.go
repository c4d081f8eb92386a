package geelark_test

import (
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
)

func TestSignDocVector(t *testing.T) {
	t.Parallel()
	const (
		appID   = "eH6gQR4oHr3FsZpI36La01IW"
		traceID = "db6094ab-3797-4186-84d5-b0b58eebad56"
		ts      = "1716972892166"
		apiKey  = "YjmFIUuq0oJgSDJ42fxLEb6R1qjjqf"
		want    = "6280C080AF7C3CCE168F15C913E3444A00A618CB0E16038EED9811D6E3366BDD"
	)
	if got := geelark.Nonce(traceID); got != "db6094" {
		t.Errorf("Nonce = %q, want db6094", got)
	}
	if got := geelark.Timestamp(time.UnixMilli(1716972892166)); got != ts {
		t.Errorf("Timestamp = %q, want %s (milliseconds)", got, ts)
	}
	if got := geelark.Sign(appID, traceID, ts, geelark.Nonce(traceID), apiKey); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}
