package session

import (
	"sync"
	"sync/atomic"
)

// Copies of bodies that Send and SendWait queue are carved from pooled
// blocks: no allocation per frame, and no memory left with an idle link.
const (
	sendBlockSize = 64 << 10
	sendCarveMax  = 16 << 10 // a larger body gets a copy of its own
)

// A sendBlock is shared by the frames carved from it and by the queue that
// carves from it; the last of them to let go gives it back to sendBlocks.
// Only the queue that holds a block as its current one carves from it, under
// that queue's lock. A holder that never lets go (a frame dropped when the
// link ends) only leaves the block to the garbage collector.
type sendBlock struct {
	buf  []byte
	used int
	refs atomic.Int32
}

var sendBlocks = sync.Pool{New: func() any { return &sendBlock{buf: make([]byte, sendBlockSize)} }}

// newSendBlock returns an empty block with one reference: the caller's.
func newSendBlock() *sendBlock {
	b := sendBlocks.Get().(*sendBlock)
	b.used = 0
	b.refs.Store(1)
	return b
}

// carve copies body into the block and returns the copy (its cap is its
// length), with one more reference for it; false if it does not fit.
func (b *sendBlock) carve(body []byte) ([]byte, bool) {
	n := len(body)
	if len(b.buf)-b.used < n {
		return nil, false
	}
	c := b.buf[b.used : b.used+n : b.used+n]
	copy(c, body)
	b.used += n
	b.refs.Add(1)
	return c, true
}

// release drops n references; the last one returns the block to the pool.
func (b *sendBlock) release(n int32) {
	if b.refs.Add(-n) == 0 {
		sendBlocks.Put(b)
	}
}

// releaseAll lets go of the bodies of frames once they are sealed, with one
// atomic operation per run of frames from the same block: the sender adds
// to the same counter, and each operation moves its cache line between
// cores.
func releaseAll(fs []queued) {
	var blk *sendBlock
	var n int32
	for _, f := range fs {
		if f.done != nil {
			f.done()
		}
		if f.blk != blk {
			if blk != nil {
				blk.release(n)
			}
			blk, n = f.blk, 0
		}
		n++
	}
	if blk != nil {
		blk.release(n)
	}
}
