//go:build unix

package main

import (
	"context"
)

// runMarks: the terminal's per-message marks (#15): one refresh of 64 own
// lines' marks after a receipt event, against how often a room's marks
// may refresh (chatui's markDelay, 100 ms); and the bytes written to
// rewrite one mark in place, against printing its line again
// (cmd/lanchat/chatui/marks_bench_test.go).
func runMarks(ctx context.Context, b *bench) ([]row, error) {
	res, err := b.runGoBench(ctx, "./cmd/lanchat/chatui/", "^Benchmark(MarkRefresh64|MarkRewrite64|ShowOwnLine)$", b.size.benchtime, "")
	if err != nil {
		return nil, err
	}
	refresh, err := metric(res, "BenchmarkMarkRefresh64", "ms/refresh")
	if err != nil {
		return nil, err
	}
	perMark, err := metric(res, "BenchmarkMarkRewrite64", "B/mark")
	if err != nil {
		return nil, err
	}
	perLine, err := metric(res, "BenchmarkShowOwnLine", "B/line")
	if err != nil {
		return nil, err
	}
	const markDelayMs = 100
	return []row{
		compared("terminal marks: one refresh of 64 on-screen marks after a receipt event (64 receipt lookups in a real node)",
			measure{refresh, "ms", ""}, measure{markDelayMs, "ms", "markDelay: a room's marks refresh at most this often"},
			"≤ 10 ms (a tenth of markDelay)", func(l, _ float64) bool { return l <= markDelayMs/10 }),
		compared("terminal marks: bytes to the terminal per mark rewritten in place",
			measure{perMark, "B", ""}, measure{perLine, "B", "printing the own line again"},
			"< the line's bytes", func(l, base float64) bool { return l < base }),
	}, nil
}
