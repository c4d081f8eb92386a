package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/phonestart/phonestart/enqueue"
)

// runCancel runs `cancel [--json] (ID... | --file F)`.
func runCancel(ctx context.Context, args []string, env Env) error {
	s := newSettings("cancel", env)
	var rf redisFlags
	rf.register(s, redisEnqueue)
	var asJSON, skipHeader bool
	var file string
	s.Bool(&asJSON, "json", `print {"cancelled":N,"not_found":M,"active":K}`)
	s.String(&file, "file", "", "", "read IDs from this file, one per line (# comments, blank lines allowed); - reads standard input")
	s.Bool(&skipHeader, "skip-header", skipHeaderUsage)
	ids, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	switch {
	case file != "" && len(ids) > 0:
		return bad("give phone IDs as arguments or with --file, not both")
	case skipHeader && file == "":
		return bad("--skip-header without --file")
	case file != "":
		if ids, err = readIDs(file, env.Stdin, skipHeader); err != nil {
			return bad("%v; nothing was cancelled", err)
		}
	}
	if len(ids) == 0 {
		return bad("no phone IDs: give them as arguments or with --file F (- for standard input)")
	}
	req := enqueue.CancelRequest{IDs: ids}
	if err := req.Validate(); err != nil {
		return bad("%v; nothing was cancelled", err)
	}
	c, err := rf.open(ctx)
	if err != nil {
		return fmt.Errorf("%w; nothing was cancelled", err)
	}
	defer c.Close()
	rep, err := c.enq.Cancel(ctx, req)
	if err != nil {
		return fmt.Errorf("%v (%d cancelled before the error; cancelling again is safe)", err, len(rep.Cancelled))
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(struct {
			Cancelled int `json:"cancelled"`
			NotFound  int `json:"not_found"`
			Active    int `json:"active"`
		}{len(rep.Cancelled), len(rep.NotFound), len(rep.Active)})
	}
	fmt.Fprintf(env.Stdout, "cancelled %s; %d had nothing waiting; %d in a call now\n",
		plural(len(rep.Cancelled), "phone"), len(rep.NotFound), len(rep.Active))
	if n := len(rep.Active); n > 0 {
		fmt.Fprintf(env.Stdout, "in a call now (or its answer being checked), not cancelled: %s\n", listSome(rep.Active, 10))
	}
	if n := len(rep.NotFound); n > 0 {
		fmt.Fprintf(env.Stdout, "nothing waiting (never asked for, started, stopped or dead): %s\n", listSome(rep.NotFound, 10))
	}
	return nil
}

// listSome joins the first n of ids, and says how many more there are.
func listSome(ids []string, n int) string {
	show := ids[:min(len(ids), n)]
	s := strings.Join(show, " ")
	if len(ids) > len(show) {
		s += fmt.Sprintf(" and %d more", len(ids)-len(show))
	}
	return s
}
