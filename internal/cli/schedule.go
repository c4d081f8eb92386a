package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redisconn"
	"github.com/phonestart/phonestart/schedule"
)

// runSchedule runs `schedule [--file F]`, `schedule list --file F` and
// `schedule run NAME --file F`.
func runSchedule(ctx context.Context, args []string, env Env) error {
	sub := ""
	if len(args) > 0 && (args[0] == "list" || args[0] == "run") {
		sub, args = args[0], args[1:]
	}
	s := newSettings(strings.TrimSpace("schedule "+sub), env)
	var rf redisFlags
	var af apiFlags
	var lf limitFlags
	var file, logFormat string
	var asJSON bool
	s.String(&file, "file", "PHONESTART_SCHEDULES", "", "the schedules file (YAML)")
	if sub != "list" {
		rf.register(s, redisEnqueue)
		af.register(s)
		lf.register(s)
		s.String(&logFormat, "log-format", "PHONESTART_LOG_FORMAT", "auto", "json, console, or auto")
	}
	if sub == "run" {
		s.Bool(&asJSON, "json", "print the tick's report as "+jsonShape(schedule.TickReport{}))
	}
	pos, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	if file == "" {
		return bad("--file: no schedules file given")
	}
	f, err := schedule.Load(file)
	if err != nil {
		return bad("%v", err)
	}
	var name string
	switch {
	case sub == "run" && len(pos) != 1:
		return bad("schedule run needs exactly one schedule name")
	case sub == "run":
		name = pos[0]
		if _, ok := f.Find(name); !ok {
			return bad("%s: no schedule named %q", file, name)
		}
	case len(pos) > 0:
		return bad("unexpected argument %q", pos[0])
	}
	if sub == "list" {
		now := time.Now()
		for _, sc := range f.Schedules {
			fmt.Fprintf(env.Stdout, "%s  (%s, %s)%s\n", sc.Name, sc.Cron, sc.Location, actionNote(sc))
			t := now
			for range 3 {
				t = sc.Next(t)
				fmt.Fprintf(env.Stdout, "    %s\n", t.In(sc.Location).Format("Mon 2006-01-02 15:04 MST"))
			}
		}
		return nil
	}

	log, err := newLogger(env.Stderr, logFormat)
	if err != nil {
		return err
	}
	defer log.Sync()
	c, err := rf.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	redisconn.Watch(c.rdb, redisconn.WatchConfig{Addr: redisconn.Describe(rf.url), Logger: log})
	fired := f.Schedules
	if sub == "run" {
		sc, _ := f.Find(name)
		fired = []*schedule.Schedule{sc}
	}
	r, err := newScheduleRunner(c, fired, &af, &lf, log)
	if err != nil {
		return err
	}
	if sub == "run" {
		sc, _ := f.Find(name)
		rep, err := r.Fire(ctx, sc, time.Now().UTC().Truncate(time.Second))
		if err != nil {
			return err
		}
		switch {
		case asJSON:
			if err := json.NewEncoder(env.Stdout).Encode(rep); err != nil {
				return err
			}
		case sc.Action == schedule.ActionStop:
			fmt.Fprintf(env.Stdout, "schedule %s: selected %d, stopping %d, %s cancelled, %s\n", sc.Name, rep.Selected,
				rep.Enqueued, plural(rep.CancelledStarts, "waiting start"), plural(rep.Duplicates, "duplicate"))
		default:
			fmt.Fprintf(env.Stdout, "schedule %s: selected %d, enqueued %d, %s\n",
				sc.Name, rep.Selected, rep.Enqueued, plural(rep.Duplicates, "duplicate"))
		}
		// A selection matching nothing is most likely a group or tag
		// renamed at GeeLark: a failure to whoever ran it by hand.
		if rep.Fired && sc.Select != nil && rep.Selected == 0 {
			return fmt.Errorf("schedule %s: its selection (%s) matched no phone", sc.Name, sc.SelectText())
		}
		return nil
	}
	// Only selections call GeeLark: check it answers them before the
	// first fires.
	for _, sc := range fired {
		if sc.Select == nil {
			continue
		}
		api, err := af.client()
		if err != nil {
			return err
		}
		if ok, err := checkAPI(ctx, api, c.store, &lf, log); !ok {
			return err // nil: stopped during the check
		}
		break
	}
	return r.Run(ctx, f)
}

// newScheduleRunner returns a Runner for the schedules that will fire;
// only selections need the API, and so credentials.
func newScheduleRunner(c *conn, fired []*schedule.Schedule, af *apiFlags, lf *limitFlags, log *zap.Logger) (*schedule.Runner, error) {
	cfg := schedule.Config{Redis: c.rdb, Enqueue: c.enq, Logger: log}
	for _, sc := range fired {
		if sc.Select == nil {
			continue
		}
		api, err := af.client()
		if err != nil {
			return nil, err
		}
		b, err := lf.budget(c.rdb, c.store.Space(), fleet.EndpointList)
		if err != nil {
			return nil, err
		}
		cfg.Lister, cfg.ListBudget = api, b
		break
	}
	return schedule.NewRunner(cfg)
}
