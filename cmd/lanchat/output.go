package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// Output rules, in one place:
//
//   - Results go to stdout; with --json, exactly one JSON document.
//   - Errors, warnings and prompts go to stderr, each line starting with
//     "lanchat: ". An error is followed by a "lanchat: hint: " line saying
//     what to do about it.
//   - Exit status: 0 done, 1 something went wrong, 2 the command line is
//     wrong (unknown command or flag, missing or malformed argument).

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// cliError carries a hint and whether the error is about the command line.
type cliError struct {
	err   error
	hint  string
	usage bool
}

func (e *cliError) Error() string { return e.err.Error() }
func (e *cliError) Unwrap() error { return e.err }

// withHint attaches a hint (what the user should do) to err.
func withHint(err error, hint string) error { return &cliError{err: err, hint: hint} }

// usageErrorf reports a wrong command line (exit status 2).
func usageErrorf(hint, format string, args ...any) error {
	return &cliError{err: fmt.Errorf(format, args...), hint: hint, usage: true}
}

// errHelpShown: a command printed its help because of --help; not a failure.
var errHelpShown = errors.New("help shown")

// report prints err (if any) to w and returns the exit status.
func report(w io.Writer, err error) int {
	if err == nil || errors.Is(err, errHelpShown) {
		return exitOK
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(w, "lanchat: interrupted")
		return exitFailure
	}
	fmt.Fprintf(w, "lanchat: %v\n", err)
	if h := hintFor(err); h != "" {
		fmt.Fprintf(w, "lanchat: hint: %s\n", h)
	}
	var ce *cliError
	if errors.As(err, &ce) && ce.usage {
		return exitUsage
	}
	return exitFailure
}

// hintFor returns the hint attached to err, or the one for a known cause.
func hintFor(err error) string {
	var ce *cliError
	if errors.As(err, &ce) && ce.hint != "" {
		return ce.hint
	}
	var le *storage.LockedError
	if errors.As(err, &le) {
		if le.PID != 0 {
			return fmt.Sprintf("stop that lanchat first (process %d), or give this one another --data-dir", le.PID)
		}
		return "stop the other lanchat using this data dir first, or give this one another --data-dir"
	}
	for _, h := range hints {
		if errors.Is(err, h.cause) {
			return h.hint
		}
	}
	return ""
}

var hints = []struct {
	cause error
	hint  string
}{
	{storage.ErrNoIdentity, "run: lanchat init --name YOURNAME"},
	{storage.ErrNotLanchat, "check --data-dir: lanchat leaves this file as it is"},
	{storage.ErrCorrupt, "lanchat will not write to it. Move it away, then run: lanchat init --name YOURNAME"},
	{storage.ErrNewerSchema, "use the newer lanchat that wrote it; this one will not change it (lanchat --version)"},
	{storage.ErrNotTrusted, "lanchat trusted lists who you trust"},
	{storage.ErrSelf, "that is your own fingerprint (lanchat id); trust the other person's"},
	{lcrypto.ErrWrongPassphrase, "use the passphrase given at lanchat init; --passphrase-file and " + envPassphrase + " are read before the prompt"},
	{lcrypto.ErrKDFTooCostly, "the sealed key was altered or written by a much newer lanchat"},
	{lcrypto.ErrSealedFormat, "the sealed key is damaged; restore a backup or run lanchat init --force"},
}

// warnf prints a warning to stderr.
func warnf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "lanchat: warning: "+format+"\n", args...)
}

// printJSON writes v as indented JSON and a newline: the --json output.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// Time formats: text output in local time to the minute, JSON in UTC RFC 3339.
const textTime = "2006-01-02 15:04 MST"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format(textTime)
}

// formatTimePtr is formatTime of a schema time (nil: never).
func formatTimePtr(t *time.Time) string {
	if t == nil {
		return formatTime(time.Time{})
	}
	return formatTime(*t)
}

// jsonTime is a time for JSON output: null when zero.
func jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}
