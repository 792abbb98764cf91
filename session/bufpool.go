package session

import (
	"io"
	"sync"
	"sync/atomic"
)

// Memory of an idle link. A link spends most of its life waiting for the
// peer, and while it waits it holds only small buffers: the buffers a
// message stream needs (the read buffer, a Noise message of up to 64 KiB,
// the encrypted bytes gathered for a write, the plaintext of a large
// frame's first message) come from pools shared by all links while the
// link moves data, and go back as soon as the link has nothing more to do.
// Many idle links then cost what one busy link does. Two sizes, so that a
// burst of small frames (a link coming up) takes 16 KiB, not 64.

// Sizes of the pooled buffers.
const (
	mediumBufSize = 16 << 10        // a burst of small frames
	bigBufSize    = MaxNoiseMessage // a whole Noise message
)

// idleReadSize is the read buffer of a link that has nothing buffered: it
// holds the next few small frames, or the start of a burst.
const idleReadSize = 512

var (
	mediumBufs = sync.Pool{New: func() any { b := make([]byte, mediumBufSize); return &b }}
	bigBufs    = sync.Pool{New: func() any { b := make([]byte, bigBufSize); return &b }}
)

// getBuf returns a pooled buffer of at least n bytes (n ≤ bigBufSize), at
// its full length, and counts it in held (the holder's count, for tests
// and Stats).
func getBuf(held *atomic.Int32, n int) *[]byte {
	held.Add(1)
	pool := &bigBufs
	if n <= mediumBufSize {
		pool = &mediumBufs
	}
	b := pool.Get().(*[]byte)
	*b = (*b)[:cap(*b)]
	return b
}

// putBuf gives b back to the pool of its size; the caller must not use it
// afterwards.
func putBuf(held *atomic.Int32, b *[]byte) {
	held.Add(-1)
	switch c := cap(*b); {
	case c >= bigBufSize:
		bigBufs.Put(b)
	case c >= mediumBufSize:
		mediumBufs.Put(b)
	}
}

// lazyReader is a buffered reader that holds a pooled buffer only while
// data streams in. A read that would wait for the peer (nothing buffered,
// and the last fill did not fill its buffer: the stream had caught up)
// gives the pooled buffer back first and waits with a small one of its
// own; after a fill that filled its buffer (more is likely waiting) the
// next takes a pooled one of mediumBufSize. Reads of at least that size
// bypass the buffer, as bufio.Reader's do. Not safe for concurrent use
// (the recvDir's mutex covers it).
type lazyReader struct {
	rd        io.Reader
	held      *atomic.Int32 // pooled buffers of the receiving direction
	big       *[]byte       // pooled; nil when the link holds none
	data      []byte        // bytes read but not yet returned: a window of small or *big
	saturated bool          // the last fill filled its whole buffer
	err       error         // from the last fill, returned once data is drained
	small     [idleReadSize]byte
}

func newLazyReader(rd io.Reader) *lazyReader { return &lazyReader{rd: rd, held: new(atomic.Int32)} }

// Read implements io.Reader.
func (r *lazyReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(r.data) == 0 {
		if r.err != nil {
			err := r.err
			r.err = nil
			return 0, err
		}
		if len(p) >= mediumBufSize {
			r.release() // a large read needs no buffer of ours
			return r.rd.Read(p)
		}
		r.fill()
		if len(r.data) == 0 {
			err := r.err
			r.err = nil
			return 0, err
		}
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// Buffered returns the number of bytes that can be read without a read
// from the underlying reader.
func (r *lazyReader) Buffered() int { return len(r.data) }

// maxEmptyReads bounds the reads returning nothing in a row (as bufio's).
const maxEmptyReads = 100

// fill reads once into the buffer the stream's pace calls for.
func (r *lazyReader) fill() {
	switch {
	case !r.saturated:
		r.release() // the stream had caught up: this read may wait
	case r.big == nil:
		r.big = getBuf(r.held, mediumBufSize) // more is likely waiting
	}
	dst := r.small[:]
	if r.big != nil {
		dst = *r.big
	}
	for range maxEmptyReads {
		n, err := r.rd.Read(dst)
		r.data, r.err = dst[:n], err
		if n > 0 || err != nil {
			r.saturated = n == len(dst)
			return
		}
	}
	r.err = io.ErrNoProgress
}

// release gives the pooled buffer back. Only when nothing unread is in it:
// fill and Read call it with nothing buffered, close discards the rest.
func (r *lazyReader) release() {
	if r.big != nil {
		putBuf(r.held, r.big)
		r.big = nil
	}
}

// close gives the pooled buffer back for good: the link's reader is done.
func (r *lazyReader) close() {
	r.data, r.saturated = nil, false
	r.release()
}
