package cli

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

func runVersion(_ context.Context, args []string, env Env) error {
	s := newSettings("version", env)
	pos, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return bad("unexpected argument %q", pos[0])
	}
	bi, _ := debug.ReadBuildInfo()
	printVersion(env.Stdout, bi)
	return nil
}

// printVersion writes "phonestart VERSION (revision REV[, modified], TIME,
// GOVERSION)". A binary built from a source tree (go build, go run) has the
// version "devel"; one built without VCS information (go run, -buildvcs=false,
// a tree without .git) has the revision "unknown".
func printVersion(w io.Writer, bi *debug.BuildInfo) {
	version, rev, modified, at, goVersion := "devel", "unknown", false, "", "unknown"
	if bi != nil {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			version = v
		}
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			case "vcs.time":
				at = s.Value
			}
		}
	}
	fmt.Fprintf(w, "phonestart %s (revision %s", version, rev)
	if modified {
		fmt.Fprint(w, ", modified")
	}
	if at != "" {
		fmt.Fprintf(w, ", %s", at)
	}
	fmt.Fprintf(w, ", %s)\n", goVersion)
}
