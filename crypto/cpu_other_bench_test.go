//go:build !unix

package crypto

import "time"

// processCPU is not measured here: per-core figures are left out.
func processCPU() (time.Duration, bool) { return 0, false }
