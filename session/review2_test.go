package session

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/lanchat/lanchat/session/sessiontest"
)

// TestHeldBodiesKeepTheirBytes: a receiver that keeps every body it got
// across thousands of frames, while two senders reuse one buffer each at
// once after SendWait (scribbling over it) and the link's send blocks,
// write buffers, read buffers and carved receive blocks are taken and given
// back many times over. No body held changes afterwards: no pooled memory
// is reused while a body carved from it is still held, on either side.
// Sizes cross the carving bounds (sendCarveMax, recvCarveMax) so every
// kind of body is held. Run with -race as well.
func TestHeldBodiesKeepTheirBytes(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	d, a := trustedPair(t)
	const senders, each = 2, 1500
	sizes := []int{8, 40, recvCarveMax - 30, recvCarveMax + 100, sendCarveMax - 1, sendCarveMax + 1, 300}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, sendCarveMax+1)
			for i := range each {
				n := sizes[(i+s)%len(sizes)]
				copy(buf, numbered(s, i, n))
				if err := d.SendWait(ctx, appFrame, buf[:n]); err != nil {
					errs <- fmt.Errorf("sender %d: %w", s, err)
					return
				}
				for j := range buf[:n] {
					buf[j] = 0xee // Send copied it: the queued copy must not change
				}
			}
		}()
	}
	held := make([]Frame, 0, senders*each)
	for range senders * each {
		held = append(held, recvWithin(t, a))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	next := make([]int, senders)
	for k, f := range held {
		s, i := int(f.Body[3]), int(uint32(f.Body[4])<<24|uint32(f.Body[5])<<16|uint32(f.Body[6])<<8|uint32(f.Body[7]))
		if s >= senders || i != next[s] {
			t.Fatalf("held frame %d: sender %d frame %d, want frame %d", k, s, i, next[s])
		}
		next[s]++
		if !bytes.Equal(f.Body, numbered(s, i, len(f.Body))) {
			t.Fatalf("held frame %d (sender %d frame %d, %d bytes) changed after it was received", k, s, i, len(f.Body))
		}
	}
}
