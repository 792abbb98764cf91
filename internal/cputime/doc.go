// Package cputime reads the CPU time the process has used, for the
// benchmarks' per-core figures (which divide by CPU time, not wall time,
// because the machines they run on are shared).
package cputime
