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
	ring   []queued // a ring of len(ring) slots, a power of two
	head   int      // the oldest frame's slot
	n      int      // frames in the ring
	cost   int
	limit  int
	block  *sendBlock    // the block copies are carved from now; nil if none
	pushed chan struct{} // closed on the next push; nil when nobody waits
	popped chan struct{} // closed on the next pop; nil when nobody waits
}

// queued is a frame in a queue, with the block its body was carved from
// (nil if it was not).
type queued struct {
	Frame
	blk  *sendBlock
	done func() // SendBulkDone's: called once the body is sealed
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
	if q.n == 0 && len(q.ring) > idleQueueCap {
		q.ring, q.head = nil, 0
	}
	if q.block != nil { // an idle queue keeps no send block either
		q.block.release(1)
		q.block = nil
	}
}

func frameCost(f Frame) int { return len(f.Body) + QueueOverhead }

// minRing is the ring a queue starts with; it doubles when full.
const minRing = 16

func (q *frameQueue) pushLocked(f queued) bool {
	if q.cost+frameCost(f.Frame) > q.limit {
		return false
	}
	if q.n == len(q.ring) {
		q.growLocked()
	}
	q.ring[(q.head+q.n)&(len(q.ring)-1)] = f
	q.n++
	q.cost += frameCost(f.Frame)
	if q.pushed != nil {
		close(q.pushed)
		q.pushed = nil
	}
	return true
}

// growLocked doubles the ring (it is full), oldest frame first.
func (q *frameQueue) growLocked() {
	r := make([]queued, max(minRing, 2*len(q.ring)))
	k := copy(r, q.ring[q.head:])
	copy(r[k:], q.ring[:q.head])
	q.ring, q.head = r, 0
}

// tryPush adds f, its body not copied, if it fits.
func (q *frameQueue) tryPush(f Frame) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pushLocked(queued{Frame: f})
}

// tryPushCopy adds a frame with a copy of body if it fits.
func (q *frameQueue) tryPushCopy(typ FrameType, body []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pushCopyLocked(typ, body)
}

func (q *frameQueue) pushCopyLocked(typ FrameType, body []byte) bool {
	if q.cost+len(body)+QueueOverhead > q.limit {
		return false
	}
	f := queued{Frame: Frame{Type: typ}}
	f.Body, f.blk = q.copyLocked(body)
	return q.pushLocked(f)
}

// copyLocked copies body, into the queue's current block if it is small.
func (q *frameQueue) copyLocked(body []byte) ([]byte, *sendBlock) {
	if len(body) > sendCarveMax {
		return append([]byte(nil), body...), nil
	}
	if len(body) == 0 {
		return nil, nil
	}
	if q.block != nil {
		if c, ok := q.block.carve(body); ok {
			return c, q.block
		}
		q.block.release(1)
	}
	q.block = newSendBlock()
	c, _ := q.block.carve(body)
	return c, q.block
}

// push adds f, waiting for room until ctx is done or stop closes.
func (q *frameQueue) push(ctx context.Context, stop <-chan struct{}, f Frame) error {
	return q.pushWith(ctx, stop, func() bool { return q.pushLocked(queued{Frame: f}) })
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
			for n < len(fs) && q.pushLocked(queued{Frame: fs[n]}) {
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

// tryPop removes and returns the oldest frame, if any. A carved body's
// block is left to the garbage collector.
func (q *frameQueue) tryPop() (Frame, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		return Frame{}, false
	}
	f := q.popLocked()
	q.poppedLocked()
	return f.Frame, true
}

// popBatch moves the oldest frames to dst and returns it: at least one if
// the queue has any, then more while they number at most maxFrames and
// their bodies at most maxBytes in all. Pass them to releaseAll once sealed.
func (q *frameQueue) popBatch(dst []queued, maxFrames, maxBytes int) []queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	start, bytes := len(dst), 0
	for q.n > 0 && len(dst)-start < maxFrames {
		if n := len(q.ring[q.head].Body); len(dst) > start && bytes+n > maxBytes {
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

func (q *frameQueue) popLocked() queued {
	f := q.ring[q.head]
	q.ring[q.head] = queued{}
	q.head = (q.head + 1) & (len(q.ring) - 1)
	q.n--
	if q.n == 0 {
		q.head = 0
		if q.block != nil { // an idle queue holds no block
			q.block.release(1)
			q.block = nil
		}
	}
	q.cost -= frameCost(f.Frame)
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
	if q.n > 0 {
		return closedChan
	}
	if q.pushed == nil {
		q.pushed = make(chan struct{})
	}
	return q.pushed
}
