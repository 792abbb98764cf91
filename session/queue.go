package session

import (
	"context"
	"errors"
	"sync"
)

// errStopped is returned by frameQueue's waits when their stop channel closes.
var errStopped = errors.New("stopped")

// closedChan is always ready.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// frameQueue is a FIFO of frames bounded by cost: body length plus
// QueueOverhead per frame. Waiters sleep on a channel that is closed (waking
// all of them) when the queue changes, and only exists while someone waits.
type frameQueue struct {
	mu     sync.Mutex
	items  []Frame
	head   int
	cost   int
	limit  int
	block  []byte        // what is left of the block copied bodies are carved from
	pushed chan struct{} // closed on the next push; nil when nobody waits
	popped chan struct{} // closed on the next pop; nil when nobody waits
}

// Copies of small bodies pushed while other frames wait (a burst) are
// carved from one block, so a burst costs one allocation per block rather
// than one per frame. A frame pushed to an empty queue gets its own copy,
// and the queue drops its block when it empties: an idle link keeps none.
const (
	queueBlockSize = 16 << 10
	queueCarveMax  = 2 << 10
)

func newFrameQueue(limit int) *frameQueue { return &frameQueue{limit: limit} }

func frameCost(f Frame) int { return len(f.Body) + QueueOverhead }

func (q *frameQueue) pushLocked(f Frame) bool {
	if q.cost+frameCost(f) > q.limit {
		return false
	}
	if q.head > 32 && q.head > len(q.items)/2 {
		// Reclaim the consumed front instead of growing forever.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, f)
	q.cost += frameCost(f)
	if q.pushed != nil {
		close(q.pushed)
		q.pushed = nil
	}
	return true
}

// tryPushCopy adds a frame with a copy of body if it fits.
func (q *frameQueue) tryPushCopy(typ FrameType, body []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pushCopyLocked(typ, body)
}

func (q *frameQueue) pushCopyLocked(typ FrameType, body []byte) bool {
	f := Frame{Type: typ, Body: body}
	if q.cost+frameCost(f) > q.limit {
		return false
	}
	f.Body = q.copyLocked(body)
	return q.pushLocked(f)
}

// copyLocked copies body, carving the copy from the queue's block during a
// burst. The copy's cap is its length, so no append reaches a neighbour.
func (q *frameQueue) copyLocked(body []byte) []byte {
	n := len(body)
	if n > queueCarveMax || q.head == len(q.items) {
		return append([]byte(nil), body...)
	}
	if len(q.block) < n {
		q.block = make([]byte, queueBlockSize)
	}
	b := q.block[:n:n]
	q.block = q.block[n:]
	copy(b, body)
	return b
}

// push adds f, waiting for room until ctx is done or stop closes.
func (q *frameQueue) push(ctx context.Context, stop <-chan struct{}, f Frame) error {
	return q.pushWith(ctx, stop, func() bool { return q.pushLocked(f) })
}

// pushCopy adds a frame with a copy of body, waiting as push does.
func (q *frameQueue) pushCopy(ctx context.Context, stop <-chan struct{}, typ FrameType, body []byte) error {
	return q.pushWith(ctx, stop, func() bool { return q.pushCopyLocked(typ, body) })
}

func (q *frameQueue) pushWith(ctx context.Context, stop <-chan struct{}, pushLocked func() bool) error {
	for {
		q.mu.Lock()
		if pushLocked() {
			q.mu.Unlock()
			return nil
		}
		if q.popped == nil {
			q.popped = make(chan struct{})
		}
		wait := q.popped
		q.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return errStopped
		}
	}
}

// pushAll adds the frames of fs in order, waiting for room as push does.
func (q *frameQueue) pushAll(ctx context.Context, stop <-chan struct{}, fs []Frame) error {
	for len(fs) > 0 {
		err := q.pushWith(ctx, stop, func() bool {
			n := 0
			for n < len(fs) && q.pushLocked(fs[n]) {
				n++
			}
			fs = fs[n:]
			return n > 0
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tryPop removes and returns the oldest frame, if any.
func (q *frameQueue) tryPop() (Frame, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.items) {
		return Frame{}, false
	}
	f := q.popLocked()
	q.poppedLocked()
	return f, true
}

// popBatch moves the oldest frames to dst and returns it: at least one if
// the queue has any, then more while they number at most maxFrames and
// their bodies at most maxBytes in all.
func (q *frameQueue) popBatch(dst []Frame, maxFrames, maxBytes int) []Frame {
	q.mu.Lock()
	defer q.mu.Unlock()
	start, bytes := len(dst), 0
	for q.head < len(q.items) && len(dst)-start < maxFrames {
		if n := len(q.items[q.head].Body); len(dst) > start && bytes+n > maxBytes {
			break
		} else {
			bytes += n
		}
		dst = append(dst, q.popLocked())
	}
	if len(dst) > start {
		q.poppedLocked()
	}
	return dst
}

func (q *frameQueue) popLocked() Frame {
	f := q.items[q.head]
	q.items[q.head] = Frame{}
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
		q.block = nil
	}
	q.cost -= frameCost(f)
	return f
}

// poppedLocked wakes the pushers waiting for room.
func (q *frameQueue) poppedLocked() {
	if q.popped != nil {
		close(q.popped)
		q.popped = nil
	}
}

// nonEmpty returns a channel that is ready once the queue has a frame. Take
// the frame with tryPop: another consumer may have been faster.
func (q *frameQueue) nonEmpty() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head < len(q.items) {
		return closedChan
	}
	if q.pushed == nil {
		q.pushed = make(chan struct{})
	}
	return q.pushed
}
