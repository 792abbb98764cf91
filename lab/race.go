//go:build linux && race

package lab

// raceEnabled: the tests run with -race, so lanchat is built with it too.
const raceEnabled = true
