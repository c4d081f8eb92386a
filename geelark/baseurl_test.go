package geelark_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// A base URL that leads elsewhere than GeeLark's API gives an error that
// says which mistake it is, as a type: the start-up check tells a
// configuration to fix from an outage to wait out with errors.As. Every
// such error is still an unknown outcome to a start call.
func TestBaseURLMistakesAreTyped(t *testing.T) {
	t.Parallel()
	answer := func(status int, ctype, body string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ctype != "" {
				w.Header().Set("Content-Type", ctype)
			}
			w.WriteHeader(status)
			w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	plain := answer(200, "application/json", `{"code":0}`)
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(tlsSrv.Close)

	type want struct {
		foreign     bool
		status      int
		ctype       string
		resolve     string // the host that did not resolve
		plainHTTP   bool
		certificate bool
	}
	tests := []struct {
		name string
		base string
		want want
	}{
		{"404 page", answer(404, "text/html", "<html>Not Found</html>").URL,
			want{foreign: true, status: 404, ctype: "text/html"}},
		{"405: no POST here", answer(405, "text/html", "<html>Method Not Allowed</html>").URL,
			want{foreign: true, status: 405, ctype: "text/html"}},
		{"501: a file server", answer(501, "text/html", "<html>Unsupported method ('POST')</html>").URL,
			want{foreign: true, status: 501, ctype: "text/html"}},
		{"HTML with 200", answer(200, "text/html; charset=utf-8", "<!doctype html><html>Welcome</html>").URL,
			want{foreign: true, status: 200, ctype: "text/html; charset=utf-8"}},
		{"JSON of another shape", answer(200, "application/json", `{"status":"ok","version":"2.1"}`).URL,
			want{foreign: true, status: 200, ctype: "application/json"}},
		{"JSON array", answer(200, "application/json", `[1,2,3]`).URL,
			want{foreign: true, status: 200, ctype: "application/json"}},
		{"unresolvable host", "http://geelark-openapi.invalid", want{resolve: "geelark-openapi.invalid"}},
		{"https to a plain-http server", strings.Replace(plain.URL, "http://", "https://", 1), want{plainHTTP: true}},
		{"untrusted certificate", tlsSrv.URL, want{certificate: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, geelark.Config{BaseURL: tt.base, Token: testToken}, nil)
			_, err := c.ListPhones(context.Background(), 1, 1, geelark.ListFilter{})
			if !geelark.IsOutcomeUnknown(err) {
				t.Fatalf("err %v (%T): want an unknown outcome (a *TransportError)", err, err)
			}
			var fe *geelark.ForeignReplyError
			var re *geelark.ResolveError
			var te *geelark.TLSError
			got := want{}
			if errors.As(err, &fe) {
				got.foreign, got.status, got.ctype = true, fe.StatusCode, fe.ContentType
			}
			if errors.As(err, &re) {
				got.resolve = re.Host
			}
			if errors.As(err, &te) {
				got.plainHTTP, got.certificate = te.PlainHTTP, te.Certificate
			}
			if got != tt.want {
				t.Errorf("err %v: got %+v, want %+v", err, got, tt.want)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q shows a secret", err)
				}
			}
		})
	}
}

// What GeeLark itself may answer in trouble is not taken for another
// server: an HTTP 500, a reply cut short, a JSON reply with an unknown
// code. The start-up check retries these rather than call the base URL
// wrong.
func TestGeeLarkTroubleIsNotAForeignReply(t *testing.T) {
	t.Parallel()
	for _, f := range []geelarktest.Fault{
		{Kind: geelarktest.Fault500},
		{Kind: geelarktest.FaultTruncated},
		{Kind: geelarktest.FaultDrop},
		{Kind: geelarktest.FaultCode, Code: 50000},
	} {
		t.Run(f.Kind.String(), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, geelarktest.Config{})
			srv.FailNext(1, f)
			_, err := keyClient(t, srv, nil).ListPhones(context.Background(), 1, 1, geelark.ListFilter{})
			if err == nil {
				t.Fatal("no error")
			}
			var fe *geelark.ForeignReplyError
			var re *geelark.ResolveError
			var te *geelark.TLSError
			if errors.As(err, &fe) || errors.As(err, &re) || errors.As(err, &te) {
				t.Errorf("err %v (%T) is called a base URL mistake", err, err)
			}
		})
	}
}
