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
	rf.register(s)
	var (
		asJSON, hideSidebar, displayTimer, hideLibrary, hideMirror bool
		width                                                      int
		center                                                     string
		retention, stopAfter                                       time.Duration
		wait                                                       bool
		waitTimeout, bootTimeout                                   time.Duration
	)
	s.Bool(&asJSON, "json", `print {"enqueued":N,"duplicates":M} (with --wait: and "ready", "dead", "unfinished")`)
	s.Int(&width, "width", "", 0, "display width in px, 200..600 (default: GeeLark's 336)", nil)
	s.String(&center, "center", "", "", "1 to center the display, 0 not to (default: GeeLark's 1)")
	s.Bool(&hideSidebar, "hide-sidebar", "hide the sidebar")
	s.Bool(&displayTimer, "display-timer", "show the timer")
	s.Bool(&hideLibrary, "hide-library", "hide the asset library")
	s.Bool(&hideMirror, "hide-mirror", "hide the mirror")
	tg := target{verb: "start"}
	tg.register(s, "2026-11-26T07:30:00+01:00")
	s.Duration(&stopAfter, "stop-after", "", 0, "stop each phone this long after it is ready, e.g. 8h (the billing guard)", nonNegative)
	s.Duration(&retention, "retention", "PHONESTART_RETENTION", enqueue.DefaultRetention,
		"how long a started phone's result is kept", positive)
	s.Bool(&wait, "wait", "then wait until every phone is ready or dead; exit 1 unless all are ready")
	s.Duration(&waitTimeout, "wait-timeout", "", defaultWaitTimeout, "how long --wait waits at most", positive)
	s.Duration(&bootTimeout, "boot-timeout", "PHONESTART_BOOT_TIMEOUT", defaultBootTimeout,
		"the workers' boot timeout; 0 (boot confirmation off): --wait counts a phone ready once GeeLark accepted its start", nonNegative)
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
	req.IDs, req.StopAfter = ids, stopAfter
	if err := req.Validate(); err != nil {
		return bad("%v; nothing was enqueued", err)
	}

	rdb, err := rf.dial(ctx)
	if err != nil {
		return fmt.Errorf("%w; nothing was enqueued", err)
	}
	defer rdb.Close()
	enq, err := enqueue.New(enqueue.Config{Redis: rdb, Retention: retention, MinReplicas: rf.minReplicas, EventsMax: rf.eventsMax})
	if err != nil {
		return err
	}
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
		return waitFor(ctx, env, enq, req.IDs, rep, enqueue.WaitOptions{
			After: rep.Mark, Timeout: waitTimeout, ReadyOnStart: bootTimeout == 0}, asJSON)
	}
	if asJSON {
		// A struct, not a map: the keys come out in the documented order.
		return json.NewEncoder(env.Stdout).Encode(struct {
			Enqueued   int `json:"enqueued"`
			Duplicates int `json:"duplicates"`
		}{rep.Enqueued, len(rep.Duplicates)})
	}
	fmt.Fprintf(env.Stdout, "enqueued %s, %s\n", plural(rep.Enqueued, "phone"), plural(len(rep.Duplicates), "duplicate"))
	printCancelledStops(env.Stdout, rep.CancelledStops)
	if len(rep.Duplicates) > 0 {
		fmt.Fprintf(env.Stdout, "already pending, scheduled, retrying or starting: %s\n", listSome(rep.Duplicates, 10))
	}
	return nil
}
