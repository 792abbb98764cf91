package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
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

// readLoop reads frames until the link ends. Application frames that one
// read brought are read under one lock and handed to Recv's queue together,
// as one batch of at most batchFrames frames and about writeBufferSize
// bytes, so the receive queue's bound holds within one batch.
func (l *Link) readLoop() {
	defer close(l.readerDone)
	defer l.rx.release()
	defer l.recoverTo("reader")
	for {
		f, more, err := l.rx.readFrameMore(l.cfg.MaxFrameSize)
		if err != nil {
			l.fail(l.readError(err))
			return
		}
		if !f.Type.isApp() {
			if !l.handle(f) {
				return
			}
			continue
		}
		if !more {
			if !l.deliver([]Frame{f}) {
				return
			}
			continue
		}
		// More is here already: read it as one batch (from the pool, so
		// an idle link holds none).
		bp := batches.Get().(*[]Frame)
		batch, last, stopped, err := l.rx.readBuffered(append(*bp, f), l.cfg.MaxFrameSize, batchFrames, writeBufferSize)
		ok := l.deliver(batch)
		clear(batch)
		*bp = batch[:0]
		batches.Put(bp)
		switch {
		case !ok:
			return
		case err != nil:
			l.fail(l.readError(err))
			return
		case stopped && !l.handle(last):
			return
		}
	}
}

// deliver queues frames for Recv, in order; false means the link is over.
func (l *Link) deliver(fs []Frame) bool {
	if err := l.recvQ.pushAll(context.Background(), l.closing, fs); err != nil {
		return false
	}
	l.stats.received.Add(uint64(len(fs)))
	return true
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
	default: // application frames go to deliver, never here
		l.stats.skipped.Add(1) // a reserved session type
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

// Write batching (tuning, not protocol). The writer takes what is queued,
// up to batchFrames frames and about writeBufferSize body bytes at a time,
// seals it into one buffer and writes it with one syscall (one per
// writeBufferSize bytes). It never waits for more frames to come, so a lone
// chat line goes out at once. writeBatch bounds the bytes writeQueued sends
// before it returns to the writer's loop, so pongs and timers are served
// during a bulk transfer.
const (
	batchFrames = 256
	writeBatch  = 4 * writeBufferSize
)

// batches and sendBatches hold the reader's and the writer's frame batches
// between uses, shared by every link, so an idle link keeps none.
var (
	batches = sync.Pool{New: func() any {
		b := make([]Frame, 0, batchFrames)
		return &b
	}}
	sendBatches = sync.Pool{New: func() any {
		b := make([]queued, 0, batchFrames)
		return &b
	}}
)

// writeQueued writes queued frames, up to about writeBatch bytes. Each
// batch takes the frames of Send and SendWait first, and a bulk frame only
// when none of them waits, so chat frames keep their order and pass any
// bulk frame not yet taken. Batches are sealed into one write buffer, which
// goes out whenever it holds writeBufferSize bytes and once more when the
// queues are empty (or writeBatch bytes went), so the last frame never
// waits for more to come. If the link starts to end meanwhile, what is
// sealed goes out with writeClose's flush, before the close frame.
func (l *Link) writeQueued() error {
	if err := l.sealQueued(); err != nil {
		return err
	}
	return l.tx.flush()
}

// sealQueued is writeQueued but the final flush.
func (l *Link) sealQueued() error {
	bp := sendBatches.Get().(*[]queued)
	defer func() {
		clear(*bp)
		*bp = (*bp)[:0]
		sendBatches.Put(bp)
	}()
	for written := 0; written < writeBatch; {
		select {
		case <-l.closing:
			return nil // writeClose decides what is still sent
		default:
		}
		batch := l.sendQ.popBatch((*bp)[:0], batchFrames, writeBufferSize)
		if len(batch) == 0 {
			// Bulk frames only when no other frame waits; the loop
			// looks at the send queue again before each one.
			if batch = l.bulkQ.popBatch(batch, 1, 0); len(batch) == 0 {
				return nil
			}
		}
		*bp = batch
		n, err := l.tx.writeFrames(batch)
		l.stats.sent.Add(uint64(n))
		for _, f := range batch {
			written += len(f.Body) + frameHeaderSize + TagSize
		}
		releaseAll(batch)
		clear(batch)
		if err != nil {
			return err
		}
	}
	return nil
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
