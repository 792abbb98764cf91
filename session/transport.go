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

// Buffer sizes of a link (tuning, not protocol). Message buffers start
// small; larger ones are borrowed from pools while the traffic needs them
// (bufpool.go), so an idle link costs little memory.
const (
	readBufferSize  = 16 << 10 // bufio.Reader of the tests' raw peers
	writeBufferSize = 64 << 10 // encrypted bytes gathered before a write
	initialMsgSize  = 512
)

// sendDir is the sending half of a link: its CipherState and everything that
// must advance with it. flynn/noise's CipherState has no lock and moves its
// nonce on every call, so one mutex covers a whole frame: concurrent callers
// can neither share a nonce nor interleave the chunks of two frames.
type sendDir struct {
	mu         sync.Mutex
	cs         *noise.CipherState
	w          io.Writer
	out        []byte  // encrypted messages, with length prefixes, not yet written
	outBig     *[]byte // pooled, while out needs more than its small buffer; nil when none
	small      []byte  // out's buffer while little is written
	scratch    []byte  // plaintext of a small frame's first message
	rekeyAfter uint64  // messages per key (Config.RekeyAfterMessages)
	sinceRekey uint64  // messages sent under the current key
	broken     error   // after a failed write the stream is cut mid-message

	rekeys atomic.Uint64 // read without mu: a writer may hold it while blocked
	pooled atomic.Int32  // pooled buffers held (read without mu)
}

func newSendDir(cs *noise.CipherState, w io.Writer, rekeyAfter uint64) *sendDir {
	small := make([]byte, 0, initialMsgSize)
	return &sendDir{
		cs:         cs,
		w:          w,
		out:        small,
		small:      small,
		scratch:    make([]byte, 0, initialMsgSize),
		rekeyAfter: rekeyAfter,
	}
}

// writeFrame encrypts one frame into the write buffer (call flush to send),
// then rekeys if the current key has carried rekeyAfter messages. A frame
// that would need nonce nonceLimit or beyond fails with ErrNonceExhausted,
// except a one-message close frame, which may use nonceLimit itself.
func (s *sendDir) writeFrame(typ FrameType, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writeFrameLocked(typ, body); err != nil {
		return err
	}
	if typ != frameClose && s.sinceRekey >= s.rekeyAfter {
		return s.rekeyLocked()
	}
	return nil
}

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
	if need := frameHeaderSize + min(len(body), firstChunkMax); cap(s.scratch) < need {
		// A large frame: its first message is gathered in a pooled
		// buffer, given back as soon as the frame is encrypted.
		big := getBuf(&s.pooled, need)
		defer putBuf(&s.pooled, big)
		return splitFrame((*big)[:0], typ, body, s.writeMessageLocked)
	}
	return splitFrame(s.scratch, typ, body, s.writeMessageLocked)
}

// writeMessageLocked encrypts one Noise message onto out, and writes out to
// the conn once it holds writeBufferSize bytes.
func (s *sendDir) writeMessageLocked(plain []byte) error {
	if need := len(s.out) + LengthPrefixSize + len(plain) + TagSize; need > cap(s.out) && (s.outBig == nil || cap(*s.outBig) < bigBufSize) {
		// A pooled buffer (a larger one if the medium is full), given
		// back by the next flush; past the large one, append grows it.
		b := getBuf(&s.pooled, min(need, bigBufSize))
		s.out = append((*b)[:0], s.out...)
		if s.outBig != nil {
			putBuf(&s.pooled, s.outBig)
		}
		s.outBig = b
	}
	start := len(s.out)
	out, err := s.cs.Encrypt(append(s.out, 0, 0), nil, plain)
	if err != nil {
		return s.breakLocked(fmt.Errorf("encrypting: %w", err))
	}
	binary.BigEndian.PutUint16(out[start:], uint16(len(out)-start-LengthPrefixSize))
	s.out = out
	s.sinceRekey++
	if len(s.out) >= writeBufferSize {
		return s.flushLocked()
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

// flush writes out what writeFrame buffered.
func (s *sendDir) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *sendDir) flushLocked() error {
	if s.broken != nil {
		return s.broken
	}
	if len(s.out) == 0 {
		return nil
	}
	_, err := s.w.Write(s.out)
	s.out = s.out[:0]
	if s.outBig != nil {
		// Written: an idle link keeps only its small buffer.
		*s.outBig = s.out
		putBuf(&s.pooled, s.outBig)
		s.outBig, s.out = nil, s.small
	}
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
	r     io.Reader // a *lazyReader on the conn (a bufio.Reader in some tests)
	msg   []byte    // one Noise message, decrypted in place: small, or *big
	small []byte    // the message buffer of an idle link
	big   *[]byte   // pooled, for a message larger than small; nil when none
	conn  net.Conn
	dead  time.Duration // 0: no read deadline (during the handshake)
	armed time.Time     // when the read deadline was last pushed back

	lastNonce uint64 // nonce of the message readFrame last read

	rekeys atomic.Uint64 // read without mu
	pooled *atomic.Int32 // pooled buffers held, the lazyReader's included (read without mu)
}

func newRecvDir(cs *noise.CipherState, conn net.Conn, r io.Reader) *recvDir {
	small := make([]byte, initialMsgSize)
	pooled := new(atomic.Int32)
	if lr, ok := r.(*lazyReader); ok {
		pooled = lr.held
	}
	return &recvDir{cs: cs, r: r, conn: conn, msg: small, small: small, pooled: pooled}
}

// readFrame reads and decrypts one frame. Session frames other than close
// may not use nonce nonceLimit, which is kept for the close frame.
func (d *recvDir) readFrame(maxFrame int) (Frame, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := readFrame(d.nextLocked, maxFrame)
	d.idleLocked()
	if err == nil && d.cs.Nonce() > nonceLimit && f.Type != frameClose {
		err = fmt.Errorf("%w: %w: %s frame at nonce %d", ErrProtocol, ErrNonceExhausted, f.Type, d.lastNonce)
	}
	return f, err
}

// idleLocked gives a large message buffer back to the pool once nothing is
// buffered: the next read may wait for the peer, and a waiting link holds
// only its small buffers.
func (d *recvDir) idleLocked() {
	if d.big == nil {
		return
	}
	if b, ok := d.r.(interface{ Buffered() int }); ok && b.Buffered() > 0 {
		return // more frames are here already
	}
	putBuf(d.pooled, d.big)
	d.big, d.msg = nil, d.small
}

// release gives every pooled buffer back: the link's reader has returned.
func (d *recvDir) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.big != nil {
		putBuf(d.pooled, d.big)
		d.big, d.msg = nil, d.small
	}
	if lr, ok := d.r.(*lazyReader); ok {
		lr.close()
	}
}

// nextLocked reads one Noise message and returns its plaintext, valid until
// the next call. A message larger than the small buffer goes into a pooled
// one (16 KiB, or MaxNoiseMessage beyond): never more than that, whatever
// the peer sends.
func (d *recvDir) nextLocked() ([]byte, error) {
	d.armLocked()
	var hdr [LengthPrefixSize]byte
	if _, err := io.ReadFull(d.r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n < TagSize {
		return nil, fmt.Errorf("%w: %d-byte noise message, the tag alone is %d", ErrProtocol, n, TagSize)
	}
	if len(d.msg) < n {
		if d.big != nil {
			putBuf(d.pooled, d.big) // a medium one, too small for this message
		}
		d.big = getBuf(d.pooled, n)
		d.msg = *d.big
	}
	ct := d.msg[:n]
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
