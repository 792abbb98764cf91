package session

import (
	"context"
	"fmt"
	"net"
)

// Dial runs the initiator's side of the handshake on conn and returns the
// link once the responder has proven a trusted identity, accepted ours and
// sent its hello. The responder's identity is checked against cfg.Trusted
// before message 3, so an untrusted responder never learns who dialled.
//
// Dial takes conn over: it is closed if the handshake fails, and by the Link
// otherwise. ctx and cfg.HandshakeTimeout bound the whole handshake.
func Dial(ctx context.Context, conn net.Conn, cfg Config) (*Link, error) {
	return establish(ctx, conn, cfg, true)
}

// Accept runs the responder's side of the handshake on conn; see Dial. The
// initiator's identity is checked against cfg.Trusted after message 3; an
// untrusted initiator gets a close frame (CloseRefused) and no hello.
func Accept(ctx context.Context, conn net.Conn, cfg Config) (*Link, error) {
	return establish(ctx, conn, cfg, false)
}

func establish(ctx context.Context, conn net.Conn, cfg Config, initiator bool) (_ *Link, err error) {
	defer func() {
		// A bug triggered by one peer must not take the node down.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %w: %v", ErrHandshake, errInternal, r)
		}
		if err != nil {
			conn.Close()
		}
	}()
	c, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	h, err := newHandshake(conn, &c, initiator)
	if err != nil {
		return nil, err
	}
	if err := h.runWithDeadline(ctx); err != nil {
		return nil, err
	}
	return newLink(h), nil
}
