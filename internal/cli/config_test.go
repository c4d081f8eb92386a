package cli_test

import (
	"strings"
	"testing"
)

// Distinctive credentials: no log line or message may ever contain them.
const (
	secretKey   = "sk-9f3c1e77b2d04a5f-never-log-me"
	secretToken = "tok-4d2b90aa61c8e3f1-never-log-me"
)

func TestBadConfigurationIsRefusedAtStartUp(t *testing.T) {
	t.Parallel()
	creds := map[string]string{"GEELARK_APP_ID": "test-app", "GEELARK_API_KEY": secretKey}
	cases := []struct {
		name string
		args []string
		env  map[string]string // over REDIS_URL and creds
		want []string          // in stderr
	}{
		{"batch size not a number", nil, map[string]string{"PHONESTART_BATCH_SIZE": "abc"},
			[]string{"PHONESTART_BATCH_SIZE", `"abc"`}},
		{"batch size 0", nil, map[string]string{"PHONESTART_BATCH_SIZE": "0"}, []string{"PHONESTART_BATCH_SIZE", "1..200"}},
		{"batch size 201", nil, map[string]string{"PHONESTART_BATCH_SIZE": "201"}, []string{"PHONESTART_BATCH_SIZE", "1..200"}},
		{"batch wait not a duration", nil, map[string]string{"PHONESTART_BATCH_WAIT": "fast"},
			[]string{"PHONESTART_BATCH_WAIT", `"fast"`}},
		{"batch wait 0", nil, map[string]string{"PHONESTART_BATCH_WAIT": "0s"}, []string{"PHONESTART_BATCH_WAIT"}},
		{"retry max below retry base", nil, map[string]string{"PHONESTART_RETRY_BASE": "1m", "PHONESTART_RETRY_MAX": "10s"},
			[]string{"PHONESTART_RETRY_MAX", "PHONESTART_RETRY_BASE"}},
		{"retry base not a duration", nil, map[string]string{"PHONESTART_RETRY_BASE": "10"}, []string{"PHONESTART_RETRY_BASE"}},
		{"max attempts 0", nil, map[string]string{"PHONESTART_MAX_ATTEMPTS": "0"}, []string{"PHONESTART_MAX_ATTEMPTS"}},
		{"concurrency negative", nil, map[string]string{"PHONESTART_CONCURRENCY": "-1"}, []string{"PHONESTART_CONCURRENCY"}},
		{"rate per minute not a number", nil, map[string]string{"PHONESTART_RATE_PER_MINUTE": "lots"},
			[]string{"PHONESTART_RATE_PER_MINUTE"}},
		{"rate per hour 0", nil, map[string]string{"PHONESTART_RATE_PER_HOUR": "0"}, []string{"PHONESTART_RATE_PER_HOUR"}},
		{"shutdown timeout not a duration", nil, map[string]string{"PHONESTART_SHUTDOWN_TIMEOUT": "soon"},
			[]string{"PHONESTART_SHUTDOWN_TIMEOUT"}},
		{"log format", nil, map[string]string{"PHONESTART_LOG_FORMAT": "xml"}, []string{"PHONESTART_LOG_FORMAT"}},
		{"redis url", nil, map[string]string{"REDIS_URL": "not-a-url"}, []string{"REDIS_URL"}},
		{"base url", nil, map[string]string{"GEELARK_BASE_URL": "ftp://example.com"}, []string{"GEELARK_BASE_URL"}},
		{"base url with user info", nil, map[string]string{"GEELARK_BASE_URL": "https://me@example.com"},
			[]string{"GEELARK_BASE_URL"}},
		{"no credentials", nil, map[string]string{"GEELARK_APP_ID": "", "GEELARK_API_KEY": ""},
			[]string{"GEELARK_APP_ID", "GEELARK_TOKEN"}},
		{"key and token", nil, map[string]string{"GEELARK_TOKEN": secretToken}, []string{"GEELARK_TOKEN", "not both"}},
		{"key without app ID", nil, map[string]string{"GEELARK_APP_ID": ""}, []string{"GEELARK_APP_ID"}},
		{"flag over a good variable", []string{"--batch-size", "500"}, nil, []string{"--batch-size", "1..200"}},
		{"unexpected argument", []string{"now"}, nil, []string{`"now"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.env = h.with(creds)
			env := h.with(tc.env)
			// An accepted configuration would run until cancelled; runEnv
			// fails the test if the command does not return.
			o := h.runEnv(env, "", append([]string{"worker"}, tc.args...)...)
			if o.code != 2 {
				t.Fatalf("want exit 2, got %v", o)
			}
			for _, w := range tc.want {
				if !strings.Contains(o.stderr, w) {
					t.Errorf("stderr %q does not name %q", o.stderr, w)
				}
			}
			if strings.Contains(o.stderr, "worker started") {
				t.Errorf("the worker started: %s", o.stderr)
			}
			if servers, err := h.insp.Servers(); err != nil || len(servers) != 0 {
				t.Errorf("asynq servers in Redis: %v (%v), want none", servers, err)
			}
			for _, secret := range []string{secretKey, secretToken} {
				if strings.Contains(o.stdout+o.stderr, secret) {
					t.Errorf("output shows a credential: %v", o)
				}
			}
		})
	}
}

func TestBadRedisURLIsRefusedByEveryCommand(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	env := h.with(map[string]string{"REDIS_URL": "not-a-url"})
	for _, args := range [][]string{
		{"enqueue", "5577001"},
		{"status"},
		{"dead", "list"},
		{"dead", "purge", "--all"},
	} {
		o := h.runEnv(env, "", args...)
		if o.code != 2 || !strings.Contains(o.stderr, "REDIS_URL") {
			t.Errorf("phonestart %q with REDIS_URL=not-a-url: %v", args, o)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		args []string
		code int
		want string // in the output
	}{
		{[]string{"help"}, 0, "phonestart enqueue"},
		{nil, 2, "phonestart worker"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"enqueue", "-h"}, 0, "-width"},
		{[]string{"dead"}, 2, "list, requeue or purge"},
		{[]string{"dead", "bury"}, 2, `"bury"`},
		{[]string{"dead", "requeue"}, 2, "--all"},
		{[]string{"dead", "purge", "--all", "5577001"}, 2, "one or the other"},
		{[]string{"dead", "requeue", "bad id"}, 2, "whitespace"},
		{[]string{"status", "extra"}, 2, `"extra"`},
	}
	for _, tc := range cases {
		o := h.run("", tc.args...)
		if o.code != tc.code || !strings.Contains(o.stdout+o.stderr, tc.want) {
			t.Errorf("phonestart %q: want exit %d and %q; got %v", tc.args, tc.code, tc.want, o)
		}
	}
}
