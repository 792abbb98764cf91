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
	pushed chan struct{} // closed on the next push; nil when nobody waits
	popped chan struct{} // closed on the next pop; nil when nobody waits
}

func newFrameQueue(limit int) *frameQueue { return &frameQueue{limit: limit} }

// idleQueueCap is the most frame slots a drained queue keeps once its link
// is idle: a burst of small frames (up to the byte limit / QueueOverhead,
// 65,536 for the default send queue, 32 bytes each) grows the array, and
// shrink gives it back. A busy link keeps its array (no allocation per
// frame).
const idleQueueCap = 64

// shrink drops the array of a drained queue that grew past idleQueueCap.
// The writer calls it when the link has been idle for a keepalive interval.
func (q *frameQueue) shrink() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.items) && cap(q.items) > idleQueueCap {
		q.items, q.head = nil, 0
	}
}

func frameCost(f Frame) int { return len(f.Body) + QueueOverhead }

// tryPush adds f if it fits.
func (q *frameQueue) tryPush(f Frame) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pushLocked(f)
}

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

// push adds f, waiting for room until ctx is done or stop closes.
func (q *frameQueue) push(ctx context.Context, stop <-chan struct{}, f Frame) error {
	for {
		q.mu.Lock()
		if q.pushLocked(f) {
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

// tryPop removes and returns the oldest frame, if any.
func (q *frameQueue) tryPop() (Frame, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.items) {
		return Frame{}, false
	}
	f := q.items[q.head]
	q.items[q.head] = Frame{}
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	q.cost -= frameCost(f)
	if q.popped != nil {
		close(q.popped)
		q.popped = nil
	}
	return f, true
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
