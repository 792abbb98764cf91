package session

import (
	"context"
	"github.com/lanchat/lanchat/session/sessiontest"
	"testing"
)

// A chat frame queued while bulk frames wait is written before them: file
// chunks never hold chat back by more than the frame being written.
func TestBulkFramesYieldToChat(t *testing.T) {
	d, a := trustedPair(t)
	const chunk = 256 << 10
	const bulk = 64 // 16 MiB: more than the peer's receive queue and the sockets hold
	pushed := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for i := 0; i < bulk; i++ {
			body := make([]byte, chunk) // SendBulk keeps it
			body[0] = byte(i)
			if err := d.SendBulk(ctx, appFrameBulk, body); err != nil {
				pushed <- err
				return
			}
		}
		pushed <- nil
	}()
	// a does not read yet, so the bulk queue fills up.
	full := d.cfg.SendQueueBytes - (chunk + QueueOverhead)
	sessiontest.Eventually(t, waitLimit, "the bulk queue to fill", func() bool {
		d.bulkQ.mu.Lock()
		defer d.bulkQ.mu.Unlock()
		return d.bulkQ.cost > full
	})
	queued := full / (chunk + QueueOverhead)
	if err := d.Send(appFrame, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	chatAt := -1
	for i := 0; i <= bulk; i++ {
		f := recvWithin(t, a)
		if f.Type == appFrame {
			chatAt = i
		}
	}
	if err := <-pushed; err != nil {
		t.Fatal(err)
	}
	if chatAt < 0 || chatAt > bulk-queued {
		t.Fatalf("chat frame arrived as frame %d of %d; %d bulk frames were queued before it and should have come after", chatAt, bulk+1, queued)
	}
}

// TestSendBulkDoneReusesBodies sends many bulk frames from two buffers,
// each refilled only once its done has been called: every frame must
// arrive with its own bytes, so done comes only after the body is sealed.
func TestSendBulkDoneReusesBodies(t *testing.T) {
	d, a := trustedPair(t)
	const chunk = 256 << 10
	const frames = 48
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	free := make(chan []byte, 2)
	free <- make([]byte, chunk)
	free <- make([]byte, chunk)
	sent := make(chan error, 1)
	go func() {
		for i := 0; i < frames; i++ {
			var body []byte
			select {
			case body = <-free:
			case <-ctx.Done():
				sent <- ctx.Err()
				return
			}
			for j := range body {
				body[j] = byte(i + j/4096)
			}
			if err := d.SendBulkDone(ctx, appFrameBulk, body, func() { free <- body }); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for i := 0; i < frames; i++ {
		f := recvWithin(t, a)
		if len(f.Body) != chunk {
			t.Fatalf("frame %d: %d bytes, want %d", i, len(f.Body), chunk)
		}
		for j, b := range f.Body {
			if b != byte(i+j/4096) {
				t.Fatalf("frame %d: byte %d is %d, want %d: its body was reused before it was sealed", i, j, b, byte(i+j/4096))
			}
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}
