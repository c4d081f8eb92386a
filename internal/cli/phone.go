package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// phoneView is what `phone --json` prints: the phone's record, its
// dead-letter entries and its events still in the stream.
type phoneView struct {
	ID       string            `json:"id"`
	State    string            `json:"state"`
	Action   string            `json:"action"`
	Since    time.Time         `json:"since"`
	Attempt  int               `json:"attempt"`
	Code     int               `json:"code"`
	Reason   string            `json:"reason"`
	Msg      string            `json:"msg"`
	URL      string            `json:"url"`
	Due      *time.Time        `json:"due"`   // a scheduled start, a retry or a stop: when it comes due
	Guard    *time.Time        `json:"guard"` // a ready phone: when the billing guard stops it
	Requests []string          `json:"requests"`
	Labels   []string          `json:"labels"`
	Dead     []fleet.DeadPhone `json:"dead"` // its ledger entries: a failed start, a failed stop
	Boot     *fleet.Boot       `json:"boot"` // when booting
	History  []eventJSON       `json:"history"`
	events   []fleet.Event     // History as read
}

func runPhone(ctx context.Context, args []string, env Env) error {
	s := newSettings("phone", env)
	var rf redisFlags
	rf.register(s, redisURL)
	var asJSON bool
	s.Bool(&asJSON, "json", "print the state and history as one JSON object: "+jsonShape(phoneView{}))
	pos, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return bad("phone takes one phone ID, got %d arguments", len(pos))
	}
	id := pos[0]
	if err := geelark.ValidateID(id); err != nil {
		return bad("%v", err)
	}
	c, err := rf.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	v, err := readPhone(ctx, c.store, id)
	if err != nil {
		return err
	}
	if v.State == "" {
		return fmt.Errorf("phone %s: phonestart knows nothing of it: never enqueued here, or it ended more than %v ago (its record expired)",
			id, c.store.Retention())
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(v)
	}
	printPhone(env.Stdout, v, time.Now())
	return nil
}

// readPhone gathers what Redis holds of one phone: its record, its ledger
// entries and its events still in the stream.
func readPhone(ctx context.Context, st *fleet.Store, id string) (phoneView, error) {
	v := phoneView{ID: id, History: []eventJSON{}, Dead: []fleet.DeadPhone{}}
	p, err := st.Phone(ctx, id)
	if err != nil {
		return v, fmt.Errorf("read the record of %s: %w", id, err)
	}
	if p.Known() {
		v.State, v.Action, v.Since, v.Attempt, v.Code, v.Reason, v.Msg, v.URL = p.State, p.Action, p.Since, p.Attempt, p.Code, p.Reason, p.Msg, p.URL
		v.Requests, v.Labels = nonNil(p.Requests), nonNil(p.Labels)
		if !p.Due.IsZero() {
			v.Due = &p.Due
		}
		if !p.Guard.IsZero() {
			v.Guard = &p.Guard
		}
		if p.State == fleet.StateBooting {
			v.Boot = &p.Boot
		}
	}
	dead, err := st.Ledger().Get(ctx, id)
	if err != nil {
		return v, err
	}
	v.Dead = append(v.Dead, dead...)
	if v.State == "" && len(dead) > 0 { // its record expired; its entry stays until purged
		d := dead[0]
		v.State, v.Action, v.Since, v.Attempt, v.Code, v.Reason, v.Msg = fleet.StateDead, d.Action, d.FailedAt, d.Attempts, d.Code, d.Reason, d.Msg
	}
	// The stream is not indexed by phone: read it all (at most
	// PHONESTART_EVENTS_MAX entries), a page at a time.
	j := st.Events()
	for after := "0"; ; {
		evs, err := j.Read(ctx, after, eventsPage, 0)
		if err != nil {
			return v, fmt.Errorf("read the events stream %s: %w", st.Space().EventsKey(), err)
		}
		for _, e := range evs {
			after = e.StreamID
			if e.Phone == id {
				v.events = append(v.events, e)
				v.History = append(v.History, toEventJSON(e))
			}
		}
		if len(evs) < eventsPage {
			break
		}
	}
	return v, nil
}

// printPhone writes one phone's state, readable, then its history.
func printPhone(w io.Writer, v phoneView, now time.Time) {
	since := "since " + clockTime(v.Since, now) + " (" + ago(now.Sub(v.Since)) + ")"
	switch v.State {
	case fleet.StateReady:
		fmt.Fprintf(w, "%s: ready %s", v.ID, since)
		if v.URL != "" {
			fmt.Fprintf(w, ", url %s", v.URL)
		}
		if v.Guard != nil {
			fmt.Fprintf(w, "; the billing guard stops it at %s (%s)", clockTime(*v.Guard, now), ago(now.Sub(*v.Guard)))
		}
		fmt.Fprintln(w)
	case fleet.StateDead:
		fmt.Fprintf(w, "%s: dead (its %s failed) %s, code %d reason %s: %s\n", v.ID, v.Action, since, v.Code, v.Reason, v.Msg)
	case fleet.StateBooting:
		fmt.Fprintf(w, "%s: booting %s (attempt %d)\n", v.ID, since, v.Attempt)
	case fleet.StateScheduled:
		fmt.Fprintf(w, "%s: scheduled %s, due %s\n", v.ID, since, dueText(v.Due, now))
	case fleet.StateRetry:
		fmt.Fprintf(w, "%s: waiting to be tried again %s, due %s (attempt %d failed", v.ID, since, dueText(v.Due, now), v.Attempt)
		if v.Code != 0 {
			fmt.Fprintf(w, ", code %d", v.Code)
		}
		if v.Msg != "" {
			fmt.Fprintf(w, ": %s", v.Msg)
		}
		fmt.Fprintln(w, ")")
	case fleet.StateStopping:
		fmt.Fprintf(w, "%s: stopping %s", v.ID, since)
		if v.Due != nil {
			fmt.Fprintf(w, ", due %s", dueText(v.Due, now))
		}
		fmt.Fprintln(w)
	default: // queued, sending, cancelled, stopped
		fmt.Fprintf(w, "%s: %s %s\n", v.ID, v.State, since)
	}
	if len(v.Labels) > 0 || len(v.Requests) > 0 {
		fmt.Fprintf(w, "requests: %s", strings.Join(v.Requests, " "))
		if len(v.Labels) > 0 {
			fmt.Fprintf(w, " (labels %s)", strings.Join(v.Labels, " "))
		}
		fmt.Fprintln(w)
	}
	for _, d := range v.Dead {
		fmt.Fprintf(w, "dead-letter entry (%s): code %d reason %s after %s, failed %s", d.Action,
			d.Code, d.Reason, plural(d.Attempts, "attempt"), clockTime(d.FailedAt, now))
		if d.Action == fleet.ActionStart {
			fmt.Fprintf(w, ", options %s", optionsText(d.Options))
		}
		fmt.Fprintf(w, ": %s\n", d.Msg)
	}
	if b := v.Boot; b != nil {
		fmt.Fprintf(w, "boot: started %s, given up at %s", clockTime(b.StartedAt, now), clockTime(b.Deadline, now))
		if b.Seen != "" {
			fmt.Fprintf(w, ", GeeLark last reported %s", b.Seen)
		}
		if b.Verdict != "" {
			fmt.Fprintf(w, ", callback says %s", b.Verdict)
		}
		fmt.Fprintln(w)
	}
	if len(v.events) == 0 {
		fmt.Fprintln(w, "history: none left in the events stream")
		return
	}
	fmt.Fprintln(w, "history (newest last):")
	writeEvents(w, v.events)
}

// dueText says when something is due: its time, and how far off.
func dueText(t *time.Time, now time.Time) string {
	if t == nil {
		return "now"
	}
	return clockTime(*t, now) + " (" + ago(now.Sub(*t)) + ")"
}

// clockTime shows t in UTC: the time of day when it is today, else the
// date too.
func clockTime(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04:05") + " UTC"
	}
	return t.Format(time.DateTime) + " UTC"
}

// ago is d rounded for a person: 40s ago, 2m ago, 3h10m ago, 2d ago; in 2h
// for a time to come.
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "in " + strings.TrimSuffix(ago(-d), " ago")
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		h := int(d.Hours())
		if m := int(d.Minutes()) % 60; m > 0 {
			return fmt.Sprintf("%dh%dm ago", h, m)
		}
		return fmt.Sprintf("%dh ago", h)
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}
