package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/worker"
)

// pauseJSON is `pause --json`: {"paused":false} when none is in force.
type pauseJSON struct {
	Paused  bool   `json:"paused"`
	ID      string `json:"id,omitempty"` // names the pause, for a lift that must not end a newer one
	Code    int    `json:"code,omitempty"`
	Meaning string `json:"meaning,omitempty"`
	Msg     string `json:"msg,omitempty"`
	Class   string `json:"class,omitempty"`
	By      string `json:"by,omitempty"`
	// Since is when the pause (for account-wide codes: the streak of
	// refusals) began; Until when calls resume.
	Since *time.Time `json:"since,omitempty"`
	Until *time.Time `json:"until,omitempty"`
	// DeadLetterAt is, for account-wide codes, when phones still waiting
	// are dead-lettered: since + PHONESTART_MAX_WAIT.
	DeadLetterAt *time.Time `json:"dead_letter_at,omitempty"`
}

// runPause runs `pause [--json]` and `pause lift`.
func runPause(ctx context.Context, args []string, env Env) error {
	sub := ""
	if len(args) > 0 && args[0] == "lift" {
		sub, args = args[0], args[1:]
	}
	name := "pause"
	if sub != "" {
		name += " " + sub
	}
	s := newSettings(name, env)
	var rf redisFlags
	rf.register(s, redisURL)
	var asJSON bool
	var maxWait time.Duration
	if sub == "" {
		s.Bool(&asJSON, "json", "print the pause as "+jsonShape(pauseJSON{})+`, or {"paused":false} when there is none`)
		s.Duration(&maxWait, "max-wait", "PHONESTART_MAX_WAIT", worker.DefaultMaxWait,
			"how long phones wait out an account-wide error before being dead-lettered, as the workers are set", positive)
	}
	pos, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return bad("unexpected argument %q", pos[0])
	}
	c, err := rf.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	pauses := c.store.Pauses(nil)
	if sub == "lift" {
		host, _ := os.Hostname()
		cur, on, err := pauses.Fresh(ctx)
		if err != nil {
			return err
		}
		if !on {
			fmt.Fprintln(env.Stdout, "no fleet pause to lift")
			return nil
		}
		// Only the pause read: one set meanwhile (a newer rate limit, say)
		// is not lifted unseen.
		res, now, err := pauses.Lift(ctx, cur.ID, "phonestart pause lift on "+host)
		if errors.Is(err, fleet.ErrPauseChanged) {
			return fmt.Errorf("the fleet pause changed while it was read (now geelark %d, until %s): run pause to see it, then lift it again",
				now.Code, now.Until.UTC().Format(time.RFC3339))
		}
		if err != nil {
			return err
		}
		p := res.Lifted
		if p.ID == "" {
			fmt.Fprintln(env.Stdout, "no fleet pause to lift")
			return nil
		}
		fmt.Fprintf(env.Stdout, "lifted the fleet pause: geelark %d (%s), set by %s, which would have ended at %s; calls resume now; %s sent back to the queue\n",
			p.Code, geelark.Lookup(p.Code).Meaning, p.By, p.Until.UTC().Format(time.RFC3339), plural(res.Ran, "parked phone"))
		return nil
	}
	p, on, err := pauses.Fresh(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(pauseView(p, on, maxWait))
	}
	if !on {
		fmt.Fprintln(env.Stdout, "no fleet pause")
		return nil
	}
	printPauseDetail(env.Stdout, p, pauses.Now(), maxWait)
	return nil
}

func pauseView(p fleet.Pause, on bool, maxWait time.Duration) pauseJSON {
	if !on {
		return pauseJSON{}
	}
	info := geelark.Lookup(p.Code)
	v := pauseJSON{Paused: true, ID: p.ID, Code: p.Code, Meaning: info.Meaning, Msg: p.Msg, Class: info.Class.String(), By: p.By}
	until := p.Until.UTC()
	v.Until = &until
	if !p.Since.IsZero() {
		since := p.Since.UTC()
		v.Since = &since
		if info.Class == geelark.ClassAccount {
			dl := since.Add(maxWait)
			v.DeadLetterAt = &dl
		}
	}
	return v
}

// printPauseDetail writes what `pause` shows of a pause in force.
func printPauseDetail(w io.Writer, p fleet.Pause, now time.Time, maxWait time.Duration) {
	info := geelark.Lookup(p.Code)
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	fmt.Fprintf(w, "fleet pause: geelark %d (%s), %s\n", p.Code, info.Meaning, info.Class)
	fmt.Fprintf(w, "  GeeLark said  %q\n", p.Msg)
	fmt.Fprintf(w, "  set by        %s\n", p.By)
	if !p.Since.IsZero() {
		fmt.Fprintf(w, "  since         %s (%s ago)\n", ts(p.Since), now.Sub(p.Since).Round(time.Second))
	}
	switch info.Class {
	case geelark.ClassAccount:
		fmt.Fprintf(w, "  next probe    %s (in %s): calls resume once GeeLark accepts one\n", ts(p.Until), p.Until.Sub(now).Round(time.Second))
		if !p.Since.IsZero() {
			dl := p.Since.Add(maxWait)
			fmt.Fprintf(w, "  dead-letters  phones still waiting at %s (in %s; PHONESTART_MAX_WAIT %s)\n",
				ts(dl), max(dl.Sub(now), 0).Round(time.Second), maxWait)
		}
	default:
		fmt.Fprintf(w, "  ends          %s (in %s)\n", ts(p.Until), p.Until.Sub(now).Round(time.Second))
	}
	if info.Fix != "" {
		fmt.Fprintf(w, "  to fix        %s\n", info.Fix)
	}
	fmt.Fprintln(w, "'phonestart pause lift' ends it now.")
}
