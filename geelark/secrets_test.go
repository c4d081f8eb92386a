package geelark_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// TestNoSecretInErrors collects the error of every failure path, in both
// credential modes, and checks that none carries the API key or the token.
func TestNoSecretInErrors(t *testing.T) {
	t.Parallel()
	var errs []error
	collect := func(err error) {
		if err == nil {
			t.Helper()
			t.Fatal("a failure path returned no error")
		}
		errs = append(errs, err)
	}

	// Configuration.
	for _, cfg := range []geelark.Config{
		{AppID: testAppID, APIKey: testAPIKey, Token: testToken},
		{APIKey: testAPIKey},
		{AppID: testAPIKey}, // a key pasted into the wrong field
		{Token: testToken, BaseURL: "openapi.geelark.com"},
		{Token: testToken, CallTimeout: -time.Second},
	} {
		_, err := geelark.NewClient(cfg)
		collect(err)
	}

	type newClientFunc = func(*testing.T, *geelarktest.Server, func(*geelark.Config)) *geelark.Client
	for _, client := range []newClientFunc{keyClient, tokenClient} {
		srv := newServer(t, geelarktest.Config{Now: func() time.Time { return t0 }})
		c := client(t, srv, func(c *geelark.Config) { c.Now = func() time.Time { return t0 } })

		// Wrong credentials, on both sides of the comparison.
		_, err := start(t, client(t, srv, func(c *geelark.Config) {
			c.Now = func() time.Time { return t0 }
			if c.Token != "" {
				c.Token += "-wrong"
			} else {
				c.APIKey += "-wrong"
			}
		}), "p1")
		collect(err)
		if c.AuthMode() == "key" {
			_, err = start(t, client(t, srv, nil), "p1") // ts far from the fake's clock
			collect(err)
		}

		// Invalid requests.
		for _, ids := range [][]string{nil, phoneIDs(201), {""}, {"a", "a"}, {"a b"}} {
			_, err := start(t, c, ids...)
			collect(err)
		}
		for _, opts := range []geelark.StartOptions{{Width: 900}, {Center: ptr(2)}} {
			_, err := c.StartPhones(context.Background(), []string{"p1"}, opts)
			collect(err)
		}

		// Call-level codes and the rate budget.
		srv.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40007})
		_, err = start(t, c, "p1")
		collect(err)
		for _, cfg := range []geelarktest.Config{{RatePerMinute: 1}, {RatePerHour: 1}} {
			lc := client(t, newServer(t, cfg), nil)
			mustStart(t, lc, "p1")
			_, err := start(t, lc, "p1")
			collect(err)
		}

		// The list endpoint: wrong credentials, invalid requests, a code and
		// unknown outcomes, through ListPhones and ListAll.
		bad := client(t, srv, func(c *geelark.Config) {
			c.Now = func() time.Time { return t0 }
			if c.Token != "" {
				c.Token += "-wrong"
			} else {
				c.APIKey += "-wrong"
			}
		})
		_, err = bad.ListPhones(context.Background(), 1, 10, geelark.ListFilter{})
		collect(err)
		for _, tt := range []struct {
			page, size int
			f          geelark.ListFilter
		}{{0, 10, geelark.ListFilter{}}, {1, 101, geelark.ListFilter{}}, {1, 10, geelark.ListFilter{Tags: []string{""}}}} {
			_, err := c.ListPhones(context.Background(), tt.page, tt.size, tt.f)
			collect(err)
		}
		for _, fault := range []geelarktest.Fault{
			{Kind: geelarktest.FaultCode, Code: 40007}, {Kind: geelarktest.Fault500},
			{Kind: geelarktest.FaultTruncated}, {Kind: geelarktest.FaultDrop},
		} {
			srv.FailNext(1, fault)
			_, err := c.ListAll(context.Background(), geelark.ListFilter{GroupName: "g"}, nil)
			collect(err)
		}

		// The status, stop and callback endpoints: wrong credentials,
		// invalid requests and faults.
		ctx := context.Background()
		_, err = bad.StatusPhones(ctx, []string{"p1"})
		collect(err)
		_, err = bad.StopPhones(ctx, []string{"p1"})
		collect(err)
		collect(bad.SetCallback(ctx, "https://example.com/cb"))
		_, err = c.StatusPhones(ctx, phoneIDs(101))
		collect(err)
		_, err = c.StopPhones(ctx, nil)
		collect(err)
		collect(c.SetCallback(ctx, "https://user:"+testAPIKey+"@example.com/cb"))
		collect(c.SetCallback(ctx, "http://u:"+testToken+"@exa mple.com/cb"))
		for _, fault := range []geelarktest.Fault{{Kind: geelarktest.Fault500}, {Kind: geelarktest.FaultTruncated}} {
			srv.FailNext(3, fault)
			_, err := c.StatusPhones(ctx, []string{"p1"})
			collect(err)
			_, err = c.StopPhones(ctx, []string{"p1"})
			collect(err)
			collect(c.SetCallback(ctx, "https://example.com/cb"))
		}
		h := map[string][]string{}
		geelarktest.SignCallback(h, testAppID, testAPIKey, t0.Add(-time.Hour))
		collect(geelark.VerifyCallback(h, testAppID, testAPIKey, t0))
		geelarktest.SignCallback(h, testAppID, testAPIKey+"-wrong", t0)
		collect(geelark.VerifyCallback(h, testAppID, testAPIKey, t0))

		// Unknown outcomes.
		for _, tc := range transportCases {
			_, err := runTransportCase(t, tc, client)
			collect(err)
		}
		closed := geelarktest.NewServer(geelarktest.Config{})
		closed.Close()
		_, err = start(t, client(t, closed, nil), "p1")
		collect(err)
	}

	for _, err := range errs {
		for _, form := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			for _, s := range secrets {
				if strings.Contains(form, s) {
					t.Errorf("error carries a secret: %s", form)
				}
			}
		}
	}
	if len(errs) < 40 {
		t.Errorf("only %d errors collected", len(errs))
	}
}
