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
