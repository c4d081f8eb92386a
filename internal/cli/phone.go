package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// phoneView is what `phone --json` prints.
type phoneView struct {
	ID      string           `json:"id"`
	State   string           `json:"state"`
	Since   time.Time        `json:"since"`
	Attempt int              `json:"attempt"`
	Code    int              `json:"code"`
	Reason  string           `json:"reason"`
	Msg     string           `json:"msg"`
	URL     string           `json:"url"`
	Dead    *fleet.DeadPhone `json:"dead"` // its ledger entry, when dead
	Boot    *fleet.Boot      `json:"boot"` // its boot record, when booting
	History []eventJSON      `json:"history"`
	events  []fleet.Event    // History as read
}

func runPhone(ctx context.Context, args []string, env Env) error {
	s := newSettings("phone", env)
	var rf redisFlags
	rf.register(s)
	var asJSON bool
	s.Bool(&asJSON, "json", "print the state and history as one JSON object")
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
	rdb, err := rf.dial(ctx)
	if err != nil {
		return err
	}
	defer rdb.Close()
	v, err := readPhone(ctx, rdb, fleet.NewJournal(rdb, rf.eventsMax), id)
	if err != nil {
		return err
	}
	if v.State == "" {
		return fmt.Errorf("phone %s: phonestart knows nothing of it: never enqueued here, or nothing happened to it for %v (its state expired)",
			id, fleet.PhoneTTL)
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(v)
	}
	printPhone(env.Stdout, v, time.Now())
	return nil
}

// readPhone gathers what Redis holds of one phone: its state, its events
// still in the stream, its ledger entry and its boot record.
func readPhone(ctx context.Context, rdb redis.UniversalClient, j *fleet.Journal, id string) (phoneView, error) {
	v := phoneView{ID: id, History: []eventJSON{}}
	st, err := j.States(ctx, id)
	if err != nil {
		return v, fmt.Errorf("read the state of %s: %w", id, err)
	}
	if s := st[0]; s.Known() {
		v.State, v.Since, v.Attempt, v.Code, v.Reason, v.Msg, v.URL = s.State, s.Since, s.Attempt, s.Code, s.Reason, s.Msg, s.URL
	}
	dead, err := fleet.NewLedger(rdb, 0).Get(ctx, id)
	if err != nil {
		return v, err
	}
	if len(dead) == 1 {
		v.Dead = &dead[0]
		if v.State == "" { // dead before phonestart kept states
			d := dead[0]
			v.State, v.Since, v.Attempt, v.Code, v.Reason, v.Msg = fleet.StateDead, d.FailedAt, d.Attempts, d.Code, d.Reason, d.Msg
		}
	}
	bt, ok, err := fleet.NewBoots(rdb).Get(ctx, id)
	if err != nil {
		return v, err
	}
	if ok {
		v.Boot = &bt
		if v.State == "" {
			v.State, v.Since, v.Attempt, v.URL = fleet.StateBooting, bt.StartedAt, bt.Attempt, bt.URL
		}
	}
	// The stream is not indexed by phone: read it all (at most
	// PHONESTART_EVENTS_MAX entries), a page at a time.
	for after := "0"; ; {
		evs, err := j.Read(ctx, after, eventsPage, 0)
		if err != nil {
			return v, fmt.Errorf("read the events stream %s: %w", fleet.EventsKey, err)
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
		fmt.Fprintln(w)
	case fleet.StateDead:
		fmt.Fprintf(w, "%s: dead %s, code %d reason %s: %s\n", v.ID, since, v.Code, v.Reason, v.Msg)
	case fleet.StateBooting:
		fmt.Fprintf(w, "%s: booting %s (attempt %d)\n", v.ID, since, v.Attempt)
	case fleet.StateRetry:
		fmt.Fprintf(w, "%s: waiting to be tried again %s (attempt %d failed", v.ID, since, v.Attempt)
		if v.Code != 0 {
			fmt.Fprintf(w, ", code %d", v.Code)
		}
		if v.Msg != "" {
			fmt.Fprintf(w, ": %s", v.Msg)
		}
		fmt.Fprintln(w, ")")
	default: // queued, purged
		fmt.Fprintf(w, "%s: %s %s\n", v.ID, v.State, since)
	}
	if d := v.Dead; d != nil {
		fmt.Fprintf(w, "dead-letter entry: code %d reason %s after %s, failed %s, options %s: %s\n",
			d.Code, d.Reason, plural(d.Attempts, "attempt"), clockTime(d.FailedAt, now), optionsText(d.Options), d.Msg)
	}
	if b := v.Boot; b != nil {
		fmt.Fprintf(w, "boot: started %s (attempt %d), given up at %s", clockTime(b.StartedAt, now), b.Attempt, clockTime(b.Deadline, now))
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

// clockTime shows t in UTC: the time of day when it is today, else the
// date too.
func clockTime(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04:05") + " UTC"
	}
	return t.Format(time.DateTime) + " UTC"
}

// ago is d rounded for a person: 40s, 2m, 3h10m, 2d.
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
