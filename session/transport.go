package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flynn/noise"
)

// Buffer sizes of a link (tuning, not protocol). Nothing here stays
// allocated on an idle link but the bufio.Reader: the write buffer comes
// from a pool for each batch of frames and goes back once they are written,
// and received frames are decrypted into memory that Recv hands out.
const (
	readBufferSize  = 16 << 10 // bufio.Reader of the tests' raw peers
	writeBufferSize = 64 << 10 // encrypted bytes gathered before a write

	// recvBlockMax bounds the block that small received messages are
	// carved from: one allocation serves every message one read brought.
	recvBlockMax = readBufferSize
	// recvCarveMax is the largest message carved from a block; a larger
	// one gets its own allocation.
	recvCarveMax = 2 << 10
)

// writeBufs holds write buffers between batches, shared by every link. A
// buffer holds writeBufferSize bytes and one more Noise message, so sealing
// never grows it.
var writeBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, writeBufferSize+LengthPrefixSize+MaxNoiseMessage)
	return &b
}}

// sendDir is the sending half of a link: its CipherState and everything that
// must advance with it. flynn/noise's CipherState has no lock and moves its
// nonce on every call, so one mutex covers a whole frame: concurrent callers
// can neither share a nonce nor interleave the chunks of two frames.
type sendDir struct {
	mu         sync.Mutex
	cs         *noise.CipherState
	w          io.Writer
	out        *[]byte // from writeBufs: sealed messages not yet written; nil when empty
	rekeyAfter uint64  // messages per key (Config.RekeyAfterMessages)
	sinceRekey uint64  // messages sent under the current key
	broken     error   // after a failed write the stream is cut mid-message

	rekeys atomic.Uint64 // read without mu: a writer may hold it while blocked
	pooled atomic.Int32  // pooled buffers held (read without mu)
}

func newSendDir(cs *noise.CipherState, w io.Writer, rekeyAfter uint64) *sendDir {
	return &sendDir{cs: cs, w: w, rekeyAfter: rekeyAfter}
}

// writeFrame encrypts one frame into the write buffer (call flush to send),
// then rekeys if the current key has carried rekeyAfter messages. A frame
// that would need nonce nonceLimit or beyond fails with ErrNonceExhausted,
// except a one-message close frame, which may use nonceLimit itself.
func (s *sendDir) writeFrame(typ FrameType, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeFrameRekeyLocked(typ, body)
}

// writeFrames is writeFrame for each frame of batch in order, under one
// lock: the writer's way to seal everything it took from the queues. The
// sealed bytes go out once writeBufferSize of them are gathered; the writer
// calls flush when the queues are empty, so a run of batches goes out in
// full writeBufferSize writes (one syscall each), not one short write per
// batch. It returns how many frames were sealed.
func (s *sendDir) writeFrames(batch []queued) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range batch {
		if err := s.writeFrameRekeyLocked(f.Type, f.Body); err != nil {
			return i, err
		}
	}
	return len(batch), nil
}

func (s *sendDir) writeFrameRekeyLocked(typ FrameType, body []byte) error {
	if err := s.writeFrameLocked(typ, body); err != nil {
		return err
	}
	if typ != frameClose && s.sinceRekey >= s.rekeyAfter {
		return s.rekeyLocked()
	}
	return nil
}

// writeFrameLocked seals a frame's Noise messages (see frame.go for the
// layout) onto the write buffer. The first message is laid out in the
// buffer and sealed in place; the others are sealed straight from body.
func (s *sendDir) writeFrameLocked(typ FrameType, body []byte) error {
	if s.broken != nil {
		return s.broken
	}
	n, chunks := s.cs.Nonce(), chunkCount(len(body))
	limit := uint64(nonceLimit)
	if typ == frameClose {
		limit++ // the reserved last nonce
	}
	if n > limit || chunks > limit-n {
		return fmt.Errorf("%w: sending nonce %d", ErrNonceExhausted, n)
	}
	first := min(len(body), firstChunkMax)
	out := s.bufferLocked()
	start := len(out)
	out = append(out, 0, 0, byte(typ), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(out[start+LengthPrefixSize+1:], uint32(len(body)))
	out = append(out, body[:first]...)
	if err := s.sealLocked(out[:start+LengthPrefixSize], out[start+LengthPrefixSize:]); err != nil {
		return err
	}
	for rest := body[first:]; len(rest) > 0; {
		n := min(len(rest), MaxPlaintext)
		if err := s.sealLocked(append(s.bufferLocked(), 0, 0), rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// bufferLocked returns the write buffer, taking one from the pool if there
// is none.
func (s *sendDir) bufferLocked() []byte {
	if s.out == nil {
		s.out = writeBufs.Get().(*[]byte)
		s.pooled.Add(1)
	}
	return *s.out
}

// sealLocked encrypts plain as one Noise message after head, which ends
// with the message's 2-byte length prefix. plain may be the bytes right
// after head in the same buffer (sealed in place) or elsewhere. Once the
// buffer holds writeBufferSize bytes it is written to the conn.
func (s *sendDir) sealLocked(head, plain []byte) error {
	out, err := s.cs.Encrypt(head, nil, plain)
	if err != nil {
		return s.breakLocked(fmt.Errorf("encrypting: %w", err))
	}
	binary.BigEndian.PutUint16(out[len(head)-LengthPrefixSize:], uint16(len(out)-len(head)))
	*s.out = out
	s.sinceRekey++
	if len(out) >= writeBufferSize {
		return s.writeOutLocked()
	}
	return nil
}

func (s *sendDir) breakLocked(err error) error {
	if s.broken == nil {
		s.broken = err
	}
	return s.broken
}

// rekey sends a rekey frame under the current key, then moves to the next.
func (s *sendDir) rekey() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rekeyLocked()
}

func (s *sendDir) rekeyLocked() error {
	if err := s.writeFrameLocked(frameRekey, nil); err != nil {
		return err
	}
	s.cs.Rekey()
	s.sinceRekey = 0
	s.rekeys.Add(1)
	return nil
}

// flush writes out what writeFrame buffered and gives the buffer back.
func (s *sendDir) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *sendDir) flushLocked() error {
	err := s.writeOutLocked()
	if s.out != nil {
		writeBufs.Put(s.out)
		s.out = nil
		s.pooled.Add(-1)
	}
	return err
}

// writeOutLocked writes the buffered messages with one Write and empties
// the buffer, keeping it.
func (s *sendDir) writeOutLocked() error {
	if s.broken != nil {
		return s.broken
	}
	if s.out == nil || len(*s.out) == 0 {
		return nil
	}
	_, err := s.w.Write(*s.out)
	*s.out = (*s.out)[:0]
	if err != nil {
		return s.breakLocked(err)
	}
	return nil
}

// recvDir is the receiving half of a link, with its own mutex for the same
// reasons as sendDir. The mutex is held while waiting for the peer.
type recvDir struct {
	mu    sync.Mutex
	cs    *noise.CipherState
	r     bufferedReader
	hdr   [LengthPrefixSize]byte
	block []byte // what is left of the block small messages are carved from
	conn  net.Conn
	dead  time.Duration // 0: no read deadline (during the handshake)
	armed time.Time     // when the read deadline was last pushed back

	lastNonce uint64 // nonce of the message readFrame last read

	rekeys atomic.Uint64 // read without mu
	pooled *atomic.Int32 // pooled buffers held, the lazyReader's included (read without mu)
}

// bufferedReader is the buffered reader a recvDir reads the conn through
// (a *bufio.Reader): Buffered says whether the next read can be served
// without waiting for the peer.
type bufferedReader interface {
	io.Reader
	Buffered() int
}

func newRecvDir(cs *noise.CipherState, conn net.Conn, r bufferedReader) *recvDir {
	pooled := new(atomic.Int32)
	if lr, ok := r.(*lazyReader); ok {
		pooled = lr.held
	}
	return &recvDir{cs: cs, r: r, conn: conn, pooled: pooled}
}

// release gives the reader's pooled buffer back: the link's reader has
// returned.
func (d *recvDir) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.block = nil
	if lr, ok := d.r.(*lazyReader); ok {
		lr.close()
	}
}

// readFrame reads and decrypts one frame. Session frames other than close
// may not use nonce nonceLimit, which is kept for the close frame. The body
// is the frame's own: nothing here writes to it again.
func (d *recvDir) readFrame(maxFrame int) (Frame, error) {
	f, _, err := d.readFrameMore(maxFrame)
	return f, err
}

// readFrameMore is readFrame, also reporting whether the reader holds the
// start of another message already (reading it will not wait for the peer).
func (d *recvDir) readFrameMore(maxFrame int) (Frame, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := d.readFrameLocked(maxFrame)
	return f, d.r.Buffered() >= LengthPrefixSize, err
}

func (d *recvDir) readFrameLocked(maxFrame int) (Frame, error) {
	f, err := readFrameInto(d.nextLocked, maxFrame)
	if err == nil && d.cs.Nonce() > nonceLimit && f.Type != frameClose {
		err = fmt.Errorf("%w: %w: %s frame at nonce %d", ErrProtocol, ErrNonceExhausted, f.Type, d.lastNonce)
	}
	return f, err
}

// readBuffered appends to dst the application frames that follow while the
// reader holds the start of another message, under one lock, until dst has
// maxFrames frames or maxBytes of bodies. A session frame ends the batch: it
// is returned as last (stopped true) for the caller to act on before reading
// on, since a rekey changes the key of what follows.
func (d *recvDir) readBuffered(dst []Frame, maxFrame, maxFrames, maxBytes int) (_ []Frame, last Frame, stopped bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	bytes := 0
	for _, f := range dst {
		bytes += len(f.Body)
	}
	for len(dst) < maxFrames && bytes < maxBytes && d.r.Buffered() >= LengthPrefixSize {
		f, err := d.readFrameLocked(maxFrame)
		if err != nil {
			return dst, Frame{}, false, err
		}
		if !f.Type.isApp() {
			return dst, f, true, nil
		}
		dst = append(dst, f)
		bytes += len(f.Body)
	}
	return dst, Frame{}, false, nil
}

// nextLocked reads one Noise message and decrypts it in place: into dst if
// its capacity holds the ciphertext, else into memory of its own that is
// never used again (carved from a block when it is small). It allocates at
// most one message of MaxNoiseMessage, whatever the peer sends.
func (d *recvDir) nextLocked(dst []byte) ([]byte, error) {
	if d.r.Buffered() < LengthPrefixSize {
		// This read may wait for the peer: push the deadline back, and
		// let an idle link keep no block.
		d.block = nil
		d.armLocked()
	}
	if _, err := io.ReadFull(d.r, d.hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(d.hdr[:]))
	if n < TagSize {
		return nil, fmt.Errorf("%w: %d-byte noise message, the tag alone is %d", ErrProtocol, n, TagSize)
	}
	ct := dst[:0]
	if cap(ct) < n {
		ct = d.allocLocked(n)
	}
	ct = ct[:n]
	if d.r.Buffered() < n {
		d.armLocked()
	}
	if _, err := io.ReadFull(d.r, ct); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	d.lastNonce = d.cs.Nonce()
	p, err := d.cs.Decrypt(ct[:0], nil, ct)
	if err != nil {
		return nil, fmt.Errorf("%w: message %d does not authenticate (tampered, replayed, reordered or dropped): %w",
			ErrProtocol, d.lastNonce, err)
	}
	return p, nil
}

// allocLocked returns n bytes for one message. A small message is carved
// from a block sized to what the reader already holds, so the messages of
// one read share one allocation and the block is used up when they are.
func (d *recvDir) allocLocked(n int) []byte {
	if n > recvCarveMax {
		return make([]byte, n)
	}
	if len(d.block) < n {
		d.block = make([]byte, min(max(n, d.r.Buffered()), recvBlockMax))
	}
	b := d.block[:n:n]
	d.block = d.block[n:]
	if len(d.block) < TagSize+frameHeaderSize {
		d.block = nil // too small for any message
	}
	return b
}

// armLocked pushes the read deadline back to now + dead + dead/8, at most
// every dead/8: the link is declared dead after between dead and 9/8·dead of
// silence, without a timer update per message.
func (d *recvDir) armLocked() {
	if d.dead <= 0 {
		return
	}
	now := time.Now()
	if now.Sub(d.armed) < d.dead/8 {
		return
	}
	d.armed = now
	// An error here means the conn is closed; the read reports it.
	_ = d.conn.SetReadDeadline(now.Add(d.dead + d.dead/8))
}

// rekey moves to the next receiving key, after the peer's rekey frame.
func (d *recvDir) rekey() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cs.Rekey()
	d.rekeys.Add(1)
}

func (d *recvDir) startDeadlines(dead time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dead = dead
}
