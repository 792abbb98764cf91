package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/control"
)

var trustedHelp = help{
	synopsis: "lanchat trusted [--json]",
	text:     `List the people you trust: fingerprint, name, when you added them and when a link with them was last up.`,
	example: `  lanchat trusted
  lanchat trusted --json | jq -r '.[].fingerprint'`,
}

func runTrusted(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	asJSON := fs.Bool("json", false, "print JSON (an array, empty if nobody is trusted)")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("trusted", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	var peers []control.TrustedPeer
	err = e.withAPI(ctx, readOnly, func(ctx context.Context, api control.API) error {
		peers, err = api.Trusted(ctx)
		return err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, peers)
	}
	return printTrusted(e, peers)
}

func printTrusted(e *env, peers []control.TrustedPeer) error {
	if len(peers) == 0 {
		fmt.Fprintln(e.stdout, "Nobody is trusted yet. Add someone with: lanchat trust <fingerprint> --name NAME")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FINGERPRINT\tNAME\tADDED\tLAST SEEN")
	for _, p := range peers {
		name := p.Name
		switch {
		case p.NameSealed:
			name = "(sealed)"
		case name == "":
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Fingerprint, name, formatTimePtr(p.AddedAt), formatTimePtr(p.LastSeen))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write list: %w", err)
	}
	return nil
}
