package api_test

import (
	"fmt"
	"time"

	"github.com/phonestart/phonestart/internal/api"
)

// A receiver checks a webhook with the secret it shares with the API: the
// signature over the Phonestart-Timestamp header, a '.', and the raw body,
// and a timestamp no more than 5 minutes off.
func ExampleVerify() {
	secret := []byte("0123456789abcdef0123456789abcdef")
	body := []byte(`{"request":"mic1x2a9-3f9a0c12bd4e","ended":true}`)
	sent := time.Unix(1767225600, 0)
	ts := fmt.Sprint(sent.Unix())
	sig := api.Sign(secret, ts, body) // what the API sends as Phonestart-Signature

	fmt.Println(api.Verify(secret, ts, sig, body, sent.Add(time.Second), 5*time.Minute))
	fmt.Println(api.Verify(secret, ts, sig, []byte(`{"request":"forged"}`), sent, 5*time.Minute))
	fmt.Println(api.Verify(secret, ts, sig, body, sent.Add(time.Hour), 5*time.Minute))
	// Output:
	// <nil>
	// webhook: signature does not match
	// webhook: timestamp 1h0m0s off
}
