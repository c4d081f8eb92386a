package logtest_test

import (
	"strings"
	"testing"

	"github.com/phonestart/phonestart/internal/logging/logtest"
)

func TestDuplicateKey(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{`{"msg":"a","code":1}`, ""},
		{`{"msg":"GeeLark account problem","code":40003,"msg":"signature verification failed"}`, "msg"},
		{`{"a":{"b":1,"b":2}}`, "a.b"},
		{`{"a":[{"x":1},{"x":2,"y":3,"x":4}]}`, "a[1].x"},
		{`{"a":{"msg":1},"msg":2}`, ""}, // the same name in two objects is fine
		{`[1,"x",null,{"k":true}]`, ""},
	}
	for _, tc := range cases {
		got, err := logtest.DuplicateKey([]byte(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("DuplicateKey(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := logtest.DuplicateKey([]byte(`{"a":`)); err == nil {
		t.Error("truncated JSON: no error")
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("5577001234,", 100)
	log := `{"level":"info","msg":"ok"}
redis: 2026/11/30 pool.go:770: connection pool: failed to dial
{"level":"error","msg":"a","code":40003,"msg":"b"}
{"level":"info","msg":"start call","ids":"` + long + `"}
{"level":"warn","msg":"many","ids":"` + long + `"}
`
	probs := logtest.Check(log)
	var whys []string
	for _, p := range probs {
		whys = append(whys, p.String())
	}
	if len(probs) != 3 || probs[0].Line != 2 || probs[1].Line != 3 || probs[2].Line != 4 {
		t.Fatalf("problems:\n%s\nwant lines 2 (not JSON), 3 (msg twice), 4 (long info line)", strings.Join(whys, "\n"))
	}
	if !strings.Contains(probs[1].Why, `"msg" twice`) || !strings.Contains(probs[2].Why, "info line of") {
		t.Errorf("problems:\n%s", strings.Join(whys, "\n"))
	}
}
