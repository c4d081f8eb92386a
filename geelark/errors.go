package geelark

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// APIError is a call-level error: GeeLark read the request and answered with
// a code other than 0. A start call answered so started no phone, unless the
// code is one of the batch summary codes (40006, 40009) that StartPhones
// turns into per-phone outcomes instead.
type APIError struct {
	Code    int    // GeeLark's code, see Lookup
	Msg     string // GeeLark's message
	TraceID string // the traceId of the call
}

func (e *APIError) Error() string {
	return fmt.Sprintf("geelark %d: %s (traceId %s)", e.Code, e.Msg, e.TraceID)
}

// Class is the class of the error's code.
func (e *APIError) Class() Class { return Lookup(e.Code).Class }

// TransportError means the outcome of a call is unknown: it timed out, the
// connection was refused or dropped, the status was not 200, or the body
// could not be read or parsed. Any of a start call's phones may have
// started.
type TransportError struct {
	Op         string // what failed: "send", "status", "read", "decode"
	StatusCode int    // HTTP status when Op is "status", else 0
	TraceID    string // the traceId that was sent
	Err        error  // the underlying error, if any
}

func (e *TransportError) Error() string {
	msg := "geelark: outcome unknown: " + e.Op
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(" HTTP %d", e.StatusCode)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg + " (traceId " + e.TraceID + ")"
}

func (e *TransportError) Unwrap() error { return e.Err }

// IsOutcomeUnknown reports whether err means the call may or may not have
// reached GeeLark: a *TransportError. A context cancelled or timed out
// during a call is one (it wraps the context's error); a bare context error
// from elsewhere, such as a rate limiter's wait, is not.
func IsOutcomeUnknown(err error) bool {
	var te *TransportError
	return errors.As(err, &te)
}

// The errors below say that the base URL, not GeeLark, is the trouble:
// the call went to another server, to none, or over TLS that failed. Each
// is wrapped in a *TransportError (the outcome of a call is still unknown
// to a caller that does not look further) and is told apart with
// errors.As. None carries any part of a reply's body: a server that echoes
// requests would fill it with the credentials.

// ForeignReplyError means a server answered at the base URL, but not as
// GeeLark's API does: HTTP 404, 405 or 501, or a 200 whose body is not GeeLark's JSON
// envelope (an HTML page, JSON of another shape). The base URL most likely
// names another server, or a path it should not have. A reply cut short,
// an HTTP 5xx or an unknown code are not foreign: GeeLark answers so in
// trouble.
type ForeignReplyError struct {
	StatusCode  int    // the reply's HTTP status
	ContentType string // the reply's Content-Type, "" when it had none
	Err         error  // why the body is not GeeLark's envelope; nil for a 404, 405 or 501
}

func (e *ForeignReplyError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("not GeeLark's API (content type %q)", e.ContentType)
}

func (e *ForeignReplyError) Unwrap() error { return e.Err }

// ResolveError means the base URL's host name did not resolve: a mistyped
// host, or DNS trouble that may pass.
type ResolveError struct {
	Host string // the host name looked up
	Err  error  // the dial's error, wrapping a *net.DNSError
}

func (e *ResolveError) Error() string { return e.Err.Error() }

func (e *ResolveError) Unwrap() error { return e.Err }

// TLSError means the TLS handshake with the server at an https base URL
// failed: the server's certificate was refused, the server answered in
// plain HTTP, or it spoke something other than TLS.
type TLSError struct {
	Host string // the base URL's host:port
	// PlainHTTP: the server answered the handshake in plain HTTP: the
	// base URL says https for a server that speaks http.
	PlainHTTP bool
	// Certificate: the server's certificate was refused (an unknown
	// authority, another host's, expired).
	Certificate bool
	Err         error // the handshake's error
}

func (e *TLSError) Error() string { return e.Err.Error() }

func (e *TLSError) Unwrap() error { return e.Err }

// sendError is the typed error of a request that got no reply: a
// *ResolveError or a *TLSError when the cause says so, else err.
func sendError(host string, err error) error {
	var (
		cve *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		rh  tls.RecordHeaderError
		dns *net.DNSError
	)
	switch {
	case errors.Is(err, http.ErrSchemeMismatch):
		return &TLSError{Host: host, PlainHTTP: true, Err: err}
	case errors.As(err, &cve), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return &TLSError{Host: host, Certificate: true, Err: err}
	case errors.As(err, &rh):
		return &TLSError{Host: host, Err: err}
	case errors.As(err, &dns):
		return &ResolveError{Host: dns.Name, Err: err}
	}
	return err
}
