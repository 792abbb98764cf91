package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"
)

// end starts ending the link for err, unless it is already ending. closeMsg
// is the close frame body to send (nil: none); flush sends the queued frames
// first. A write deadline bounds the time this may take.
func (l *Link) end(err error, closeMsg []byte, flush bool) {
	l.mu.Lock()
	first := l.err == nil
	if first {
		l.err, l.closeMsg, l.flush = err, closeMsg, flush
	}
	l.mu.Unlock()
	if !first {
		return
	}
	// An error means the conn is closed already; the writer finds out.
	_ = l.conn.SetWriteDeadline(time.Now().Add(min(flushTimeout, l.cfg.DeadTimeout)))
	close(l.closing)
}

// fail ends the link for an error detected on it, telling the peer why.
func (l *Link) fail(err error) {
	code, send := closeCodeFor(err)
	var msg []byte
	if send {
		msg = encodeClose(code, err.Error())
	}
	l.end(err, msg, false)
}

// closeCodeFor says which close frame, if any, reports err to the peer.
func closeCodeFor(err error) (CloseCode, bool) {
	switch {
	case errors.Is(err, ErrNonceExhausted):
		return CloseNonceExhausted, true
	case errors.Is(err, ErrProtocol):
		return CloseProtocolError, true
	case errors.Is(err, ErrDeadPeer):
		return CloseDeadPeer, true
	}
	return 0, false // the connection itself failed: nothing can be sent
}

// recoverTo turns a panic in a link goroutine into the end of that link.
func (l *Link) recoverTo(who string) {
	if r := recover(); r != nil {
		l.end(fmt.Errorf("%w: %w in the %s: %v", ErrProtocol, errInternal, who, r), nil, false)
	}
}

// readLoop reads frames until the link ends.
func (l *Link) readLoop() {
	defer close(l.readerDone)
	defer l.rx.release()
	defer l.recoverTo("reader")
	for {
		f, err := l.rx.readFrame(l.cfg.MaxFrameSize)
		if err != nil {
			l.fail(l.readError(err))
			return
		}
		if !l.handle(f) {
			return
		}
	}
}

// readError says what a failed read means for the link.
func (l *Link) readError(err error) error {
	switch {
	case errors.Is(err, ErrProtocol), errors.Is(err, ErrNonceExhausted):
		return err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: nothing received for %v", ErrDeadPeer, l.cfg.DeadTimeout)
	}
	return fmt.Errorf("%w: %w", ErrUncleanClose, err)
}

// handle acts on one received frame; false means the link is over.
func (l *Link) handle(f Frame) bool {
	switch f.Type {
	case framePing:
		select {
		case l.pong <- [pingSize]byte(f.Body):
		default: // a pong is already due; one answer is enough
		}
	case framePong:
		sent := time.Duration(binary.BigEndian.Uint64(f.Body))
		if rtt := time.Since(l.start) - sent; rtt >= 0 {
			l.stats.rtt.Store(int64(rtt))
		}
	case frameRekey:
		l.rx.rekey()
	case frameClose:
		l.end(decodeClose(f.Body), nil, false)
		return false
	case frameHello:
		l.fail(fmt.Errorf("%w: a second hello", ErrProtocol))
		return false
	default:
		if !f.Type.known() {
			l.stats.skipped.Add(1)
			return true
		}
		if err := l.recvQ.push(context.Background(), l.closing, f); err != nil {
			return false
		}
		l.stats.received.Add(1)
	}
	return true
}

// writeLoop sends queued frames, pongs, keepalive pings and time-based
// rekeys until the link ends; then it sends the close frame and tears the
// link down.
func (l *Link) writeLoop() {
	defer l.finish()
	defer l.recoverTo("writer")
	keepalive := time.NewTimer(l.cfg.KeepaliveInterval)
	defer keepalive.Stop()
	rekey := time.NewTicker(l.cfg.RekeyAfter)
	defer rekey.Stop()
	for {
		select {
		case <-l.closing: // first, so a failed link writes no more
			l.writeClose()
			return
		default:
		}
		var err error
		select {
		case <-l.closing:
			l.writeClose()
			return
		case <-l.sendQ.nonEmpty():
			err = l.writeQueued()
		case <-l.bulkQ.nonEmpty():
			err = l.writeQueued()
		case body := <-l.pong:
			err = l.writeNow(framePong, body[:])
		case <-keepalive.C:
			l.shrinkQueues() // idle for an interval: give back what a burst grew
			err = l.sendPing()
		case <-rekey.C:
			if err = l.tx.rekey(); err == nil {
				err = l.tx.flush()
			}
		}
		if err != nil {
			l.fail(l.writeError(err))
			continue
		}
		keepalive.Reset(l.cfg.KeepaliveInterval)
	}
}

func (l *Link) writeError(err error) error {
	if errors.Is(err, ErrNonceExhausted) {
		return err
	}
	return fmt.Errorf("%w: writing: %w", ErrUncleanClose, err)
}

// writeBatch bounds the bytes writeQueued sends before it returns to the
// writer's loop, so pongs and timers are served during a bulk transfer.
const writeBatch = 4 * writeBufferSize

// writeQueued writes queued frames, up to about writeBatch bytes, and
// flushes.
func (l *Link) writeQueued() error {
	for written := 0; written < writeBatch; {
		select {
		case <-l.closing:
			return nil // writeClose decides what is still sent
		default:
		}
		f, ok := l.sendQ.tryPop()
		if !ok {
			// Bulk frames only when no other frame waits; the loop
			// looks at the send queue again before each one.
			if f, ok = l.bulkQ.tryPop(); !ok {
				break
			}
		}
		if err := l.tx.writeFrame(f.Type, f.Body); err != nil {
			return err
		}
		l.stats.sent.Add(1)
		written += len(f.Body) + frameHeaderSize + TagSize
	}
	return l.tx.flush()
}

func (l *Link) writeNow(typ FrameType, body []byte) error {
	if err := l.tx.writeFrame(typ, body); err != nil {
		return err
	}
	return l.tx.flush()
}

// shrinkQueues gives back the arrays that bursts grew in drained queues.
func (l *Link) shrinkQueues() {
	l.sendQ.shrink()
	l.bulkQ.shrink()
	l.recvQ.shrink()
}

// sendPing sends the link's age in nanoseconds; the pong echoes it.
func (l *Link) sendPing() error {
	var body [pingSize]byte
	binary.BigEndian.PutUint64(body[:], uint64(time.Since(l.start)))
	l.stats.pings.Add(1)
	return l.writeNow(framePing, body[:])
}

// writeClose sends the close frame decided by end, after the queued frames
// if the link is closing normally.
func (l *Link) writeClose() {
	l.mu.Lock()
	msg, flush := l.closeMsg, l.flush
	l.mu.Unlock()
	var err error
	if flush {
		for err == nil {
			f, ok := l.sendQ.tryPop()
			if !ok {
				break
			}
			err = l.tx.writeFrame(f.Type, f.Body)
			l.stats.sent.Add(1)
		}
	}
	if msg != nil && err == nil {
		err = l.tx.writeFrame(frameClose, msg)
	}
	if err == nil {
		err = l.tx.flush()
	}
	if err != nil && msg != nil {
		l.mu.Lock()
		l.closeErr = fmt.Errorf("session: sending the close frame: %w", err)
		l.mu.Unlock()
	}
}

// finish closes the connection, waits for the reader and marks the link done.
func (l *Link) finish() {
	l.conn.Close()
	<-l.readerDone
	l.mu.Lock()
	close(l.done)
	hooks := l.onDone
	l.onDone = nil
	l.mu.Unlock()
	for _, f := range hooks {
		f()
	}
}
