package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/queueadmin"
)

const deadUsage = `usage:
  phonestart dead list [--json] [--limit N] [--after ID]
  phonestart dead requeue (--all | ID...)
  phonestart dead purge [--yes] (--all | ID...)`

func runDead(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return bad("dead needs a subcommand: list, requeue or purge\n%s", deadUsage)
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprintln(env.Stdout, deadUsage)
		return nil
	}
	s := newSettings("dead "+sub, env)
	var rf redisFlags
	var asJSON, all, yes bool
	var limit int
	var after string
	switch sub {
	case "list":
		rf.register(s, redisURL)
		s.Bool(&asJSON, "json", "print a JSON array of "+jsonShape(queueadmin.DeadPhone{}))
		s.Int(&limit, "limit", "", 0, "print at most N phones (0: all), in ID order", between(0, 1000000))
		s.String(&after, "after", "", "", "start after this phone ID (the last one of the previous page)")
	case "requeue":
		rf.register(s, redisEnqueue)
		s.Bool(&all, "all", "every dead phone")
	case "purge":
		rf.register(s, redisEvents)
		s.Bool(&all, "all", "every dead phone")
		s.Bool(&yes, "yes", "purge --all without asking (needed when standard input is not a terminal)")
	default:
		return bad("dead %q: want list, requeue or purge\n%s", sub, deadUsage)
	}
	ids, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	if sub == "list" && len(ids) > 0 {
		return bad("unexpected argument %q", ids[0])
	}
	if sub != "list" && all == (len(ids) > 0) {
		return bad("dead %s: name phone IDs or --all (one or the other)", sub)
	}
	for _, id := range append(ids, after) {
		if id == "" {
			continue
		}
		if err := geelark.ValidateID(id); err != nil {
			return bad("%v", err)
		}
	}
	c, err := rf.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	adm := c.adm
	switch sub {
	case "list":
		return listDead(ctx, env, adm, asJSON, limit, after)
	case "requeue":
		n, err := adm.Requeue(ctx, all, ids)
		if err != nil {
			return fmt.Errorf("%w (requeued %s before it)", err, plural(n, "phone"))
		}
		fmt.Fprintf(env.Stdout, "requeued %s\n", plural(n, "phone"))
	case "purge":
		if all && !yes {
			// Piped input, /dev/null, a script or a cron job: no one to
			// ask, and no answer to take for yes.
			if !isTerminalReader(env.Stdin) {
				return bad("dead purge --all deletes every dead phone for good, and standard input is not a terminal to ask: add --yes")
			}
			c, err := adm.Counts(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stderr, "purge all %s for good? [y/N] ", plural(c.Dead, "dead phone"))
			line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
			if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
				fmt.Fprintln(env.Stdout, "nothing purged")
				return nil
			}
		}
		n, err := adm.Purge(ctx, all, ids)
		if err != nil {
			return fmt.Errorf("%w (purged %s before it)", err, plural(n, "phone"))
		}
		fmt.Fprintf(env.Stdout, "purged %s\n", plural(n, "phone"))
	}
	return nil
}

// listDead prints the ledger page by page, so that a large one is never
// held whole.
func listDead(ctx context.Context, env Env, adm *queueadmin.Admin, asJSON bool, limit int, after string) error {
	out := bufio.NewWriter(env.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	printed := 0
	if asJSON {
		out.WriteString("[")
	}
	for {
		size := 1000
		if limit > 0 {
			size = min(size, limit-printed)
		}
		page, next, err := adm.DeadPage(ctx, after, size)
		if err != nil {
			return err
		}
		for _, d := range page {
			if asJSON {
				if printed > 0 {
					out.WriteString(",")
				}
				if err := enc.Encode(d); err != nil {
					return err
				}
			} else {
				if printed == 0 {
					fmt.Fprintf(out, "%-22s %-6s %-6s %-13s %-8s %-20s %-26s %s\n", "ID", "ACTION", "CODE", "REASON", "ATTEMPTS", "FAILED AT", "OPTIONS", "MESSAGE")
				}
				opts := "-"
				if d.Action == fleet.ActionStart {
					opts = optionsText(d.Options)
				}
				fmt.Fprintf(out, "%-22s %-6s %-6d %-13s %-8d %-20s %-26s %s\n", d.ID, d.Action, d.Code, d.Reason, d.Attempts,
					d.FailedAt.UTC().Format(time.DateTime), opts, d.Msg)
			}
			printed++
		}
		after = next
		if next == "" || (limit > 0 && printed >= limit) {
			break
		}
	}
	if asJSON {
		out.WriteString("]\n")
	} else if printed == 0 {
		fmt.Fprintln(out, "no dead phones")
	}
	if limit > 0 && after != "" {
		fmt.Fprintf(env.Stderr, "more dead phones: --after %s\n", after)
	}
	return nil
}

// isTerminalReader reports whether r is a terminal: not a pipe, a file or
// /dev/null (a character device, but no terminal).
func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// optionsText shows the start options that differ from GeeLark's defaults,
// or "default".
func optionsText(o geelark.StartOptions) string {
	var parts []string
	if o.Width != 0 {
		parts = append(parts, fmt.Sprintf("width=%d", o.Width))
	}
	if o.Center != nil {
		parts = append(parts, fmt.Sprintf("center=%d", *o.Center))
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{o.HideSideBar, "hide-sidebar"}, {o.DisplayTimer, "display-timer"}, {o.HideLibrary, "hide-library"}, {o.HideMirror, "hide-mirror"}} {
		if f.on {
			parts = append(parts, f.name)
		}
	}
	if len(parts) == 0 {
		return "default"
	}
	return strings.Join(parts, ",")
}
