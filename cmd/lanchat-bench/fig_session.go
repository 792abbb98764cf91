//go:build unix

package main

import (
	"context"
	"fmt"
)

// runHandshake: full link setup over loopback TCP, per core, against the
// bare flynn/noise XX handshake in memory (session/bench_test.go). Both are
// counted per end, which is one node's work: the benchmarks run both ends
// in one process, so a complete in-memory handshake counts as two ends.
func runHandshake(ctx context.Context, b *bench) ([]row, error) {
	res, err := b.runGoBench(ctx, "./session/", "^BenchmarkHandshake", b.size.benchtime, "")
	if err != nil {
		return nil, err
	}
	ends, err := metric(res, "BenchmarkHandshake", "link-ends/s/core")
	if err != nil {
		links, err2 := metric(res, "BenchmarkHandshake", "links/s/core")
		if err2 != nil {
			return nil, err
		}
		ends = 2 * links
	}
	bare, err := metric(res, "BenchmarkHandshakeBareNoise", "handshakes/s/core")
	if err != nil {
		return nil, err
	}
	const name = "handshake: full link setup over TCP (Noise XX + identity binding + trust + hellos), per core, per end"
	rows := []row{compared(name,
		measure{ends, "hs/s", ""}, measure{2 * bare, "hs/s", "bare flynn/noise XX in memory, default DH, per end"},
		"≥ 2,500/s per core and ≥ 1.6× bare", func(l, base float64) bool { return l >= 2500 && l >= 1.6*base })}
	if ecdh, err := metric(res, "BenchmarkHandshakeBareNoiseECDH", "handshakes/s/core"); err == nil {
		rows = append(rows, compared(name, measure{ends, "hs/s", ""},
			measure{2 * ecdh, "hs/s", "bare flynn/noise XX in memory, session's crypto/ecdh DH, per end"}, "—", nil))
	}
	// Issue 19: against exactly the primitives one end must compute.
	bound, err := metric(res, "BenchmarkHandshakeCryptoBound", "handshakes/s/core")
	if err != nil {
		return rows, err
	}
	rows = append(rows, compared(name, measure{ends, "hs/s", ""},
		measure{2 * bound, "hs/s", "crypto bound in memory: XX with the session's suite and payloads, one Ed25519 sign, one verify, per end"},
		"≥ 0.8× the crypto bound", func(l, base float64) bool { return l >= 0.8*base }))
	return rows, nil
}

// runLink: 100-byte and 16 KiB frames through one link against raw TCP with
// ChaCha20-Poly1305 per frame and the same framing (session/bench_test.go).
func runLink(ctx context.Context, b *bench) ([]row, error) {
	res, err := b.runGoBench(ctx, "./session/", "^Benchmark(Link|RawChaCha)(Small|Bulk)$", b.size.benchtime, "")
	if err != nil {
		return nil, err
	}
	var rows []row
	for _, c := range []struct {
		name, link, raw string
		target          float64 // issue 19: per core, against raw
		allocs          float64 // at most this many allocations per frame; 0: no target
	}{
		{"link, small (100-byte frames)", "BenchmarkLinkSmall", "BenchmarkRawChaChaSmall", 0.8, 0.1},
		{"link, bulk (16 KiB frames)", "BenchmarkLinkBulk", "BenchmarkRawChaChaBulk", 0.9, 0},
	} {
		r, err := linkRows(res, c.name, c.link, c.raw, c.target)
		if err != nil {
			return rows, err
		}
		rows = append(rows, r...)
		if a, err := metric(res, c.link, "allocs/frame"); err == nil {
			target, ok := "—", check(nil)
			if c.allocs > 0 {
				limit := c.allocs
				target, ok = fmt.Sprintf("≤ %g (no allocation per frame)", limit), func(l, _ float64) bool { return l <= limit }
			}
			rows = append(rows, alone(c.name+": heap allocations per frame (both ends, all four goroutines)",
				measure{a, "allocs/frame", ""}, target, ok))
		}
	}
	return rows, nil
}

func linkRows(res map[string]goBench, name, link, raw string, target float64) ([]row, error) {
	const what = "raw TCP + ChaCha20-Poly1305 per frame"
	var vals [6]float64
	for i, q := range []struct{ bench, unit string }{
		{link, "ns/op"}, {raw, "ns/op"}, {link, "frames/s/core"}, {raw, "frames/s/core"}, {link, "MB/s"}, {raw, "MB/s"},
	} {
		v, err := metric(res, q.bench, q.unit)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	if vals[0] == 0 || vals[1] == 0 {
		return nil, fmt.Errorf("%s: zero ns/op", name)
	}
	return []row{
		compared(name+": msgs/s", measure{1e9 / vals[0], "msgs/s", ""}, measure{1e9 / vals[1], "msgs/s", what}, "—", nil),
		compared(name+": msgs/s per core (CPU time, both ends)", measure{vals[2], "msgs/s", ""}, measure{vals[3], "msgs/s", what},
			fmt.Sprintf("≥ %g× raw per core", target), func(l, base float64) bool { return l >= target*base }),
		compared(name+": MB/s", measure{vals[4], "MB/s", ""}, measure{vals[5], "MB/s", what}, "—", nil),
	}, nil
}
