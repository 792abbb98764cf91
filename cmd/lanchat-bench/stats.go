//go:build unix

package main

import (
	"context"
	"math"
	"slices"
	"syscall"
	"time"
)

// percentile returns the nearest-rank p-quantile of ds (0 for none).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func median(ds []time.Duration) time.Duration { return percentile(ds, 0.5) }

func maxDuration(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// quiesce waits until this process uses less than a tenth of a core over
// 100 ms (work left over from the last phase, such as relayed duplicates,
// is done), or at most within.
func quiesce(ctx context.Context, within time.Duration) {
	const window = 100 * time.Millisecond
	deadline := time.Now().Add(within)
	t := time.NewTicker(window)
	defer t.Stop()
	last := cpuTime()
	for time.Now().Before(deadline) {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		now := cpuTime()
		if now-last < window/10 {
			return
		}
		last = now
	}
}
