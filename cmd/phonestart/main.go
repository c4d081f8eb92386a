// Command phonestart starts GeeLark cloud phones in bulk through a Redis job
// queue: `phonestart enqueue` asks, `phonestart worker` starts. Run
// `phonestart help` for the commands and their configuration.
package main

import (
	"os"

	"github.com/phonestart/phonestart/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, LookupEnv: os.LookupEnv,
	}))
}
