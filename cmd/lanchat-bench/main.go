//go:build unix

// Command lanchat-bench measures how fast lanchat is, each figure beside a
// baseline measured in the same run, and prints one table (figure, lanchat,
// baseline, ratio, target, met?). `make bench` writes it to BENCHMARKS.md.
//
//	go run ./cmd/lanchat-bench [-quick] [-out BENCHMARKS.md] [-only REGEXP]
//
// Everything runs on loopback: in-process clusters of chat nodes on
// 127.0.0.1 with beacons to 127.255.255.255 on a random free UDP port, the
// real lanchat binary where a figure is about a process, and `go test -bench`
// where a figure fits a Go benchmark. Every loop is bounded and every node,
// child process and temporary file is gone when it returns.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime/pprof"
	"syscall"
)

func main() {
	if mode := os.Getenv(envChild); mode != "" {
		os.Exit(runChild(mode, os.Args[1:], os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lanchat-bench:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	quick      bool
	out        string
	only       *regexp.Regexp
	cpuprofile string
	rowsTo     string // a figure run in a process of its own: where its rows go (figureInChild)
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("lanchat-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.quick, "quick", false, "smaller sizes and fewer repetitions (about a minute)")
	fs.StringVar(&o.out, "out", "", "also write the table, the machine and how to reproduce it to this Markdown file")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the in-process figures to this file")
	fs.StringVar(&o.rowsTo, "rows-to", "", "write the rows and notes of the figures run as JSON to this file (how a figure runs in a process of its own)")
	only := fs.String("only", "", "run only the figures whose name matches this regular expression")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lanchat-bench [-quick] [-out BENCHMARKS.md] [-only REGEXP] [-cpuprofile FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return o, fmt.Errorf("-only: %w", err)
		}
		o.only = re
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	b, err := newBench(ctx, opts, stderr)
	if err != nil {
		return err
	}
	defer b.cleanup()
	if opts.cpuprofile != "" {
		stopProfile, err := startCPUProfile(opts.cpuprofile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	machine := describeMachine()
	for _, f := range figures {
		if opts.only != nil && !opts.only.MatchString(f.name) {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.logf("== %s", f.name)
		run := f.run
		if f.alone && opts.rowsTo == "" {
			run = figureInChild(f)
		}
		rows, err := run(ctx, b)
		if err != nil {
			b.logf("%s failed: %v", f.name, err)
			rows = append(rows, failedRow(f.name, err))
		}
		for _, r := range rows {
			b.logf("   %s", r.oneLine())
		}
		b.rows = append(b.rows, rows...)
	}
	if opts.rowsTo != "" {
		return writeChildRows(opts.rowsTo, b)
	}
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, machine.text())
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, textTable(b.rows))
	if opts.out != "" {
		doc := markdown(machine, b.rows, b.commands, opts, b.size.rounds)
		if err := os.WriteFile(opts.out, []byte(doc), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", opts.out, err)
		}
		fmt.Fprintf(stderr, "lanchat-bench: wrote %s\n", opts.out)
	}
	return nil
}

// startCPUProfile profiles this process (the in-process figures; the Go
// benchmarks and child processes are not in it) until the returned func.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
