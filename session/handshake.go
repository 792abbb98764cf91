package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/flynn/noise"
	lcrypto "github.com/lanchat/lanchat/crypto"
)

// hsStep is where a handshake is; every step checks it before acting.
type hsStep uint8

// The initiator goes start → msg1 → msg2 → trusted → msg3 → helloRead →
// helloSent; the responder start → msg1 → msg2 → msg3 → trusted → helloSent
// → helloRead. Either way no hello leaves before the peer is trusted, and
// the initiator's message 3 (its identity) not before the responder is.
const (
	stepStart       hsStep = iota
	stepMsg1               // message 1 written (initiator) or read (responder)
	stepMsg2               // message 2 read (initiator) or written (responder)
	stepMsg3               // message 3 written or read: transport keys exist
	stepPeerTrusted        // the peer's identity is proven and trusted
	stepHelloSent          // our hello is on its way
	stepHelloRead          // the peer's hello arrived
	stepFailed
)

// handshake is one run of Noise XX plus the hello exchange. Its
// noise.HandshakeState is used once and dropped.
type handshake struct {
	cfg       *Config
	conn      net.Conn
	r         *lazyReader // the link's receiving direction keeps it
	initiator bool
	local     *localKeys
	state     *noise.HandshakeState
	step      hsStep
	buf       [LengthPrefixSize + msg2Size]byte

	// Results.
	peer      lcrypto.IdentityKey
	peerHello []byte
	binding   []byte
	tx        *sendDir
	rx        *recvDir
}

func newHandshake(conn net.Conn, cfg *Config, initiator bool) (*handshake, error) {
	local, err := localKeysFor(cfg.Identity)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	state, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:   newSuite(local.staticKey),
		Random:        cfg.Rand,
		Pattern:       noise.HandshakeXX,
		Initiator:     initiator,
		Prologue:      []byte(Prologue),
		StaticKeypair: local.static,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	return &handshake{
		cfg: cfg, conn: conn, r: newLazyReader(conn),
		initiator: initiator, local: local, state: state,
	}, nil
}

// runWithDeadline runs the handshake under one deadline for all of it: the
// earlier of ctx's and HandshakeTimeout. Cancelling ctx moves the deadline
// to the past, which unblocks any read or write at once.
func (h *handshake) runWithDeadline(ctx context.Context) error {
	deadline := time.Now().Add(h.cfg.HandshakeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := h.conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("%w: setting the deadline: %w", ErrHandshake, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = h.conn.SetDeadline(time.Unix(1, 0)) })
	var err error
	if h.initiator {
		err = h.runInitiator()
	} else {
		err = h.runResponder()
	}
	if !stop() {
		return fmt.Errorf("%w: %w", ErrHandshake, context.Cause(ctx))
	}
	if err != nil {
		h.step = stepFailed
		h.reportProtocolError(err)
		return err
	}
	if err := h.conn.SetDeadline(time.Time{}); err != nil {
		return fmt.Errorf("%w: clearing the deadline: %w", ErrHandshake, err)
	}
	return nil
}

func (h *handshake) runInitiator() error {
	if err := h.writeMessage(1, stepStart, stepMsg1, nil, msg1Size); err != nil {
		return err
	}
	payload, err := h.readMessage(2, stepMsg1, stepMsg2, msg2Size)
	if err != nil {
		return err
	}
	// The responder must prove a trusted identity before we say who we are.
	if err := h.checkPeer(stepMsg2, stepPeerTrusted, payload); err != nil {
		return err
	}
	if err := h.writeMessage(3, stepPeerTrusted, stepMsg3, h.local.payload[:], msg3Size); err != nil {
		return err
	}
	// The responder's hello says it accepted us; only then do we send ours.
	if err := h.readHello(stepMsg3, stepHelloRead); err != nil {
		return err
	}
	return h.writeHello(stepHelloRead, stepHelloSent)
}

func (h *handshake) runResponder() error {
	if _, err := h.readMessage(1, stepStart, stepMsg1, msg1Size); err != nil {
		return err
	}
	if err := h.writeMessage(2, stepMsg1, stepMsg2, h.local.payload[:], msg2Size); err != nil {
		return err
	}
	payload, err := h.readMessage(3, stepMsg2, stepMsg3, msg3Size)
	if err != nil {
		return err
	}
	if err := h.checkPeer(stepMsg3, stepPeerTrusted, payload); err != nil {
		var untrusted *UntrustedPeerError
		if errors.As(err, &untrusted) {
			h.refuse()
		}
		return err
	}
	if err := h.writeHello(stepPeerTrusted, stepHelloSent); err != nil {
		return err
	}
	return h.readHello(stepHelloSent, stepHelloRead)
}

func (h *handshake) expect(want hsStep) error {
	if h.step != want {
		return fmt.Errorf("%w: %w: at step %d, want %d", ErrHandshake, errInternal, h.step, want)
	}
	return nil
}

// writeMessage writes handshake message n with its length prefix.
func (h *handshake) writeMessage(n int, from, to hsStep, payload []byte, size int) error {
	if err := h.expect(from); err != nil {
		return err
	}
	out, cs1, cs2, err := h.state.WriteMessage(h.buf[:LengthPrefixSize], payload)
	if err != nil {
		return fmt.Errorf("%w: writing message %d: %w", ErrHandshake, n, err)
	}
	if len(out) != LengthPrefixSize+size {
		return fmt.Errorf("%w: %w: message %d is %d bytes, want %d", ErrHandshake, errInternal, n, len(out)-LengthPrefixSize, size)
	}
	binary.BigEndian.PutUint16(out, uint16(size))
	if _, err := h.conn.Write(out); err != nil {
		return fmt.Errorf("%w: sending message %d: %w", ErrHandshake, n, err)
	}
	h.step = to
	if cs1 != nil {
		h.split(cs1, cs2)
	}
	return nil
}

// readMessage reads handshake message n, refusing any length but size before
// reading its body, and returns its payload.
func (h *handshake) readMessage(n int, from, to hsStep, size int) ([]byte, error) {
	if err := h.expect(from); err != nil {
		return nil, err
	}
	prefix := h.buf[:LengthPrefixSize]
	if _, err := io.ReadFull(h.r, prefix); err != nil {
		return nil, fmt.Errorf("%w: reading message %d: %w", ErrHandshake, n, err)
	}
	if got := int(binary.BigEndian.Uint16(prefix)); got != size {
		return nil, fmt.Errorf("%w: message %d is %d bytes, want %d", ErrHandshake, n, got, size)
	}
	msg := h.buf[LengthPrefixSize : LengthPrefixSize+size]
	if _, err := io.ReadFull(h.r, msg); err != nil {
		return nil, fmt.Errorf("%w: reading message %d: %w", ErrHandshake, n, err)
	}
	payload, cs1, cs2, err := h.state.ReadMessage(nil, msg)
	if err != nil {
		return nil, fmt.Errorf("%w: message %d: %w", ErrHandshake, n, err)
	}
	h.step = to
	if cs1 != nil {
		h.split(cs1, cs2)
	}
	return payload, nil
}

// split sets up the transport: cs1 carries initiator → responder.
func (h *handshake) split(cs1, cs2 *noise.CipherState) {
	tx, rx := cs1, cs2
	if !h.initiator {
		tx, rx = cs2, cs1
	}
	h.tx = newSendDir(tx, h.conn, h.cfg.RekeyAfterMessages)
	h.rx = newRecvDir(rx, h.conn, h.r)
	// ChannelBinding returns flynn/noise's internal slice: copy it.
	h.binding = append([]byte(nil), h.state.ChannelBinding()...)
}

// checkPeer verifies the peer's payload against the static key the
// handshake proved, then asks the trust list.
func (h *handshake) checkPeer(from, to hsStep, payload []byte) error {
	if err := h.expect(from); err != nil {
		return err
	}
	key, err := verifyPayload(payload, h.state.PeerStatic())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if key == h.cfg.Identity.Public() {
		return fmt.Errorf("%w: %w", ErrHandshake, ErrSelfLink)
	}
	if h.cfg.Trusted == nil || !h.cfg.Trusted(key) {
		return fmt.Errorf("%w: %w", ErrHandshake, &UntrustedPeerError{Key: key})
	}
	h.peer = key
	h.step = to
	return nil
}

// refuse tells an initiator we do not trust that we will not link, so it
// can say so instead of reporting a broken connection. Best effort.
func (h *handshake) refuse() {
	if h.tx.writeFrame(frameClose, encodeClose(CloseRefused, "not trusted")) == nil {
		_ = h.tx.flush()
	}
}

// reportProtocolError tells a peer that already shares transport keys with
// us that its hello did not pass. Best effort.
func (h *handshake) reportProtocolError(err error) {
	if h.tx == nil || !errors.Is(err, ErrProtocol) {
		return
	}
	if h.tx.writeFrame(frameClose, encodeClose(CloseProtocolError, err.Error())) == nil {
		_ = h.tx.flush()
	}
}

func (h *handshake) writeHello(from, to hsStep) error {
	if err := h.expect(from); err != nil {
		return err
	}
	if err := h.tx.writeFrame(frameHello, h.cfg.Hello); err != nil {
		return fmt.Errorf("%w: sending hello: %w", ErrHandshake, err)
	}
	if err := h.tx.flush(); err != nil {
		return fmt.Errorf("%w: sending hello: %w", ErrHandshake, err)
	}
	h.step = to
	return nil
}

// readHello reads the peer's first frame, which must be its hello (or, for
// the initiator, a close frame saying the responder refused us).
func (h *handshake) readHello(from, to hsStep) error {
	if err := h.expect(from); err != nil {
		return err
	}
	// maxFrame 0: an application frame here is refused before any allocation.
	f, err := h.rx.readFrame(0)
	if err != nil {
		return fmt.Errorf("%w: reading hello: %w", ErrHandshake, err)
	}
	switch f.Type {
	case frameHello:
		h.peerHello = f.Body
		h.step = to
		return nil
	case frameClose:
		ce := decodeClose(f.Body)
		if h.initiator && ce.Code == CloseRefused {
			return &RefusedError{Key: h.peer, Close: ce}
		}
		return fmt.Errorf("%w: %w", ErrHandshake, ce)
	}
	return fmt.Errorf("%w: %w: first frame is %s, want hello", ErrHandshake, ErrProtocol, f.Type)
}
