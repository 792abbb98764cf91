package session

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestTryRecvTakesQueuedFramesInOrder: TryRecv never waits, and Recv and
// TryRecv share one order.
func TestTryRecvTakesQueuedFramesInOrder(t *testing.T) {
	d, a := trustedPair(t)
	if f, ok := a.TryRecv(); ok {
		t.Fatalf("TryRecv on an empty queue returned %q", f.Body)
	}
	const n = 200
	for i := range n {
		if err := d.SendWait(context.Background(), appFrame, fmt.Appendf(nil, "line %d", i)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	d.Close("done")
	for i := 0; i < n; {
		f := recvWithin(t, a)
		if want := fmt.Sprintf("line %d", i); string(f.Body) != want {
			t.Fatalf("Recv: frame %d is %q, want %q", i, f.Body, want)
		}
		i++
		for ; i < n; i++ {
			f, ok := a.TryRecv()
			if !ok {
				break
			}
			if want := fmt.Sprintf("line %d", i); string(f.Body) != want {
				t.Fatalf("TryRecv: frame %d is %q, want %q", i, f.Body, want)
			}
		}
	}
	if _, err := a.Recv(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after the last frame: %v, want the close", err)
	}
	if f, ok := a.TryRecv(); ok {
		t.Fatalf("TryRecv after the end returned %q", f.Body)
	}
}
