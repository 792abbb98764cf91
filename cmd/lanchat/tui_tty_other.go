//go:build !unix

package main

import (
	"context"
	"os"
)

// ttyReader reads the terminal. Here a read cannot be interrupted: the
// reading goroutine ends with the process.
type ttyReader struct {
	ctx context.Context
	f   *os.File
}

func (r *ttyReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.f.Read(p)
	translateKeys(p[:n])
	return n, err
}

// notifyResize is not supported here: the width stays as it was at start.
func notifyResize(chan<- os.Signal) {}
