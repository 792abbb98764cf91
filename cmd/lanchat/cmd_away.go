package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/control"
)

var awayHelp = help{
	synopsis: "lanchat away [--json] [STATUS...]",
	text: `Tell the peers linked with your running node (lanchat up or lanchat chat)
that you are away, with an optional status line (at most 128 bytes). They see
it in lanchat peers and their chat; it is never in beacons, and it ends when
the node stops. lanchat back says you are online again.`,
	example: `  lanchat away "lunch, back at 2"`,
}

var busyHelp = help{
	synopsis: "lanchat busy [--json] [STATUS...]",
	text: `Tell the peers linked with your running node that you are busy, with an
optional status line. lanchat back says you are online again.`,
	example: `  lanchat busy "in a meeting"`,
}

var backHelp = help{
	synopsis: "lanchat back [--json]",
	text:     `Tell the peers linked with your running node that you are online again.`,
	example:  `  lanchat back`,
}

func runAway(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	return setPresence(ctx, e, fs, args, "away")
}

func runBusy(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	return setPresence(ctx, e, fs, args, "busy")
}

func runBack(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	return setPresence(ctx, e, fs, args, "online")
}

func setPresence(ctx context.Context, e *env, fs *pflag.FlagSet, args []string, state string) error {
	asJSON := fs.Bool("json", false, "print the result as JSON: {state, status}")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if state == "online" {
		if err := wantArgs("back", args, 0, 0, "no arguments"); err != nil {
			return err
		}
	}
	status := strings.Join(args, " ")
	var res *control.PresenceResult
	err = e.withAPI(ctx, readOnly, func(ctx context.Context, api control.API) error {
		if !control.Running(api) {
			return withHint(fmt.Errorf("%s: no lanchat node runs on this data dir", fs.Name()),
				"presence goes to linked peers: start lanchat up (or lanchat chat) first")
		}
		res, err = api.SetPresence(ctx, control.PresenceParams{State: state, Status: status})
		return err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	if res.Status != "" {
		fmt.Fprintf(e.stdout, "you are %s: %s\n", res.State, res.Status)
	} else {
		fmt.Fprintf(e.stdout, "you are %s\n", res.State)
	}
	return nil
}
