package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/control"
)

var roomHelp = help{
	synopsis: "lanchat room set ROOM retain AGE|forever|default [--json]\n       lanchat room show [--json]",
	text: `Room settings kept on this machine. "room set ROOM retain AGE" keeps the
room's messages for AGE (30d, 12h) and deletes older ones from this
machine, for good, at once and from then on (a running lanchat checks
every hour and at its start). ROOM "*" sets it for every room without a
setting of its own; "forever" keeps everything, "default" drops the room's
own setting. As with lanchat forget, the other members keep their copies.
"room show" lists the settings. Works while lanchat runs (through it).`,
	example: `  lanchat room set lobby retain 90d
  lanchat room set '*' retain 365d
  lanchat room set ops retain forever
  lanchat room show --json`,
}

func runRoom(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	asJSON := fs.Bool("json", false, "print the settings as JSON")
	e.pf = addPassphraseFlags(fs) // room names are sealed: without a node, it asks
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	var p *control.RetentionParams
	switch {
	case len(args) == 1 && args[0] == "show":
	case len(args) == 4 && args[0] == "set" && args[2] == "retain":
		if p, err = retentionParams(args[1], args[3]); err != nil {
			return err
		}
	default:
		return usageErrorf("e.g. lanchat room set lobby retain 90d, or lanchat room show", "room: want \"set ROOM retain AGE\" or \"show\"")
	}
	var res *control.RetentionResult
	err = e.withAPI(ctx, readWrite, func(ctx context.Context, api control.API) error {
		if p == nil {
			res, err = api.Retention(ctx)
		} else {
			res, err = api.SetRetention(ctx, *p)
		}
		return err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	if p != nil && res.Deleted > 0 {
		fmt.Fprintf(e.stdout, "Deleted %d messages older than the retention (on this machine)\n", res.Deleted)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tRETAIN")
	fmt.Fprintf(tw, "* (every other room)\t%s\n", keepText(res.DefaultSeconds))
	rooms := make([]string, 0, len(res.Rooms))
	for r := range res.Rooms {
		rooms = append(rooms, r)
	}
	slices.Sort(rooms)
	for _, r := range rooms {
		fmt.Fprintf(tw, "#%s\t%s\n", r, keepText(res.Rooms[r]))
	}
	return tw.Flush()
}

func retentionParams(room, age string) (*control.RetentionParams, error) {
	p := &control.RetentionParams{Room: room}
	if room != "*" {
		if _, err := control.NormalizeRoom(room); err != nil {
			return nil, usageErrorf("room names use a-z, 0-9, '-', '_' and '.', or * for every room", "room: %v", err)
		}
	}
	switch age {
	case "forever":
	case "default":
		p.Clear = true
	default:
		d, err := parseKeep(age)
		if err != nil {
			return nil, usageErrorf("e.g. 90d, 12h, forever or default", "room: retain %s: %v", age, err)
		}
		p.KeepSeconds = int64(d / time.Second)
	}
	return p, nil
}

// parseKeep reads a retention: N days ("90d") or a duration of at least a
// minute.
func parseKeep(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("not a number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute {
		return 0, fmt.Errorf("not a duration of at least a minute")
	}
	return d, nil
}

func keepText(secs int64) string {
	switch d := time.Duration(secs) * time.Second; {
	case secs == 0:
		return "forever"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	default:
		return d.String()
	}
}
