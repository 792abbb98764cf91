package session

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"
	"time"

	"github.com/lanchat/lanchat/internal/fuzzseed"
)

// TestLazyReaderReadsWhatBufioReads: whatever the pace of the underlying
// reader and the sizes asked for, the lazy reader returns the bytes that
// bufio.Reader returns, ends with the same error, and holds no pooled
// buffer once the stream has caught up.
func TestLazyReaderReadsWhatBufioReads(t *testing.T) {
	stream := make([]byte, 600<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range stream {
		stream[i] = byte(rng.Uint32())
	}
	paces := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"all at once", func(r io.Reader) io.Reader { return r }},
		{"one byte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
		{"data with EOF", iotest.DataErrReader},
		{"bursts", func(r io.Reader) io.Reader { return &burstReader{r: r, rng: rand.New(rand.NewPCG(3, 4))} }},
	}
	sizes := []int{1, 2, 7, 511, 512, 513, 4096, 65534, 65535, 70000}
	for _, pace := range paces {
		t.Run(pace.name, func(t *testing.T) {
			lr := newLazyReader(pace.wrap(bytes.NewReader(stream)))
			var got bytes.Buffer
			buf := make([]byte, 70000)
			for i := 0; ; i++ {
				n, err := io.ReadFull(lr, buf[:sizes[i%len(sizes)]])
				got.Write(buf[:n])
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					break
				}
				if err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
			}
			want, err := io.ReadAll(bufio.NewReader(pace.wrap(bytes.NewReader(stream))))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("read %d bytes differing from bufio's %d", got.Len(), len(want))
			}
			if n, err := lr.Read(buf[:10]); n != 0 || err != io.EOF {
				t.Fatalf("after the end: %d, %v; want 0, EOF", n, err)
			}
			lr.close()
			if h := lr.held.Load(); h != 0 {
				t.Fatalf("%d pooled buffers held after close", h)
			}
		})
	}
}

// burstReader returns random amounts: sometimes a large burst, mostly a
// little, as a socket does.
type burstReader struct {
	r   io.Reader
	rng *rand.Rand
}

func (b *burstReader) Read(p []byte) (int, error) {
	n := 1 + b.rng.IntN(300)
	if b.rng.IntN(4) == 0 {
		n = 1 + b.rng.IntN(100<<10)
	}
	return b.r.Read(p[:min(n, len(p))])
}

// TestIdleLinkReleasesLargeBuffers: frames of every size move both ways,
// intact and in order, and once the link waits for the peer neither end
// holds a large buffer (PooledBuffers), however large the frames were.
func TestIdleLinkReleasesLargeBuffers(t *testing.T) {
	a, b := trustedPair(t)
	sizes := []int{0, 100, 600, 65000, 65519, 65520, 200_000, 10}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for round := range 2 {
		for _, from := range []*Link{a, b} {
			to := b
			if from == b {
				to = a
			}
			for i, n := range sizes {
				body := bytes.Repeat([]byte{byte(round*16 + i)}, n)
				if err := from.SendWait(ctx, appFrame, body); err != nil {
					t.Fatal(err)
				}
			}
			for i, n := range sizes {
				f := recvWithin(t, to)
				if want := bytes.Repeat([]byte{byte(round*16 + i)}, n); f.Type != appFrame || !bytes.Equal(f.Body, want) {
					t.Fatalf("round %d frame %d: %s of %d bytes, want %d bytes of %d", round, i, f.Type, len(f.Body), n, round*16+i)
				}
			}
		}
		for _, l := range []*Link{a, b} {
			if !pollUntil(func() bool { return l.Stats().PooledBuffers == 0 }) {
				t.Fatalf("round %d: an idle link still holds %d large buffers", round, l.Stats().PooledBuffers)
			}
		}
	}
}

// TestGoroutinesPerIdleLink pins what an idle link runs: a reader and a
// writer at each end, nothing per frame or per timer.
func TestGoroutinesPerIdleLink(t *testing.T) {
	const links = 8
	// Links of earlier tests may still be ending: count from none.
	if !pollUntil(func() bool { return sessionGoroutines() == 0 }) {
		t.Fatalf("%d goroutines of session code still run from earlier tests", sessionGoroutines())
	}
	var ends []*Link
	for range links {
		a, b := trustedPair(t)
		ends = append(ends, a, b)
	}
	want := 2 * len(ends)
	if !pollUntil(func() bool { return sessionGoroutines() == want }) {
		t.Fatalf("%d goroutines of session code for %d idle link ends, want 2 each (%d)", sessionGoroutines(), len(ends), want)
	}
	for _, l := range ends {
		if l.Stats().PooledBuffers != 0 {
			t.Fatalf("an idle link holds %d large buffers", l.Stats().PooledBuffers)
		}
	}
}

// sessionGoroutines counts the goroutines running session code, other
// than the caller.
func sessionGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for i, g := range bytes.Split(buf, []byte("\n\n")) {
		if i > 0 && bytes.Contains(g, []byte("lanchat/session.")) && !bytes.Contains(g, []byte("lanchat/session.Test")) {
			count++
		}
	}
	return count
}

// pollUntil reports whether cond holds within waitLimit.
func pollUntil(cond func() bool) bool {
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// TestDrainedQueueKeepsNoLargeArray: after a burst of many small frames,
// taken in order, a drained queue that shrinks (its link idle) holds a
// small array again, and still takes and gives frames in order; a queue
// with frames in it keeps them.
func TestDrainedQueueKeepsNoLargeArray(t *testing.T) {
	q := newFrameQueue(4 << 20)
	for round := range 2 {
		const burst = 20_000
		for i := range burst {
			if !q.tryPushCopy(appFrame, []byte{byte(i), byte(i >> 8)}) {
				t.Fatalf("round %d: frame %d refused", round, i)
			}
		}
		q.shrink() // not drained: nothing may be lost
		for i := range burst {
			f, ok := q.tryPop()
			if !ok || f.Body[0] != byte(i) || f.Body[1] != byte(i>>8) {
				t.Fatalf("round %d: frame %d out of order or missing", round, i)
			}
		}
		if _, ok := q.tryPop(); ok {
			t.Fatalf("round %d: a frame after the burst", round)
		}
		q.shrink()
		if c := len(q.ring); c > idleQueueCap {
			t.Fatalf("round %d: a drained, shrunk queue keeps %d slots, at most %d", round, c, idleQueueCap)
		}
	}
}

// TestIdleLinkShrinksItsQueues: a burst of small frames through a link
// with a short keepalive interval; once the link has been idle for an
// interval, its queues hold small arrays again.
func TestIdleLinkShrinksItsQueues(t *testing.T) {
	dcfg, acfg := pairConfigs(t)
	dcfg.KeepaliveInterval, acfg.KeepaliveInterval = 50*time.Millisecond, 50*time.Millisecond
	a, b := linkPair(t, dcfg, acfg)
	const burst = 5000
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for i := range burst {
		if err := a.SendWait(ctx, appFrame, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range burst {
		if f := recvWithin(t, b); f.Body[0] != byte(i) {
			t.Fatalf("frame %d out of order", i)
		}
	}
	queueCap := func(q *frameQueue) int {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.ring)
	}
	for _, l := range []*Link{a, b} {
		if !pollUntil(func() bool {
			return queueCap(l.sendQ) <= idleQueueCap && queueCap(l.recvQ) <= idleQueueCap && queueCap(l.bulkQ) <= idleQueueCap
		}) {
			t.Fatalf("an idle link's queues keep %d, %d and %d slots, at most %d each",
				queueCap(l.sendQ), queueCap(l.recvQ), queueCap(l.bulkQ), idleQueueCap)
		}
	}
}

// FuzzLazyReader: the input's first 16 bytes drive the pace of the
// underlying reader and the sizes asked for, the rest is the stream. The
// lazy reader must return exactly the stream, then EOF, and hold no pooled
// buffer after close.
func FuzzLazyReader(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "FuzzLazyReader") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 16 {
			return
		}
		seed1, seed2 := binary.BigEndian.Uint64(in), binary.BigEndian.Uint64(in[8:])
		stream := in[16:]
		rng := rand.New(rand.NewPCG(seed1, seed2))
		lr := newLazyReader(&burstReader{r: bytes.NewReader(stream), rng: rand.New(rand.NewPCG(seed2, seed1))})
		var got []byte
		buf := make([]byte, 2*mediumBufSize)
		for range 10 * (len(stream) + 1) {
			size := 1 + rng.IntN(600)
			if rng.IntN(8) == 0 {
				size = 1 + rng.IntN(len(buf))
			}
			n, err := lr.Read(buf[:size])
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
		}
		if !bytes.Equal(got, stream) {
			t.Fatalf("read %d bytes differing from the %d-byte stream", len(got), len(stream))
		}
		if n, err := lr.Read(buf[:1]); n != 0 || err != io.EOF {
			t.Fatalf("after the end: %d, %v; want 0, EOF", n, err)
		}
		lr.close()
		if h := lr.held.Load(); h != 0 {
			t.Fatalf("%d pooled buffers held after close", h)
		}
	})
}
