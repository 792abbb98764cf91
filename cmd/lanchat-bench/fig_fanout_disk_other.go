//go:build unix && !linux

package main

import (
	"context"
	"errors"
	"time"
)

// memStoreDir: the memfs run of the fan-out figure needs Linux's tmpfs.
func memStoreDir(*bench, string) (string, func(), error) {
	return "", nil, errors.New("a memory file system is only set up on Linux")
}

type commitSamples struct {
	commit, fsync []time.Duration
}

func commitLatency(context.Context, string, int) (commitSamples, error) {
	return commitSamples{}, errors.New("the group-commit baseline is only measured on Linux")
}
