package cli_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

// TestRedisURLMistakesAreNamed checks what each command says to a REDIS_URL
// it cannot use: the variable, the problem and the fix, never the password.
func TestRedisURLMistakesAreNamed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env = h.with(map[string]string{"GEELARK_APP_ID": "test-app", "GEELARK_API_KEY": secretKey})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	const pw = "pw-7c1d-never-show"
	cases := []struct {
		name string
		env  map[string]string
		code int
		want []string
		only string // the one command that reads tc.env, if not all do
	}{
		{"no scheme", map[string]string{"REDIS_URL": "127.0.0.1:6399"}, 2,
			[]string{"REDIS_URL", "no scheme", "redis://127.0.0.1:6399/0"}, ""},
		{"no scheme, with a password", map[string]string{"REDIS_URL": ":" + pw + "@127.0.0.1:6399"}, 2,
			[]string{"REDIS_URL", "redis://[user:]password@127.0.0.1:6399/0"}, ""},
		{"TLS to a plain server", map[string]string{"REDIS_URL": "rediss://:" + pw + "@" + strings.TrimPrefix(h.r.URL, "redis://")}, 2,
			[]string{"REDIS_URL", "TLS", "redis://"}, ""},
		{"unreachable", map[string]string{"REDIS_URL": "redis://:" + pw + "@" + closed + "/0"}, 1,
			[]string{"cannot reach Redis at " + closed, "REDIS_URL"}, ""},
		{"Sentinel unreachable", map[string]string{"REDIS_URL": "redis+sentinel://:" + pw + "@" + closed + "/mymaster"}, 1,
			[]string{"cannot reach Redis", `"mymaster"`, "Sentinel " + closed}, ""},
		{"Sentinel without a master name", map[string]string{"REDIS_URL": "redis+sentinel://" + closed}, 2,
			[]string{"REDIS_URL", "master name"}, ""},
		{"negative min replicas", map[string]string{"PHONESTART_REDIS_MIN_REPLICAS": "-1"}, 2,
			[]string{"PHONESTART_REDIS_MIN_REPLICAS", "0 or more"}, "enqueue"},
	}
	for _, tc := range cases {
		for _, args := range [][]string{{"worker"}, {"enqueue", "5577001"}, {"status"}} {
			if tc.only != "" && tc.only != args[0] {
				continue
			}
			t.Run(fmt.Sprintf("%s/%s", tc.name, args[0]), func(t *testing.T) {
				o := h.runEnv(h.with(tc.env), "", args...)
				if o.code != tc.code {
					t.Errorf("exit %d, want %d: %v", o.code, tc.code, o)
				}
				for _, w := range tc.want {
					if !strings.Contains(o.stderr, w) {
						t.Errorf("stderr %q does not say %q", o.stderr, w)
					}
				}
				if strings.Contains(o.stdout+o.stderr, pw) {
					t.Errorf("output shows the Redis password: %v", o)
				}
			})
		}
	}
	if n := total(h.status()); n != 0 {
		t.Errorf("%d phones in Redis, want none enqueued", n)
	}
}
