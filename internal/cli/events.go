package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// eventsPage is how many stream entries one read takes.
const eventsPage = 1000

// followBlock is how long one read of --follow waits for a new entry, and
// so how late it notices SIGINT at most.
const followBlock = time.Second

// eventJSON is one line of `events --json`: every field, always.
type eventJSON struct {
	ID       string    `json:"id"`
	Event    string    `json:"event"`
	Action   string    `json:"action"`
	Attempt  int       `json:"attempt"`
	Code     int       `json:"code"`
	Reason   string    `json:"reason"`
	Msg      string    `json:"msg"`
	URL      string    `json:"url"`
	At       time.Time `json:"at"`
	Requests []string  `json:"requests"`
	Labels   []string  `json:"labels"`
}

func toEventJSON(e fleet.Event) eventJSON {
	return eventJSON{ID: e.Phone, Event: e.Event, Action: e.Action, Attempt: e.Attempt, Code: e.Code, Reason: e.Reason,
		Msg: e.Msg, URL: e.URL, At: e.At.UTC(), Requests: nonNil(e.Requests), Labels: nonNil(e.Labels)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func runEvents(ctx context.Context, args []string, env Env) error {
	s := newSettings("events", env)
	var rf redisFlags
	rf.register(s, redisURL)
	var follow, asJSON bool
	s.Bool(&follow, "follow", "keep printing new events until SIGINT")
	s.Bool(&asJSON, "json", "print one JSON object a line: "+jsonShape(eventJSON{}))
	ids, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	only := map[string]bool{}
	for _, id := range ids {
		if err := geelark.ValidateID(id); err != nil {
			return bad("%v", err)
		}
		only[id] = true
	}
	c, err := rf.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	j := c.store.Events()
	out := bufio.NewWriter(env.Stdout)
	defer out.Flush()
	emit := func(e fleet.Event) error {
		if len(only) > 0 && !only[e.Phone] {
			return nil
		}
		if asJSON {
			b, err := json.Marshal(toEventJSON(e))
			if err != nil {
				return err
			}
			out.Write(b)
			return out.WriteByte('\n')
		}
		_, err := fmt.Fprintln(out, eventLine(e))
		return err
	}
	after := "0"
	for {
		block := time.Duration(0)
		if follow {
			block = followBlock
		}
		evs, err := j.Read(ctx, after, eventsPage, block)
		if err != nil {
			if follow && ctx.Err() != nil {
				return nil // SIGINT ends --follow, and that is success
			}
			return fmt.Errorf("read the events stream %s: %w", c.store.Space().EventsKey(), err)
		}
		for _, e := range evs {
			if err := emit(e); err != nil {
				return err
			}
			after = e.StreamID
		}
		if len(evs) == eventsPage {
			continue
		}
		if !follow {
			return nil
		}
		if err := out.Flush(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// eventLine is one event, readable: its time, phone, event, and what it
// carries.
func eventLine(e fleet.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %-20s %-13s", e.At.UTC().Format("2006-01-02 15:04:05.000"), e.Phone, e.Event)
	if e.Event == fleet.EventDead || e.Event == fleet.EventRetry || e.Event == fleet.EventCancelled || e.Event == fleet.EventPurged {
		fmt.Fprintf(&b, "  %s", e.Action) // a failed start or a failed stop
	}
	if e.Attempt > 0 {
		fmt.Fprintf(&b, "  attempt %d", e.Attempt)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, "  code %d", e.Code)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, "  reason %s", e.Reason)
	}
	if e.URL != "" {
		fmt.Fprintf(&b, "  url %s", e.URL)
	}
	if e.Msg != "" {
		fmt.Fprintf(&b, "  %s", e.Msg)
	}
	if len(e.Labels) > 0 {
		fmt.Fprintf(&b, "  [%s]", strings.Join(e.Labels, " "))
	}
	return strings.TrimRight(b.String(), " ")
}

// writeEvents prints evs as runEvents does, to w.
func writeEvents(w io.Writer, evs []fleet.Event) {
	for _, e := range evs {
		fmt.Fprintln(w, "  "+eventLine(e))
	}
}
