package redisconn

import (
	"errors"
	"strings"
	"testing"
)

const secret = "s3cret-never-show"

func TestParseRefusesBadURLsClearly(t *testing.T) {
	t.Parallel()
	cases := []struct {
		url  string
		want []string // in the message, each
	}{
		{"127.0.0.1:6399", []string{"REDIS_URL", "no scheme", "write redis://127.0.0.1:6399/0"}},
		{"localhost:6379", []string{"no scheme", "write redis://localhost:6379/0"}},
		{":" + secret + "@10.0.0.1:6379/2", []string{"no scheme", "redis://[user:]password@10.0.0.1:6379/2"}},
		{"not-a-url", []string{"no scheme", "redis://host:port/db"}},
		{"", []string{"REDIS_URL", "empty"}},
		{"http://127.0.0.1:6379", []string{`scheme "http"`, "redis+sentinel://"}},
		{"redis://:" + secret + "@127.0.0.1:6379/x", []string{"REDIS_URL", "database"}},
		{"redis://:" + secret + "@[::1:6379/0", []string{"REDIS_URL"}},
		{"redis+sentinel://:" + secret + "@127.0.0.1:26379", []string{"no master name", "/MASTER"}},
		{"redis+sentinel://:" + secret + "@/mymaster", []string{"no Sentinel address"}},
		{"redis+sentinel://:" + secret + "@h1:26379,h2:port/mymaster", []string{`"h2:port"`, "host:port"}},
		{"redis+sentinel://h1:26379/mymaster/zero", []string{`"zero"`, "database"}},
		{"redis+sentinel://h1:26379/mymaster/0/1", []string{"more than a master name"}},
		{"redis+sentinel://h1:26379/mymaster?password=" + secret, []string{`"password"`, "sentinel_password"}},
	}
	for _, tc := range cases {
		_, err := parse(DefaultName, tc.url)
		var e *Error
		if !errors.As(err, &e) || e.Kind != BadURL || !e.Config() {
			t.Errorf("parse(%q) = %v, want a BadURL *Error", tc.url, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("parse(%q): %q does not say %q", tc.url, err, w)
			}
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("parse(%q): %q shows the password", tc.url, err)
		}
	}
}

func TestParseSentinelURL(t *testing.T) {
	t.Parallel()
	tg, err := parse(DefaultName, "redis+sentinel://:"+secret+"@h1:26380,h2,[::1]:26381,[::2]/mymaster/3?sentinel_password=sp")
	if err != nil {
		t.Fatal(err)
	}
	fo := tg.failover
	if fo == nil || tg.opt != nil {
		t.Fatalf("parse gave %+v, want failover options", tg)
	}
	want := []string{"h1:26380", "h2:26379", "[::1]:26381", "[::2]:26379"}
	if strings.Join(fo.SentinelAddrs, " ") != strings.Join(want, " ") {
		t.Errorf("Sentinels %v, want %v", fo.SentinelAddrs, want)
	}
	if fo.MasterName != "mymaster" || fo.DB != 3 || fo.Password != secret || fo.SentinelPassword != "sp" || fo.Username != "" {
		t.Errorf("master %q db %d password %q sentinel password %q user %q", fo.MasterName, fo.DB, fo.Password, fo.SentinelPassword, fo.Username)
	}
	if a := tg.addr(); strings.Contains(a, secret) || !strings.Contains(a, "mymaster") || !strings.Contains(a, "h1:26380") {
		t.Errorf("addr() = %q: want the master and its Sentinels, no password", a)
	}
}

func TestParseSingleRedisURLs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		url, addr string
		db        int
		tls       bool
	}{
		{"redis://127.0.0.1:6379/2", "127.0.0.1:6379", 2, false},
		{"rediss://:" + secret + "@redis.example.com:6380/0", "redis.example.com:6380", 0, true},
		{"unix:///run/redis.sock?db=4", "unix:/run/redis.sock", 4, false},
	}
	for _, tc := range cases {
		tg, err := parse(DefaultName, tc.url)
		if err != nil {
			t.Errorf("parse(%q): %v", tc.url, err)
			continue
		}
		if tg.opt == nil || tg.addr() != tc.addr || tg.opt.DB != tc.db || (tg.tlsConfig() != nil) != tc.tls {
			t.Errorf("parse(%q) = %+v (addr %q), want addr %q db %d tls %v", tc.url, tg.opt, tg.addr(), tc.addr, tc.db, tc.tls)
		}
	}
}

func TestDescribeShowsNoPassword(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"redis://:" + secret + "@10.0.0.1:6379/0":                            "10.0.0.1:6379",
		"redis+sentinel://:" + secret + "@s1:26379,s2/mymaster/1":            `master "mymaster" via Sentinel s1:26379,s2:26379`,
		"unix://:" + secret + "@/run/redis.sock":                             "unix:/run/redis.sock",
		"127.0.0.1:" + secret:                                                "",
		"redis+sentinel://s1/m?sentinel_password=" + secret + "&x=" + secret: "",
	}
	for url, want := range cases {
		if got := Describe(url); got != want {
			t.Errorf("Describe(%q) = %q, want %q", url, got, want)
		}
	}
}
