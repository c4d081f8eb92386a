package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/phonestart/phonestart/internal/logging"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
)

func runEnqueue(ctx context.Context, args []string, env Env) error {
	s := newSettings("enqueue", env)
	var rf redisFlags
	rf.register(s, redisEnqueue)
	var (
		asJSON, hideSidebar, displayTimer, hideLibrary, hideMirror bool
		width                                                      int
		center, label                                              string
		stopAfter                                                  time.Duration
		wait                                                       bool
		waitTimeout                                                time.Duration
	)
	s.Bool(&asJSON, "json", `print {"request":"...","enqueued":N,"duplicates":N}; with --wait {"request":"...","enqueued":N,"duplicates":N,"ready":[`+
		jsonShape(enqueue.ReadyPhone{})+`...],"dead":[`+jsonShape(enqueue.DeadPhone{})+`...],"cancelled":[ID...],"stopped":[ID...],"unfinished":[ID...]}`)
	s.Int(&width, "width", "", 0, "display width in px, 200..600 (default: GeeLark's 336)", nil)
	s.String(&center, "center", "", "", "1 to center the display, 0 not to (default: GeeLark's 1)")
	s.Bool(&hideSidebar, "hide-sidebar", "hide the sidebar")
	s.Bool(&displayTimer, "display-timer", "show the timer")
	s.Bool(&hideLibrary, "hide-library", "hide the asset library")
	s.Bool(&hideMirror, "hide-mirror", "hide the mirror")
	tg := target{verb: "start"}
	tg.register(s, "2026-11-26T07:30:00+01:00")
	s.Duration(&stopAfter, "stop-after", "", 0, "stop each phone this long after it is ready, e.g. 8h (the billing guard)", nonNegative)
	s.String(&label, "label", "", "", "a label for the request, carried in its events and outcome (letters, digits, . _ : -)")
	s.Bool(&wait, "wait", "then wait until every phone has ended (ready, dead, cancelled or stopped); exit 1 unless all are ready")
	s.Duration(&waitTimeout, "wait-timeout", "", defaultWaitTimeout, "how long --wait waits at most", positive)
	args, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}

	req := enqueue.Request{Options: geelark.StartOptions{
		HideSideBar: hideSidebar, DisplayTimer: displayTimer, Width: width,
		HideLibrary: hideLibrary, HideMirror: hideMirror,
	}}
	if s.set["width"] && (width < geelark.MinWidth || width > geelark.MaxWidth) {
		return bad("--width %d: must be %d..%d", width, geelark.MinWidth, geelark.MaxWidth)
	}
	if s.set["center"] {
		switch center {
		case "0", "1":
			c := int(center[0] - '0')
			req.Options.Center = &c
		default:
			return bad("--center %q: must be 0 or 1", center)
		}
	}
	if s.set["wait-timeout"] && !wait {
		return bad("--wait-timeout without --wait")
	}
	var ids []string
	if ids, req.At, req.In, err = tg.resolve(s, args, env.Stdin, "enqueued"); err != nil {
		return err
	}
	req.IDs, req.StopAfter, req.Label = ids, stopAfter, label
	if err := req.Validate(); err != nil {
		return bad("%v; nothing was enqueued", err)
	}

	c, err := rf.open(ctx)
	if err != nil {
		return fmt.Errorf("%w; nothing was enqueued", err)
	}
	defer c.Close()
	enq := c.enq
	if len(ids) >= progressMin && logging.IsTerminal(env.Stderr) {
		bar := newProgressBar(env.Stderr, time.Now)
		req.Progress = bar.update
		defer bar.finish()
	}
	rep, err := enq.Start(ctx, req)
	if err != nil {
		return fmt.Errorf("%v (%d enqueued before the error; enqueueing again is safe)", err, rep.Enqueued)
	}
	if wait {
		return waitFor(ctx, env, enq, req.IDs, rep, enqueue.WaitOptions{Timeout: waitTimeout}, asJSON)
	}
	if asJSON {
		// A struct, not a map: the keys come out in the documented order.
		return json.NewEncoder(env.Stdout).Encode(struct {
			Request    string `json:"request"`
			Enqueued   int    `json:"enqueued"`
			Duplicates int    `json:"duplicates"`
		}{rep.Request, rep.Enqueued, len(rep.Duplicates)})
	}
	fmt.Fprintf(env.Stdout, "request %s: enqueued %s, %s\n", rep.Request, plural(rep.Enqueued, "phone"), plural(len(rep.Duplicates), "duplicate"))
	printCancelledStops(env.Stdout, rep.CancelledStops)
	if len(rep.Duplicates) > 0 {
		fmt.Fprintf(env.Stdout, "already pending, scheduled, retrying or starting: %s\n", listSome(rep.Duplicates, 10))
	}
	return nil
}
