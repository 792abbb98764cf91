//go:build unix

package chatui

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

// TTYReader reads a terminal until its context ends, so the goroutine
// reading it can be stopped: it waits in poll(2), never in read(2).
type TTYReader struct {
	Ctx context.Context
	F   *os.File
}

func (r *TTYReader) Read(p []byte) (int, error) {
	fds := []unix.PollFd{{Fd: int32(r.F.Fd()), Events: unix.POLLIN}}
	for {
		if err := r.Ctx.Err(); err != nil {
			return 0, err
		}
		n, err := unix.Poll(fds, ttyPollMillis)
		if errors.Is(err, unix.EINTR) || err == nil && n == 0 {
			continue
		}
		if err != nil {
			return 0, err
		}
		return r.F.Read(p)
	}
}

// notifyResize sends on ch when the terminal's size changes.
func notifyResize(ch chan<- os.Signal) { signal.Notify(ch, syscall.SIGWINCH) }
