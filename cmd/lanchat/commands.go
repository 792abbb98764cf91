package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"
)

// A command is one subcommand: lanchat <name> ...
type command struct {
	name    string // what the user types
	summary string // one line for lanchat --help
	help    help   // lanchat <name> --help
	// args is what its arguments are, for the completion scripts: "" none,
	// or argTrusted, argCommands, argShells, argText.
	args   string
	hidden bool // not listed, not completed: lanchat __complete
	// run registers the command's own flags on fs (which already has
	// --data-dir and --help), calls e.parse(fs, args) and does the work.
	run func(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error
}

// help is a command's hand-written help; its options are listed from its
// flag set between text and example.
type help struct {
	synopsis string // "lanchat trust <fingerprint> [--name NAME]"
	text     string // what it does, in a few lines
	example  string // one or more command lines, with a comment each
}

// commands is the table of subcommands, in the order lanchat --help lists them.
//
// To add a command (say "history"):
//  1. create cmd_history.go with `var historyHelp = help{...}` and
//     `func runHistory(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error`;
//     in it: register flags on fs, then `args, err := e.parse(fs, args)`;
//     open the database with e.openStore(readOnly|readWrite), the secret key
//     with e.loadIdentity (after addPassphraseFlags(fs)), print results to
//     e.stdout (printJSON for --json), return errors (withHint/usageErrorf)
//     and let report print them;
//  2. add one line below;
//  3. test it in cmd_history_test.go (runCLI runs the built binary).
var commands = []command{
	{name: "init", summary: "create your identity (once per machine)", help: initHelp, run: runInit},
	{name: "id", summary: "show your fingerprint and identity", help: idHelp, run: runID},
	{name: "peers", summary: "list who is around: the lanchat nodes on your network", help: peersHelp, run: runPeers},
	{name: "trust", summary: "add someone to your trust list by fingerprint", help: trustHelp, run: runTrust},
	{name: "untrust", summary: "remove someone from your trust list", help: untrustHelp, run: runUntrust, args: argTrusted},
	{name: "trusted", summary: "list the people you trust", help: trustedHelp, run: runTrusted},
	{name: "up", summary: "run your node in the foreground, without a chat window", help: upHelp, run: runUp},
	{name: "chat", summary: "chat in rooms with the trusted peers on your network", help: chatHelp, run: runChat},
	{name: "send", summary: "send one message from a script", help: sendHelp, run: runSend, args: argText},
	{name: "history", summary: "show stored messages", help: historyHelp, run: runHistory},
	{name: "rooms", summary: "list your rooms with their unread messages and mentions", help: roomsHelp, run: runRooms},
	{name: "away", summary: "tell your peers you are away, with an optional status line", help: awayHelp, run: runAway, args: argText},
	{name: "busy", summary: "tell your peers you are busy, with an optional status line", help: busyHelp, run: runBusy, args: argText},
	{name: "back", summary: "tell your peers you are online again", help: backHelp, run: runBack},
	{name: "doctor", summary: "find out why peers do not see or reach you", help: doctorHelp, run: runDoctor},
	{name: "web", summary: "print (or open) a login link to the web UI of the running node", help: webHelp, run: runWeb},
	{name: "room", summary: "private rooms (create, invite, remove, members) and how long rooms are kept", help: roomHelp, run: runRoom, args: argRoomVerb},
	{name: "send-file", summary: "offer a file or folder in a room", help: sendFileHelp, run: runSendFile, args: argFile},
	{name: "files", summary: "list file offers and fetches", help: filesHelp, run: runFiles},
	{name: "fetch", summary: "fetch a file offer, verified chunk by chunk", help: fetchHelp, run: runFetch},
	{name: "forget", summary: "delete a room's history from this machine", help: forgetHelp, run: runForget},
	{name: "passphrase", summary: "change the passphrase of your keys and history", help: passphraseHelp, run: runPassphrase},
	{name: "export", summary: "write your identity (and trust list, history) to a sealed file", help: exportHelp, run: runExport},
	{name: "import", summary: "restore an identity from a file written by export", help: importHelp, run: runImport, args: argText},
	{name: "delete", summary: "delete one of your messages for everyone", help: deleteHelp, run: runDelete, args: argText},
	// completion, man and __complete read this table: init() in
	// cmd_completion.go appends them.
}

func findCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// dispatch parses the global flags, picks the command and runs it.
func (e *env) dispatch(ctx context.Context, args []string) error {
	e.ctx = ctx
	top, version, helpFlag := e.newTopFlagSet()
	if err := top.Parse(args); err != nil {
		return usageErrorf("run: lanchat --help", "%v", err)
	}
	switch {
	case *helpFlag:
		e.printTopHelp(e.stdout, top)
		return nil
	case *version:
		fmt.Fprintln(e.stdout, versionString())
		return nil
	case top.NArg() == 0:
		e.printTopHelp(e.stderr, top)
		return usageErrorf("run: lanchat init --name YOURNAME, to start", "no command given")
	}
	name, rest := top.Arg(0), top.Args()[1:]
	if name == "help" {
		return e.helpCommand(ctx, top, rest)
	}
	cmd := findCommand(name)
	if cmd == nil {
		return usageErrorf("run: lanchat --help, for the list of commands", "unknown command %q", name)
	}
	e.cmd = cmd
	return cmd.run(ctx, e, e.newFlagSet(cmd), rest)
}

// newTopFlagSet returns the flag set of lanchat itself, before the command
// name, and its --version and --help.
func (e *env) newTopFlagSet() (top *pflag.FlagSet, version, help *bool) {
	top = pflag.NewFlagSet("lanchat", pflag.ContinueOnError)
	top.SetInterspersed(false) // flags after the command name are the command's
	top.SetOutput(io.Discard)
	top.Usage = func() {}
	e.addGlobalFlags(top)
	version = top.Bool("version", false, "print the version and exit")
	help = top.BoolP("help", "h", false, "show this help")
	return top, version, help
}

// helpCommand is "lanchat help [command]".
func (e *env) helpCommand(ctx context.Context, top *pflag.FlagSet, args []string) error {
	if len(args) == 0 {
		e.printTopHelp(e.stdout, top)
		return nil
	}
	cmd := findCommand(args[0])
	if cmd == nil {
		return usageErrorf("run: lanchat --help, for the list of commands", "unknown command %q", args[0])
	}
	e.cmd = cmd
	return cmd.run(ctx, e, e.newFlagSet(cmd), []string{"--help"})
}

// addGlobalFlags registers the flags every command accepts.
func (e *env) addGlobalFlags(fs *pflag.FlagSet) {
	fs.StringVar(&e.dataDir, "data-dir", e.dataDir,
		"the `DIR` with your keys and messages")
}

// newFlagSet returns cmd's flag set with the global flags and --help.
func (e *env) newFlagSet(cmd *command) *pflag.FlagSet {
	fs := pflag.NewFlagSet(cmd.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SortFlags = false
	e.addGlobalFlags(fs)
	fs.BoolP("help", "h", false, "show this help")
	return fs
}

// parse parses a command's flags and returns its arguments. After --help it
// prints the help and returns errHelpShown, which the command returns.
func (e *env) parse(fs *pflag.FlagSet, args []string) ([]string, error) {
	name := fs.Name()
	if err := fs.Parse(args); err != nil {
		return nil, usageErrorf("run: lanchat "+name+" --help", "%s: %v", name, err)
	}
	if h, _ := fs.GetBool("help"); h {
		e.printCommandHelp(e.stdout, e.cmd, fs)
		return nil, errHelpShown
	}
	return fs.Args(), nil
}

// wantArgs checks the number of arguments.
func wantArgs(name string, args []string, min, max int, what string) error {
	if len(args) < min || len(args) > max {
		return usageErrorf("run: lanchat "+name+" --help", "%s: want %s, got %d argument(s)", name, what, len(args))
	}
	return nil
}

func (e *env) printCommandHelp(w io.Writer, cmd *command, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n\nOptions:\n%s", cmd.help.synopsis,
		strings.TrimSpace(cmd.help.text), flagUsages(fs))
	if cmd.help.example != "" {
		fmt.Fprintf(w, "\nExample:\n%s\n", strings.TrimRight(cmd.help.example, "\n"))
	}
}

// The parts of lanchat --help that the man page shows too.
const (
	topIntro   = "end-to-end encrypted chat on your local network. No server, no account."
	firstSteps = `  lanchat init --name alice    # create your identity; shows your fingerprint
  lanchat trust <fingerprint>  # after comparing it with the other person`
	exitStatusHelp = "0 done, 1 something went wrong, 2 the command line is wrong."
)

func (e *env) printTopHelp(w io.Writer, top *pflag.FlagSet) {
	fmt.Fprintf(w, `lanchat: %s

Usage: lanchat [--data-dir DIR] <command> [options]

Commands:
`, topIntro)
	for _, c := range commands {
		if c.hidden {
			continue
		}
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Run "lanchat <command> --help" for a command's options and an example.

Global options:
%s
%s

First steps:
%s

Exit status: %s
`, flagUsages(top), dataDirHelp, firstSteps, exitStatusHelp)
}

// flagUsages lists fs's flags, one per line: "  -h, --help   show this help".
// (pflag's own listing marks every boolean flag "[=true|false]".) A flag's
// value is named by a `WORD` in back quotes in its usage.
func flagUsages(fs *pflag.FlagSet) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		left := "    --" + f.Name
		if f.Shorthand != "" {
			left = "-" + f.Shorthand + ", --" + f.Name
		}
		name, usage := pflag.UnquoteUsage(f)
		if f.Value.Type() != "bool" {
			left += " " + name
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "[]" {
				usage += " (default " + f.DefValue + ")"
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\n", left, usage)
	})
	_ = tw.Flush() // a strings.Builder does not fail
	return b.String()
}
