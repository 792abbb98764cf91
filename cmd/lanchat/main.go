// Command lanchat is a serverless, end-to-end encrypted chat for people on
// the same local network. Run "lanchat --help" for the commands.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(report(os.Stderr, err))
}

// run is the whole program minus the process: tests call it in-process.
// args excludes the program name. The error it returns is what report
// prints; ctx is cancelled on SIGINT and SIGTERM.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return newEnv(stdin, stdout, stderr, os.Getenv).dispatch(ctx, args)
}
