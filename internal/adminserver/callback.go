package adminserver

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// CallbackPath is where the server accepts GeeLark's callbacks.
const CallbackPath = "/geelark/callback"

// Callbacks configures the callback endpoint: the key-mode credentials
// GeeLark signs its callbacks with (geelark.VerifyCallback).
type Callbacks struct {
	AppID  string
	APIKey string
}

// Outcomes of a callback, the outcome label of phonestart_callbacks_total.
const (
	callbackAccepted = "accepted"
	callbackRefused  = "refused"
)

// callbackMetrics counts the callbacks the server received.
type callbackMetrics struct {
	total *prometheus.CounterVec
}

func newCallbackMetrics(reg prometheus.Registerer) (*callbackMetrics, error) {
	m := &callbackMetrics{total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "phonestart_callbacks_total",
		Help: "GeeLark callbacks received at " + CallbackPath + ", by outcome (accepted, refused) and reason: " +
			"ready, failed, not_booting, ignored when accepted; the check that failed when refused.",
	}, []string{"outcome", "reason"})}
	// Exported at 0 from the start, so that an alert on their rate sees 0,
	// not nothing.
	for _, r := range []string{"ready", "failed", "not_booting", "ignored"} {
		m.total.WithLabelValues(callbackAccepted, r)
	}
	for c := geelark.CheckHeader; c <= geelark.CheckBody; c++ {
		m.total.WithLabelValues(callbackRefused, strings.ReplaceAll(c.String(), " ", "_"))
	}
	if reg != nil {
		if err := reg.Register(m.total); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// refusedReason names a failed check as a label value: "bad_signature".
func refusedReason(err error) string {
	var ce *geelark.CallbackError
	if errors.As(err, &ce) {
		return strings.ReplaceAll(ce.Check.String(), " ", "_")
	}
	return "other"
}

// callback verifies a GeeLark callback and applies a start event to the
// phone's boot: result true confirms it, false fails it. A callback that is
// unsigned, badly signed or signed more than geelark.MaxCallbackAge away
// from now is refused with 401 and changes nothing; a signed body that is
// not an event is refused with 400. Other event types are accepted and
// ignored.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	cb := s.cfg.Callbacks
	now := s.cfg.Now()
	refuse := func(status int, err error) {
		s.cbm.total.WithLabelValues(callbackRefused, refusedReason(err)).Inc()
		// The error names the check, never the key or the sign received.
		s.cfg.Logger.Warn("callback refused", zap.String("remote", r.RemoteAddr), zap.Error(err))
		http.Error(w, http.StatusText(status), status)
	}
	if err := geelark.VerifyCallback(r.Header, cb.AppID, cb.APIKey, now); err != nil {
		refuse(http.StatusUnauthorized, err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCallbackBody+1))
	if err != nil {
		refuse(http.StatusBadRequest, &geelark.CallbackError{Check: geelark.CheckBody, Err: err})
		return
	}
	ev, err := geelark.ParseCallbackEvent(body)
	if err != nil {
		refuse(http.StatusBadRequest, err)
		return
	}
	reason := "ignored"
	if ev.Type == geelark.CallbackStart {
		booting, err := s.store.Verdict(r.Context(), ev.ID, ev.Result)
		if err != nil {
			s.cfg.Logger.Error("callback: record the verdict", zap.String("id", ev.ID), zap.Error(err))
			http.Error(w, "cannot record the event", http.StatusInternalServerError)
			return
		}
		switch {
		case !booting:
			reason = "not_booting" // already settled, or not ours
		case ev.Result:
			reason = fleet.VerdictReady
		default:
			reason = fleet.VerdictFailed
		}
	}
	s.cbm.total.WithLabelValues(callbackAccepted, reason).Inc()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"code":0}`+"\n")
}

// maxCallbackBody is the most of a callback's body the server reads; the
// parser refuses more.
const maxCallbackBody = 64 << 10
