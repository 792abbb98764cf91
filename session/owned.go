package session

import (
	"context"
	"errors"
)

// SendOwned is Send without the copy: the link keeps body until the frame
// is sealed. The link only reads body, never writes it, so the caller may
// hand the same body to other links too, but must not change it afterwards
// (not after the link ends either: a frame still queued then is dropped
// without a word). It is for a body encoded for this send and not touched
// again: a sync batch, a message relayed as received. Frames of Send,
// SendWait, SendOwned and SendWaitOwned share one queue and one order; a
// full queue is ErrQueueFull, as for Send.
func (l *Link) SendOwned(typ FrameType, body []byte) error {
	if err := l.checkFrame(typ, body); err != nil {
		return err
	}
	if !l.sendQ.tryPush(Frame{Type: typ, Body: body}) {
		return ErrQueueFull
	}
	return nil
}

// SendWaitOwned is SendWait without the copy, with SendOwned's rule for
// body: it waits for room in the send queue, and fails with ctx's error or
// ErrClosed.
func (l *Link) SendWaitOwned(ctx context.Context, typ FrameType, body []byte) error {
	if err := l.checkFrame(typ, body); err != nil {
		return err
	}
	if err := l.sendQ.push(ctx, l.closing, Frame{Type: typ, Body: body}); err != nil {
		if errors.Is(err, errStopped) {
			return ErrClosed
		}
		return err
	}
	return nil
}
