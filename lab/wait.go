//go:build linux

package lab

import (
	"context"
	"fmt"
	"time"
)

// pollEvery is how often Poll checks its condition.
const pollEvery = 25 * time.Millisecond

// Poll checks cond until it holds, ctx ends, or limit passes; it returns
// an error saying which.
func Poll(ctx context.Context, limit time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("condition not met within %v: %w", limit, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}
