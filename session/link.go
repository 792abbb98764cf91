package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// A Link is an established, authenticated and encrypted connection to one
// trusted peer. Its methods are safe for concurrent use.
//
// Two goroutines serve it: a writer, which owns the sending direction (queue,
// keepalive, rekey, close frame) and, when the link ends, closes the conn,
// waits for the reader and closes Done; and a reader, which owns the
// receiving direction (frames, read deadline). Both stop when the link ends.
type Link struct {
	conn    net.Conn
	cfg     Config
	peer    lcrypto.IdentityKey
	hello   []byte
	binding []byte
	start   time.Time

	tx    *sendDir
	rx    *recvDir
	sendQ *frameQueue
	bulkQ *frameQueue // bulk frames (SendBulk): written only when sendQ is empty
	recvQ *frameQueue
	pong  chan [pingSize]byte // reader → writer: the latest ping to answer

	closing    chan struct{} // closed when the link starts to end
	readerDone chan struct{} // closed when the reader has returned
	done       chan struct{} // closed when both goroutines have returned

	mu       sync.Mutex // guards the fields below
	err      error      // why the link ended; the first reason wins
	closeMsg []byte     // close frame body to send, nil for none
	flush    bool       // send what is queued before the close frame
	closeErr error      // error writing the close frame
	onDone   []func()

	stats linkStats
}

type linkStats struct {
	sent, received, skipped, pings atomic.Uint64
	rtt                            atomic.Int64
}

// Stats are counters of a link, for tests and diagnostics.
type Stats struct {
	FramesSent     uint64        // application frames written
	FramesReceived uint64        // application frames queued for Recv
	FramesSkipped  uint64        // frames of reserved session types, dropped
	PingsSent      uint64        // keepalive pings
	RekeysSent     uint64        // times the sending direction changed key
	RekeysReceived uint64        // times the receiving direction changed key
	RTT            time.Duration // last ping round trip; 0 before the first pong
	// PooledBuffers is the buffers (16 or 64 KiB) the link holds from
	// the pools all links share: while it moves data, up to 4 (read
	// buffer, message, write buffer, a large frame's first message); 0
	// once it waits for the peer with nothing left to send (bufpool.go).
	PooledBuffers int
}

// flushTimeout bounds how long ending a link may wait for the peer to take
// the last frames (and Close to return): the smaller of this and DeadTimeout.
const flushTimeout = 2 * time.Second

func newLink(h *handshake) *Link {
	l := &Link{
		conn:       h.conn,
		cfg:        *h.cfg,
		peer:       h.peer,
		hello:      h.peerHello,
		binding:    h.binding,
		start:      time.Now(),
		tx:         h.tx,
		rx:         h.rx,
		sendQ:      newFrameQueue(h.cfg.SendQueueBytes),
		bulkQ:      newFrameQueue(h.cfg.SendQueueBytes),
		recvQ:      newFrameQueue(h.cfg.RecvQueueBytes),
		pong:       make(chan [pingSize]byte, 1),
		closing:    make(chan struct{}),
		readerDone: make(chan struct{}),
		done:       make(chan struct{}),
	}
	l.rx.startDeadlines(l.cfg.DeadTimeout)
	go l.readLoop()
	go l.writeLoop()
	return l
}

// Peer returns the peer's identity key, proven by the handshake and trusted.
func (l *Link) Peer() lcrypto.IdentityKey { return l.peer }

// PeerHello returns a copy of the hello frame the peer sent.
func (l *Link) PeerHello() []byte { return append([]byte(nil), l.hello...) }

// ChannelBinding returns a copy of the Noise handshake hash: a value both
// ends share and nobody else can obtain, unique to this link.
func (l *Link) ChannelBinding() []byte { return append([]byte(nil), l.binding...) }

// RemoteAddr returns the peer's network address.
func (l *Link) RemoteAddr() net.Addr { return l.conn.RemoteAddr() }

// Done is closed when the link has ended and its goroutines have stopped.
func (l *Link) Done() <-chan struct{} { return l.done }

// Err says why the link ended, or nil while it is up. It is a *CloseError
// (matching ErrClosed) for a close by either side, or wraps ErrUncleanClose,
// ErrDeadPeer, ErrProtocol or ErrNonceExhausted.
func (l *Link) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Stats returns the link's counters.
func (l *Link) Stats() Stats {
	return Stats{
		FramesSent:     l.stats.sent.Load(),
		FramesReceived: l.stats.received.Load(),
		FramesSkipped:  l.stats.skipped.Load(),
		PingsSent:      l.stats.pings.Load(),
		RekeysSent:     l.tx.rekeys.Load(),
		RekeysReceived: l.rx.rekeys.Load(),
		RTT:            time.Duration(l.stats.rtt.Load()),
		PooledBuffers:  int(l.tx.pooled.Load() + l.rx.pooled.Load()),
	}
}

// Send queues a frame and returns at once. It fails with ErrQueueFull if the
// frame does not fit in Config.SendQueueBytes (the peer is not keeping up)
// and with ErrClosed once the link is ending. body is copied.
func (l *Link) Send(typ FrameType, body []byte) error {
	if err := l.checkFrame(typ, body); err != nil {
		return err
	}
	if !l.sendQ.tryPushCopy(typ, body) {
		return ErrQueueFull
	}
	return nil
}

// SendWait queues a frame, waiting for room in the send queue: flow control
// for bulk transfers. It fails with ctx's error or ErrClosed.
func (l *Link) SendWait(ctx context.Context, typ FrameType, body []byte) error {
	if err := l.checkFrame(typ, body); err != nil {
		return err
	}
	if err := l.sendQ.pushCopy(ctx, l.closing, typ, body); err != nil {
		if errors.Is(err, errStopped) {
			return ErrClosed
		}
		return err
	}
	return nil
}

// SendBulk queues a bulk frame (a file chunk), waiting for room in the
// link's bulk queue, which is as large as the send queue and separate from
// it: the writer takes a bulk frame only when no frame of Send or SendWait
// waits, so bulk traffic never delays chat by more than the one bulk frame
// being written. It fails with ctx's error or ErrClosed. Bulk frames still
// queued when the link closes are dropped, not flushed. Unlike Send, body is
// not copied (it is large): the caller must not change it afterwards.
func (l *Link) SendBulk(ctx context.Context, typ FrameType, body []byte) error {
	return l.SendBulkDone(ctx, typ, body, nil)
}

// SendBulkDone is SendBulk that calls done, if not nil, once the link no
// longer needs body (it is sealed): the caller may then use body again,
// for the next frame. done is not called for a frame dropped when the link
// ends, nor when SendBulkDone fails: body is then left to the garbage
// collector.
func (l *Link) SendBulkDone(ctx context.Context, typ FrameType, body []byte, done func()) error {
	if err := l.checkFrame(typ, body); err != nil {
		return err
	}
	f := queued{Frame: Frame{Type: typ, Body: body}, done: done}
	if err := l.bulkQ.pushWith(ctx, l.closing, func() bool { return l.bulkQ.pushLocked(f) }); err != nil {
		if errors.Is(err, errStopped) {
			return ErrClosed
		}
		return err
	}
	return nil
}

// checkFrame says whether a frame may be queued: an application type, a
// body within MaxFrameSize, a link that is not ending.
func (l *Link) checkFrame(typ FrameType, body []byte) error {
	if !typ.isApp() {
		return fmt.Errorf("%w: %s", ErrFrameType, typ)
	}
	if len(body) > l.cfg.MaxFrameSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrFrameTooLarge, len(body), l.cfg.MaxFrameSize)
	}
	select {
	case <-l.closing:
		return ErrClosed
	default:
	}
	return nil
}

// Recv returns the next application frame from the peer, in order: every
// type from FirstAppFrame up, untouched (the application skips the types it
// does not know). Reserved session types are skipped (Stats.FramesSkipped).
// Frames that arrived before the link ended are still returned; after them
// Recv returns Err(). It fails with ctx's error when ctx is done first.
func (l *Link) Recv(ctx context.Context) (Frame, error) {
	for {
		if f, ok := l.recvQ.tryPop(); ok {
			return f, nil
		}
		select {
		case <-l.recvQ.nonEmpty():
		case <-l.readerDone:
			if f, ok := l.recvQ.tryPop(); ok {
				return f, nil
			}
			return Frame{}, l.Err()
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		}
	}
}

// Close sends what is queued and a close frame with reason (cut to
// MaxCloseReason bytes), closes the connection and waits for the link's
// goroutines to stop; the peer's Err becomes a *CloseError with this reason.
// It waits at most about min(2 s, DeadTimeout) for a peer that does not
// read. It returns the error writing the close frame, if any; closing a link
// that already ended returns nil.
func (l *Link) Close(reason string) error {
	return l.CloseWith(CloseNormal, reason)
}

// CloseWith is Close with a code other than CloseNormal: the application
// closes a link whose peer broke the application's protocol (a malformed
// hello or chat frame) with CloseProtocolError, the code the link layer uses
// for its own protocol errors, so one rule holds for every layer.
func (l *Link) CloseWith(code CloseCode, reason string) error {
	l.end(&CloseError{Code: code, Reason: reason}, encodeClose(code, reason), true)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closeErr
}

// afterDone runs f once the link is done (at once if it already is).
func (l *Link) afterDone(f func()) {
	l.mu.Lock()
	select {
	case <-l.done:
		l.mu.Unlock()
		f()
		return
	default:
	}
	l.onDone = append(l.onDone, f)
	l.mu.Unlock()
}
