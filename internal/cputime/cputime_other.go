//go:build !unix

package cputime

import "time"

// Process is not measured here: per-core figures are left out.
func Process() (time.Duration, bool) { return 0, false }
