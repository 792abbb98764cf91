//go:build unix

package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// ttyPollMillis is how often a blocked terminal read looks at its context.
const ttyPollMillis = 100

// ttyReader reads the terminal until its context ends, so the goroutine
// reading it can be stopped: it waits in poll(2), never in read(2).
type ttyReader struct {
	ctx context.Context
	f   *os.File
}

func (r *ttyReader) Read(p []byte) (int, error) {
	fds := []unix.PollFd{{Fd: int32(r.f.Fd()), Events: unix.POLLIN}}
	for {
		if err := r.ctx.Err(); err != nil {
			return 0, err
		}
		n, err := unix.Poll(fds, ttyPollMillis)
		if errors.Is(err, unix.EINTR) || err == nil && n == 0 {
			continue
		}
		if err != nil {
			return 0, err
		}
		n, err = r.f.Read(p)
		translateKeys(p[:n])
		return n, err
	}
}

// notifyResize sends on ch when the terminal's size changes.
func notifyResize(ch chan<- os.Signal) { signal.Notify(ch, syscall.SIGWINCH) }
