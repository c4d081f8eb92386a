package tasks

import (
	"errors"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/geelark"
)

func TestNewStartTaskRoundTrip(t *testing.T) {
	t.Parallel()
	one := 1
	opts := geelark.StartOptions{Width: 400, Center: &one, HideMirror: true}
	task, err := NewStartTask("557712345678901234", opts)
	if err != nil {
		t.Fatal(err)
	}
	if task.Type() != TypeStartPhone {
		t.Fatalf("type %q, want %q", task.Type(), TypeStartPhone)
	}
	want := `{"id":"557712345678901234","options":{"width":400,"center":1,"hide_mirror":true}}`
	if got := string(task.Payload()); got != want {
		t.Fatalf("payload %s\nwant    %s", got, want)
	}
	p, err := ParseStartPhone(task.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "557712345678901234" || p.Options.Key() != opts.Key() {
		t.Fatalf("round trip: %+v", p)
	}
}

func TestNewStartTaskRefusesBadInput(t *testing.T) {
	t.Parallel()
	two := 2
	for name, tc := range map[string]struct {
		id   string
		opts geelark.StartOptions
	}{
		"empty id":     {id: ""},
		"space in id":  {id: "12 34"},
		"newline":      {id: "1234\n"},
		"long id":      {id: string(make([]byte, 65))},
		"width 900":    {id: "1", opts: geelark.StartOptions{Width: 900}},
		"center 2":     {id: "1", opts: geelark.StartOptions{Center: &two}},
		"width 199":    {id: "1", opts: geelark.StartOptions{Width: 199}},
		"control char": {id: "12\x0034"},
	} {
		if _, err := NewStartTask(tc.id, tc.opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseStartPhoneBadPayloadSkipsRetry(t *testing.T) {
	t.Parallel()
	for _, payload := range []string{`{`, `{"id":""}`, `{"id":"1","options":{"width":5}}`, `[]`} {
		_, err := ParseStartPhone([]byte(payload))
		if !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("payload %s: err %v does not wrap SkipRetry", payload, err)
		}
	}
}
