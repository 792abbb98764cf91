//go:build linux && !race

package lab

const raceEnabled = false
