package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/control"
)

var forgetHelp = help{
	synopsis: "lanchat forget --room ROOM [--before AGE] [--json]",
	text: `Delete a room's history from this machine, for good: the messages (all of
them, or those written before AGE ago, or before a date) leave the database,
which is then compacted so that no copy of them stays in the file. Works
while lanchat runs (through it).

This deletes only your copy. The other members of the room keep theirs, and
lanchat does not fetch the forgotten messages again.`,
	example: `  lanchat forget --room lobby --before 30d
  lanchat forget --room ops                     # the whole room
  lanchat forget --room ops --before 2026-11-01`,
}

func runForget(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	room := fs.String("room", "", "the `ROOM` whose history goes")
	before := fs.String("before", "", "only messages older than `AGE`: 30d, 12h, 90m, or a date (2026-11-25, 2026-11-25T14:00)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	e.pf = addPassphraseFlags(fs) // the history is sealed: without a node, it asks
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("forget", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	if *room == "" {
		return usageErrorf("e.g. lanchat forget --room lobby --before 30d", "forget: --room ROOM is needed")
	}
	if _, err := control.NormalizeRoom(*room); err != nil {
		return usageErrorf("room names use a-z, 0-9, '-', '_' and '.'", "forget: %v", err)
	}
	p := control.ForgetParams{Room: *room}
	if *before != "" {
		t, err := parseAge(*before, time.Now())
		if err != nil {
			return usageErrorf("e.g. --before 30d or --before 2026-11-01", "forget: %v", err)
		}
		p.Before = &t
	}
	var res *control.ForgetResult
	err = e.withAPI(ctx, readWrite, func(ctx context.Context, api control.API) error {
		res, err = api.Forget(ctx, p)
		return err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	when := ""
	if res.Before != nil {
		when = " written before " + res.Before.Local().Format("2006-01-02 15:04")
	}
	fmt.Fprintf(e.stdout, "Forgot %d messages of #%s%s (on this machine; the other members keep theirs)\n", res.Deleted, res.Room, when)
	return nil
}

// parseAge reads an age as --before takes it: N days ("30d"), a duration,
// or a time as --since takes it.
func parseAge(s string, now time.Time) (time.Time, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("--before %s: not a number of days", s)
		}
		return now.AddDate(0, 0, -n), nil
	}
	t, err := parseSince(s, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("--before: %w", err)
	}
	return t, nil
}
