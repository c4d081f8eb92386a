package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Problem is an error answer, application/problem+json (RFC 9457). The
// handlers return it as their error; anything else they return is a 500
// whose detail says nothing of the cause (it is logged).
type Problem struct {
	// Type is one of the urn:phonestart:problem: URIs below.
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	// Field names the bad input: a body field ("ids[3]" counts from 1,
	// "options.width"), a query parameter or a header.
	Field string `json:"field,omitempty"`
	// Request is set on a 500 that came after a request was made, with
	// Enqueued its phones enqueued before the error.
	Request  string `json:"request,omitempty"`
	Enqueued *int   `json:"enqueued,omitempty"`
	// Pause is, on a 412 from a lift, the pause in force now.
	Pause *pauseJSON `json:"pause,omitempty"`

	// retryAfter, when positive, is sent as Retry-After (seconds).
	retryAfter int
	// header, when set, is added to the answer (WWW-Authenticate, Allow).
	header http.Header
}

func (p *Problem) Error() string {
	if p.Field != "" {
		return fmt.Sprintf("%d %s: %s: %s", p.Status, p.Title, p.Field, p.Detail)
	}
	return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
}

// Problem types. docs/api.md says what each means and what to do.
const (
	ProblemInvalid          = "urn:phonestart:problem:invalid-input"
	ProblemMalformed        = "urn:phonestart:problem:malformed-json"
	ProblemUnauthorized     = "urn:phonestart:problem:unauthorized"
	ProblemForbidden        = "urn:phonestart:problem:forbidden"
	ProblemNotFound         = "urn:phonestart:problem:not-found"
	ProblemMethod           = "urn:phonestart:problem:method-not-allowed"
	ProblemKeyReused        = "urn:phonestart:problem:idempotency-key-reused"
	ProblemKeyInUse         = "urn:phonestart:problem:idempotency-key-in-use"
	ProblemPauseChanged     = "urn:phonestart:problem:pause-changed"
	ProblemTooLarge         = "urn:phonestart:problem:too-large"
	ProblemMediaType        = "urn:phonestart:problem:unsupported-media-type"
	ProblemPreconditionNeed = "urn:phonestart:problem:precondition-required"
	ProblemRateLimited      = "urn:phonestart:problem:rate-limited"
	ProblemInternal         = "urn:phonestart:problem:internal"
)

var titles = map[string]string{
	ProblemInvalid:          "Invalid input",
	ProblemMalformed:        "Malformed JSON",
	ProblemUnauthorized:     "Unauthorized",
	ProblemForbidden:        "Forbidden",
	ProblemNotFound:         "Not found",
	ProblemMethod:           "Method not allowed",
	ProblemKeyReused:        "Idempotency-Key reused",
	ProblemKeyInUse:         "Idempotency-Key in use",
	ProblemPauseChanged:     "Pause changed",
	ProblemTooLarge:         "Too large",
	ProblemMediaType:        "Unsupported media type",
	ProblemPreconditionNeed: "Precondition required",
	ProblemRateLimited:      "Too many requests",
	ProblemInternal:         "Internal error",
}

var statuses = map[string]int{
	ProblemInvalid:          http.StatusBadRequest,
	ProblemMalformed:        http.StatusBadRequest,
	ProblemUnauthorized:     http.StatusUnauthorized,
	ProblemForbidden:        http.StatusForbidden,
	ProblemNotFound:         http.StatusNotFound,
	ProblemMethod:           http.StatusMethodNotAllowed,
	ProblemKeyReused:        http.StatusConflict,
	ProblemKeyInUse:         http.StatusConflict,
	ProblemPauseChanged:     http.StatusPreconditionFailed,
	ProblemTooLarge:         http.StatusRequestEntityTooLarge,
	ProblemMediaType:        http.StatusUnsupportedMediaType,
	ProblemPreconditionNeed: http.StatusPreconditionRequired,
	ProblemRateLimited:      http.StatusTooManyRequests,
	ProblemInternal:         http.StatusInternalServerError,
}

// problem returns a Problem of type typ about field.
func problem(typ, field, format string, args ...any) *Problem {
	return &Problem{Type: typ, Title: titles[typ], Status: statuses[typ], Field: field, Detail: fmt.Sprintf(format, args...)}
}

// invalid is a 400 naming field.
func invalid(field, format string, args ...any) *Problem {
	return problem(ProblemInvalid, field, format, args...)
}

// writeProblem writes p.
func writeProblem(w http.ResponseWriter, p *Problem) {
	h := w.Header()
	for k, vs := range p.header {
		h[k] = vs
	}
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	writeJSON(w, p.Status, "application/problem+json", p)
}

// writeJSON writes v as the answer.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every answer is a struct of plain fields: this cannot happen.
		status, contentType = http.StatusInternalServerError, "application/problem+json"
		b = []byte(`{"type":"` + ProblemInternal + `","title":"Internal error","status":500,"detail":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
