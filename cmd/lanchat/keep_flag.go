package main

import (
	"context"
	"fmt"

	"github.com/lanchat/lanchat/control"
	"github.com/spf13/pflag"
)

// keepHelp is the help of --keep (up and chat).
const keepHelp = "keep history on this machine for `AGE` (30d, 12h, forever) in every room without its own retention: sets what \"room set '*' retain AGE\" sets (kept after this run), applied at start and every hour"

// addKeepFlag registers --keep on fs into f.
func addKeepFlag(fs *pflag.FlagSet, f *nodeFlags) { fs.StringVar(&f.keep, "keep", "", keepHelp) }

// keepParams returns the retention --keep asks for, nil without it.
func (f *nodeFlags) keepParams() (*control.RetentionParams, error) {
	if f.keep == "" {
		return nil, nil
	}
	if f.keep == "default" {
		return nil, usageErrorf("e.g. --keep 90d, or --keep forever", "--keep: give an age, or forever")
	}
	p, err := retentionParams("*", f.keep)
	if err != nil {
		return nil, usageErrorf("e.g. --keep 90d, --keep 12h or --keep forever", "--keep %s: %v", f.keep, err)
	}
	return p, nil
}

// applyKeep sets the retention of --keep through api (a running node or
// the store the node is about to run on); it deletes at once what is older.
func (e *env) applyKeep(ctx context.Context, api control.API, p *control.RetentionParams, verbose bool) error {
	if p == nil {
		return nil
	}
	res, err := api.SetRetention(ctx, *p)
	if err != nil {
		return fmt.Errorf("--keep: %w", err)
	}
	if res.Deleted > 0 || verbose {
		fmt.Fprintf(e.stderr, "lanchat: keeping history for %s in rooms without their own retention; deleted %d older messages\n", keepText(res.DefaultSeconds), res.Deleted)
	}
	return nil
}
