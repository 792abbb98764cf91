//go:build !unix

package chatui

import (
	"context"
	"os"
)

// TTYReader reads a terminal. Here a read cannot be interrupted: the
// reading goroutine ends with the process.
type TTYReader struct {
	Ctx context.Context
	F   *os.File
}

func (r *TTYReader) Read(p []byte) (int, error) {
	if err := r.Ctx.Err(); err != nil {
		return 0, err
	}
	return r.F.Read(p)
}

// notifyResize is not supported here: the width stays as it was at start.
func notifyResize(chan<- os.Signal) {}
