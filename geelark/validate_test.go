package geelark_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// countingTransport counts requests and fails them.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n.Add(1)
	return nil, errors.New("no request was expected")
}

func phoneIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("5223400000000%05d", i)
	}
	return ids
}

func TestInvalidRequestsAreNotSent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ids  []string
		opts geelark.StartOptions
	}{
		{"no IDs", nil, geelark.StartOptions{}},
		{"201 IDs", phoneIDs(201), geelark.StartOptions{}},
		{"empty ID", []string{"p1", ""}, geelark.StartOptions{}},
		{"duplicate ID", []string{"p1", "p2", "p1"}, geelark.StartOptions{}},
		{"ID with a space", []string{"p 1"}, geelark.StartOptions{}},
		{"ID with a trailing newline", []string{"p1\n"}, geelark.StartOptions{}},
		{"ID with a tab", []string{"p\t1"}, geelark.StartOptions{}},
		{"ID with a no-break space", []string{"p1\u00a0"}, geelark.StartOptions{}},
		{"ID of 65 bytes", []string{strings.Repeat("1", 65)}, geelark.StartOptions{}},
		{"width 900", []string{"p1"}, geelark.StartOptions{Width: 900}},
		{"width 199", []string{"p1"}, geelark.StartOptions{Width: 199}},
		{"width -1", []string{"p1"}, geelark.StartOptions{Width: -1}},
		{"center 2", []string{"p1"}, geelark.StartOptions{Center: ptr(2)}},
		{"center -1", []string{"p1"}, geelark.StartOptions{Center: ptr(-1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := &countingTransport{}
			c := newClient(t, geelark.Config{BaseURL: "http://127.0.0.1:9", Token: testToken,
				HTTPClient: &http.Client{Transport: rt}}, nil)
			res, err := c.StartPhones(context.Background(), tt.ids, tt.opts)
			if !errors.Is(err, geelark.ErrInvalidRequest) {
				t.Fatalf("err %v, want ErrInvalidRequest", err)
			}
			if res != nil {
				t.Errorf("result %+v with an invalid request", res)
			}
			if geelark.IsOutcomeUnknown(err) {
				t.Error("an unsent request is reported as outcome unknown")
			}
			var ae *geelark.APIError
			if errors.As(err, &ae) {
				t.Error("an unsent request is reported as an APIError")
			}
			if n := rt.n.Load(); n != 0 {
				t.Errorf("%d requests sent, want 0", n)
			}
		})
	}
}

// The limits the client enforces are the ones the fake accepts.
func TestBoundaryRequestsAreAccepted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ids  []string
		opts geelark.StartOptions
	}{
		{"200 IDs", phoneIDs(200), geelark.StartOptions{}},
		{"ID of 64 bytes", []string{strings.Repeat("1", 64)}, geelark.StartOptions{}},
		{"width 200", []string{"p1"}, geelark.StartOptions{Width: 200}},
		{"width 600", []string{"p1"}, geelark.StartOptions{Width: 600}},
		{"center 0", []string{"p1"}, geelark.StartOptions{Center: ptr(0)}},
		{"center 1", []string{"p1"}, geelark.StartOptions{Center: ptr(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, geelarktest.Config{})
			res, err := tokenClient(t, srv, nil).StartPhones(context.Background(), tt.ids, tt.opts)
			if err != nil {
				t.Fatalf("StartPhones: %v", err)
			}
			for _, o := range res.Outcomes {
				if o.Status != geelark.StatusStarted {
					t.Fatalf("outcome %+v, want started", o)
				}
			}
		})
	}
}

// Status, stop and callback calls refuse bad input without a request, and
// accept what the fake accepts at their limits.
func TestInvalidStatusStopAndCallbackAreNotSent(t *testing.T) {
	t.Parallel()
	type call func(*geelark.Client) error
	status := func(ids []string) call {
		return func(c *geelark.Client) error {
			res, err := c.StatusPhones(context.Background(), ids)
			if res != nil {
				t.Errorf("result %+v with an invalid request", res)
			}
			return err
		}
	}
	stop := func(ids []string) call {
		return func(c *geelark.Client) error {
			res, err := c.StopPhones(context.Background(), ids)
			if res != nil {
				t.Errorf("result %+v with an invalid request", res)
			}
			return err
		}
	}
	callback := func(url string) call {
		return func(c *geelark.Client) error { return c.SetCallback(context.Background(), url) }
	}
	tests := []struct {
		name string
		call call
	}{
		{"status without IDs", status(nil)},
		{"status of 101 IDs", status(phoneIDs(101))},
		{"status with a duplicate", status([]string{"p1", "p1"})},
		{"status with a bad ID", status([]string{"p 1"})},
		{"stop without IDs", stop(nil)},
		{"stop of 201 IDs", stop(phoneIDs(geelark.MaxStopIDs + 1))},
		{"stop with a duplicate", stop([]string{"p1", "p2", "p1"})},
		{"stop with an empty ID", stop([]string{""})},
		{"callback to nothing", callback("")},
		{"callback to a path", callback("/geelark/callback")},
		{"callback over ftp", callback("ftp://example.com/cb")},
		{"callback with user info", callback("https://user:pw@example.com/cb")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := &countingTransport{}
			c := newClient(t, geelark.Config{BaseURL: "http://127.0.0.1:9", Token: testToken,
				HTTPClient: &http.Client{Transport: rt}}, nil)
			err := tt.call(c)
			if !errors.Is(err, geelark.ErrInvalidRequest) {
				t.Fatalf("err %v, want ErrInvalidRequest", err)
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Errorf("error %q shows the URL's password", err)
			}
			if n := rt.n.Load(); n != 0 {
				t.Errorf("%d requests sent, want 0", n)
			}
		})
	}
}

func TestStatusAndStopLimitsAreAccepted(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	c := keyClient(t, srv, nil)
	if _, err := c.StatusPhones(context.Background(), phoneIDs(geelark.MaxStatusIDs)); err != nil {
		t.Errorf("StatusPhones(%d IDs): %v", geelark.MaxStatusIDs, err)
	}
	if _, err := c.StopPhones(context.Background(), phoneIDs(geelark.MaxStopIDs)); err != nil {
		t.Errorf("StopPhones(%d IDs): %v", geelark.MaxStopIDs, err)
	}
}

// A bad option names its field in a typed error, through StartPhones too,
// with the message it always had.
func TestOptionErrorNamesTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opts       geelark.StartOptions
		field, msg string
	}{
		{geelark.StartOptions{Width: 900}, "width", "width 900 is outside 200..600"},
		{geelark.StartOptions{Width: 199}, "width", "width 199 is outside 200..600"},
		{geelark.StartOptions{Center: ptr(2)}, "center", "center 2 is not 0 or 1"},
		{geelark.StartOptions{Width: 100, Center: ptr(2)}, "width", "width 100 is outside 200..600"},
	}
	for _, tt := range tests {
		err := tt.opts.Validate()
		var oe *geelark.OptionError
		if !errors.As(err, &oe) || oe.Field != tt.field || err.Error() != tt.msg {
			t.Errorf("Validate(%+v) = %v (%T), want *OptionError{Field: %q} %q", tt.opts, err, err, tt.field, tt.msg)
			continue
		}
		rt := &countingTransport{}
		c := newClient(t, geelark.Config{BaseURL: "http://127.0.0.1:9", Token: testToken,
			HTTPClient: &http.Client{Transport: rt}}, nil)
		_, err = c.StartPhones(context.Background(), []string{"p1"}, tt.opts)
		oe = nil
		if !errors.As(err, &oe) || oe.Field != tt.field || !errors.Is(err, geelark.ErrInvalidRequest) {
			t.Errorf("StartPhones with %+v: %v, want ErrInvalidRequest and *OptionError{Field: %q}", tt.opts, err, tt.field)
		}
		if want := "geelark: start: invalid request: " + tt.msg; err.Error() != want {
			t.Errorf("StartPhones error %q, want %q", err, want)
		}
	}
	if err := (geelark.StartOptions{Width: 336, Center: ptr(1)}).Validate(); err != nil {
		t.Errorf("valid options: %v", err)
	}
}
