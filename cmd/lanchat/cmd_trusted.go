package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/storage"
)

var trustedHelp = help{
	synopsis: "lanchat trusted [--json]",
	text:     `List the people you trust: fingerprint, name, when you added them and when a link with them was last up.`,
	example: `  lanchat trusted
  lanchat trusted --json | jq -r '.[].fingerprint'`,
}

// trustedJSON is one entry of lanchat trusted --json.
type trustedJSON struct {
	Fingerprint string  `json:"fingerprint"`
	Name        string  `json:"name"`
	AddedAt     *string `json:"added_at"`
	LastSeen    *string `json:"last_seen"` // null: never
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
	peers, err := e.trustedPeers(ctx) // through the running node, if any
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]trustedJSON, 0, len(peers))
		for _, p := range peers {
			out = append(out, trustedJSON{Fingerprint: p.Fingerprint.String(), Name: p.Name,
				AddedAt: jsonTime(p.AddedAt), LastSeen: jsonTime(p.LastSeen)})
		}
		return printJSON(e.stdout, out)
	}
	return printTrusted(e, peers)
}

func printTrusted(e *env, peers []storage.TrustedPeer) error {
	if len(peers) == 0 {
		fmt.Fprintln(e.stdout, "Nobody is trusted yet. Add someone with: lanchat trust <fingerprint> --name NAME")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FINGERPRINT\tNAME\tADDED\tLAST SEEN")
	for _, p := range peers {
		name := p.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Fingerprint, name, formatTime(p.AddedAt), formatTime(p.LastSeen))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write list: %w", err)
	}
	return nil
}
