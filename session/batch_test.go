package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lanchat/lanchat/session/sessiontest"
)

// numbered is a body of n bytes (at least 8) that says who sent it and its
// place in that sender's sequence, and is filled with a pattern of both.
func numbered(sender, i, n int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(sender*31 + i*7 + j)
	}
	binary.BigEndian.PutUint32(b, uint32(sender))
	binary.BigEndian.PutUint32(b[4:], uint32(i))
	return b
}

// TestBatchedWritesKeepOrder: chat senders and bulk senders at once. Every
// frame arrives whole, each sender's frames in the order sent, and each
// bulk frame after every chat frame that was queued before the writer took
// it (checked by the bulk test below); here, under -race, that batching
// reorders and loses nothing across the two queues.
func TestBatchedWritesKeepOrder(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	d, a := trustedPair(t)
	const chatSenders, bulkSenders, each = 4, 2, 300
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, chatSenders+bulkSenders)
	for s := range chatSenders + bulkSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var err error
				if s < chatSenders {
					err = d.SendWait(ctx, appFrame, numbered(s, i, 8+(i*37)%300))
				} else {
					err = d.SendBulk(ctx, appFrameBulk, numbered(s, i, 8+(i*7919)%(3*writeBufferSize)))
				}
				if err != nil {
					errs <- fmt.Errorf("sender %d: %w", s, err)
					return
				}
			}
		}()
	}
	next := make([]int, chatSenders+bulkSenders)
	for range (chatSenders + bulkSenders) * each {
		f := recvWithin(t, a)
		s, i := int(binary.BigEndian.Uint32(f.Body)), int(binary.BigEndian.Uint32(f.Body[4:]))
		if s >= len(next) || i != next[s] {
			t.Fatalf("frame %d of sender %d, want %d", i, s, next[s])
		}
		if wantType := appFrame; s >= chatSenders && f.Type != appFrameBulk || s < chatSenders && f.Type != wantType {
			t.Fatalf("sender %d frame %d has type %s", s, i, f.Type)
		}
		if !bytes.Equal(f.Body, numbered(s, i, len(f.Body))) {
			t.Fatalf("sender %d frame %d (%d bytes) is corrupt", s, i, len(f.Body))
		}
		next[s]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestBatchBoundaries sends bursts of frames whose sizes sit around every
// buffer edge of the fast paths (carving blocks, the write buffer, the read
// buffer, the Noise message and chunk limits), interleaved with small
// frames so each edge falls at many offsets of a batch. Every byte arrives.
func TestBatchBoundaries(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	d, a := trustedPair(t)
	msgBody := func(message int) int { return message - TagSize - frameHeaderSize } // a body filling a message of this size
	edges := []int{
		8, 9,
		sendCarveMax - 1, sendCarveMax, sendCarveMax + 1,
		sendBlockSize/4 - 1, sendBlockSize / 3,
		msgBody(recvCarveMax) - 1, msgBody(recvCarveMax), msgBody(recvCarveMax) + 1,
		msgBody(recvBlockMax) - 1, msgBody(recvBlockMax), msgBody(recvBlockMax) + 1,
		readBufferSize - 1, readBufferSize, readBufferSize + 1,
		writeBufferSize - 1, writeBufferSize, writeBufferSize + 1,
		firstChunkMax - 1, firstChunkMax, firstChunkMax + 1,
		firstChunkMax + MaxPlaintext, firstChunkMax + MaxPlaintext + 1,
	}
	for _, size := range edges {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			var sent [][]byte
			for i := range 12 {
				n := size
				if i%3 == 1 {
					n = 8 + i*13 // a small frame shifts the next edge
				}
				b := numbered(size, i, n)
				if err := d.SendWait(context.Background(), appFrame, b); err != nil {
					t.Fatal(err)
				}
				sent = append(sent, b)
			}
			for i, want := range sent {
				if f := recvWithin(t, a); !bytes.Equal(f.Body, want) {
					t.Fatalf("frame %d: got %d bytes, want %d (or different content)", i, len(f.Body), len(want))
				}
			}
		})
	}
}

// TestReceivedBodiesAreTheirOwn: frames read in one batch share memory
// blocks, but no frame can reach another: appending to one body, or
// writing all over it, leaves the next ones as sent. And a sender may reuse
// its buffer at once after Send.
func TestReceivedBodiesAreTheirOwn(t *testing.T) {
	d, a := trustedPair(t)
	buf := make([]byte, 100)
	var want [][]byte
	for i := range 50 {
		copy(buf, numbered(1, i, 100))
		if err := d.Send(appFrame, buf); err != nil {
			t.Fatal(err)
		}
		want = append(want, numbered(1, i, 100))
		clear(buf) // Send copied it
	}
	var got []Frame
	for range want {
		got = append(got, recvWithin(t, a))
	}
	for i := 0; i < len(got); i += 2 { // scribble over every other frame
		_ = append(got[i].Body, bytes.Repeat([]byte{0xee}, 200)...)
		for j := range got[i].Body {
			got[i].Body[j] = 0xee
		}
	}
	for i := 1; i < len(got); i += 2 {
		if !bytes.Equal(got[i].Body, want[i]) {
			t.Fatalf("frame %d changed when its neighbours were written to", i)
		}
	}
}

// gateConn holds the first write after armed until release closes, then
// flips one ciphertext byte in the middle message of the first write that
// carries at least minMessages messages of msgSize bytes.
type gateConn struct {
	net.Conn
	armed, held atomic.Bool
	release     chan struct{}
	minMessages int
	msgSize     int
	tampered    atomic.Int64 // 1 + index of the tampered message among those written after arming
	written     atomic.Int64 // messages written after arming
}

func (c *gateConn) Write(p []byte) (int, error) {
	if !c.armed.Load() {
		return c.Conn.Write(p)
	}
	if !c.held.Swap(true) {
		<-c.release
	}
	if len(p)%c.msgSize == 0 {
		n := len(p) / c.msgSize
		if n >= c.minMessages && c.tampered.Load() == 0 {
			mid := n / 2
			p = bytes.Clone(p)
			p[mid*c.msgSize+LengthPrefixSize+frameHeaderSize+3] ^= 0x40
			c.tampered.Store(c.written.Load() + int64(mid) + 1)
		}
		c.written.Add(int64(n))
	}
	return c.Conn.Write(p)
}

// TestTamperedFrameInBatchClosesLink: one flipped ciphertext byte in the
// middle of a batch written with one syscall. The receiver delivers exactly
// the frames before it, in order, then ends the link with a protocol error;
// nothing after the tampered frame is delivered.
func TestTamperedFrameInBatchClosesLink(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	const body, frames = 100, 200
	client, server := sessiontest.Pair(t)
	gc := &gateConn{Conn: client, release: make(chan struct{}), minMessages: 16,
		msgSize: LengthPrefixSize + frameHeaderSize + body + TagSize}
	dcfg, acfg := pairConfigs(t)
	d, a := handshakeOver(t, gc, server, dcfg, acfg)
	if d.err != nil || a.err != nil {
		t.Fatalf("handshake: %v, %v", d.err, a.err)
	}
	gc.armed.Store(true)
	for i := range frames {
		if err := d.link.Send(appFrame, numbered(0, i, body)); err != nil {
			t.Fatal(err)
		}
	}
	close(gc.release) // the writer held its first write; the rest is queued by now
	var got int
	for {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		f, err := a.link.Recv(ctx)
		cancel()
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("after %d frames: %v, want ErrProtocol", got, err)
			}
			break
		}
		if !bytes.Equal(f.Body, numbered(0, got, body)) {
			t.Fatalf("frame %d is not the one sent", got)
		}
		got++
	}
	bad := gc.tampered.Load()
	if bad == 0 {
		t.Fatalf("no write carried %d messages; the writer did not batch", gc.minMessages)
	}
	if int64(got) != bad-1 {
		t.Fatalf("delivered %d frames, want the %d before the tampered one", got, bad-1)
	}
}

// TestLinkAllocationsPerFrame pins what bursts of frames allocate, both
// ends together (sender, writer, reader, Recv): sent copies are carved from
// pooled blocks, small received bodies from one block per read, batches and
// write buffers come from pools, the cipher allocates no nonce. What is left
// is the body Recv hands over for a large frame. Before, each frame cost 5.
func TestLinkAllocationsPerFrame(t *testing.T) {
	d, a := trustedPair(t)
	for _, tt := range []struct {
		size, burst int
		most        float64
		raceMost    float64 // the race detector makes sync.Pool drop a quarter of what it is given
	}{
		{100, 256, 0.1, 0.1},
		{16 << 10, 64, 1.25, 2.5}, // the received body, which Recv hands over; and wake-up channels
	} {
		most := tt.most
		if raceEnabled {
			most = tt.raceMost
		}
		body := make([]byte, tt.size)
		run := func() {
			for range tt.burst {
				if err := d.SendWait(context.Background(), appFrame, body); err != nil {
					t.Fatal(err)
				}
			}
			for range tt.burst {
				if _, err := a.Recv(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
		}
		run() // warm the pools
		perFrame := testing.AllocsPerRun(20, run) / float64(tt.burst)
		t.Logf("%d-byte frames: %.3f allocations per frame", tt.size, perFrame)
		if perFrame > most {
			t.Errorf("%d-byte frames: %.3f allocations per frame, want at most %g", tt.size, perFrame, most)
		}
	}
}

// TestFrameQueueRing pushes and pops in uneven steps so the ring wraps
// around and grows while wrapped: frames come out in order, each body as
// pushed, and a queue that empties keeps no block.
func TestFrameQueueRing(t *testing.T) {
	q := newFrameQueue(1 << 30)
	pushed, popped := 0, 0
	for round := range 40 {
		for range round*3%17 + 1 {
			if !q.tryPushCopy(appFrame, numbered(0, pushed, 8+pushed%50)) {
				t.Fatal("push refused")
			}
			pushed++
		}
		for range round * 5 % 13 {
			f, ok := q.tryPop()
			if !ok {
				break
			}
			if !bytes.Equal(f.Body, numbered(0, popped, 8+popped%50)) {
				t.Fatalf("frame %d out of order or corrupt", popped)
			}
			popped++
		}
	}
	for batch := q.popBatch(nil, 7, 1<<20); len(batch) > 0; batch = q.popBatch(nil, 7, 1<<20) {
		for _, f := range batch {
			if !bytes.Equal(f.Body, numbered(0, popped, 8+popped%50)) {
				t.Fatalf("frame %d out of order or corrupt", popped)
			}
			popped++
		}
		releaseAll(batch)
	}
	if popped != pushed {
		t.Fatalf("popped %d of %d", popped, pushed)
	}
	if q.n != 0 || q.block != nil || q.cost != 0 {
		t.Fatalf("empty queue holds %d frames, block %v, cost %d", q.n, q.block != nil, q.cost)
	}
}

// countConn holds the first write after armed until release closes, and
// counts the writes and bytes after that one.
type countConn struct {
	net.Conn
	armed, held    atomic.Bool
	release        chan struct{}
	writes, nbytes atomic.Int64
}

func (c *countConn) Write(p []byte) (int, error) {
	if c.armed.Load() {
		if !c.held.Swap(true) {
			<-c.release
		} else {
			c.writes.Add(1)
			c.nbytes.Add(int64(len(p)))
		}
	}
	return c.Conn.Write(p)
}

// TestQueuedBatchesGoOutInFullWrites: frames that queued while the writer
// was blocked go out in writes of writeBufferSize bytes (one more for the
// rest), not one short write per batch of batchFrames frames: 2,000
// 100-byte frames take 4 writes (it was 8, one per 256 frames). All of them
// arrive, in order.
func TestQueuedBatchesGoOutInFullWrites(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	const body, frames = 100, 2000
	client, server := sessiontest.Pair(t)
	cc := &countConn{Conn: client, release: make(chan struct{})}
	dcfg, acfg := pairConfigs(t)
	d, a := handshakeOver(t, cc, server, dcfg, acfg)
	if d.err != nil || a.err != nil {
		t.Fatalf("handshake: %v, %v", d.err, a.err)
	}
	cc.armed.Store(true)
	for i := range frames {
		if err := d.link.Send(appFrame, numbered(0, i, body)); err != nil {
			t.Fatal(err)
		}
	}
	close(cc.release) // the writer held its first write; the rest is queued by now
	for i := range frames {
		if f := recvWithin(t, a.link); !bytes.Equal(f.Body, numbered(0, i, body)) {
			t.Fatalf("frame %d is not the one sent", i)
		}
	}
	msg := LengthPrefixSize + frameHeaderSize + body + TagSize
	// The held write carried the first frame or the first few; a pong may
	// add one write.
	most := int64((frames*msg+writeBufferSize-1)/writeBufferSize) + 1
	if got := cc.writes.Load(); got > most {
		t.Fatalf("%d bytes went out in %d writes, want at most %d", cc.nbytes.Load(), got, most)
	}
	t.Logf("%d bytes in %d writes", cc.nbytes.Load(), cc.writes.Load())
}
