//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
)

// childRows is what a figure run in a process of its own hands back.
type childRows struct {
	Rows  []childRow `json:"rows"`
	Notes []string   `json:"notes"`
}

type childRow struct {
	Figure, Lanchat, Baseline, Ratio, Target, Met string
}

// figureInChild runs figure f in a new process of this binary (-only the
// figure, -rows-to a file) and returns its rows; its notes join b's. The
// child logs to b's standard error, as the figure would here.
func figureInChild(f figure) func(ctx context.Context, b *bench) ([]row, error) {
	return func(ctx context.Context, b *bench) ([]row, error) {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		out := filepath.Join(b.tmp, "rows-"+regexp.MustCompile(`\W+`).ReplaceAllString(f.name, "-")+".json")
		args := []string{"-only", "^" + regexp.QuoteMeta(f.name) + "$", "-rows-to", out}
		if b.opts.quick {
			args = append(args, "-quick")
		}
		cmd := exec.CommandContext(ctx, exe, args...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = b.root, b.stderr, b.stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("%s in a process of its own: %w", f.name, err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			return nil, err
		}
		var got childRows
		if err := json.Unmarshal(data, &got); err != nil {
			return nil, fmt.Errorf("%s: %w", out, err)
		}
		b.commands = append(b.commands, got.Notes...)
		rows := make([]row, len(got.Rows))
		for i, r := range got.Rows {
			rows[i] = row{figure: r.Figure, lanchat: r.Lanchat, baseline: r.Baseline, ratio: r.Ratio, target: r.Target, met: r.Met}
		}
		return rows, nil
	}
}

// writeChildRows writes b's rows and notes for the parent (figureInChild).
func writeChildRows(path string, b *bench) error {
	out := childRows{Notes: b.commands}
	for _, r := range b.rows {
		out.Rows = append(out.Rows, childRow{r.figure, r.lanchat, r.baseline, r.ratio, r.target, r.met})
	}
	data, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
