package session

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Errors, for errors.Is. Handshake failures wrap ErrHandshake; errors that
// end an established link (Link.Err) wrap one of ErrClosed, ErrUncleanClose,
// ErrDeadPeer or ErrProtocol.
var (
	// ErrHandshake wraps every reason a handshake failed.
	ErrHandshake = errors.New("session: handshake failed")
	// ErrRefused: the responder proved who it is, then refused to link with
	// us (it does not trust our key). The error also wraps a *CloseError.
	ErrRefused = errors.New("session: peer refused the link")
	// ErrSelfLink: the peer has our own identity key.
	ErrSelfLink = errors.New("session: peer has our own identity key")
	// ErrBadSignature: the peer's identity key did not sign its Noise static key.
	ErrBadSignature = errors.New("session: identity signature does not match the noise static key")

	// ErrClosed: the link is closed (by either side, cleanly). Send, SendWait
	// and Recv return it after the link ended; a *CloseError matches it too.
	ErrClosed = errors.New("session: link closed")
	// ErrUncleanClose: the connection ended without a close frame (TCP cut,
	// peer crashed, or a truncation attack).
	ErrUncleanClose = errors.New("session: connection ended without a close frame")
	// ErrDeadPeer: nothing arrived from the peer for Config.DeadTimeout.
	ErrDeadPeer = errors.New("session: peer silent for too long")
	// ErrProtocol: the peer sent something this protocol does not allow: a
	// frame that fails authentication (tampered, replayed, reordered), a
	// length out of bounds, a frame out of place.
	ErrProtocol = errors.New("session: protocol violation")
	// ErrNonceExhausted: a direction used its last nonce; the link closed
	// rather than reuse one.
	ErrNonceExhausted = errors.New("session: nonces exhausted")

	// ErrQueueFull: Send would exceed Config.SendQueueBytes.
	ErrQueueFull = errors.New("session: send queue full (peer too slow)")
	// ErrFrameTooLarge: a body is larger than Config.MaxFrameSize.
	ErrFrameTooLarge = errors.New("session: frame too large")
	// ErrFrameType: the type is reserved for the session layer.
	ErrFrameType = errors.New("session: frame type reserved for the session layer")

	// errInternal marks a recovered panic: a bug, never the peer's fault alone.
	errInternal = errors.New("internal error")
)

// UntrustedPeerError is returned by Dial and Accept when the peer proved an
// identity key that Config.Trusted does not accept. Key is that proven key.
type UntrustedPeerError struct {
	Key lcrypto.IdentityKey
}

func (e *UntrustedPeerError) Error() string {
	return "untrusted peer " + e.Key.Fingerprint().String()
}

// CloseCode says why a close frame was sent. Unknown codes are read as
// CloseOther. ONLY APPEND: the numbers are on the wire.
type CloseCode uint8

// Close codes.
const (
	CloseNormal         CloseCode = 0 // Link.Close
	CloseRefused        CloseCode = 1 // responder: the initiator is not trusted
	CloseProtocolError  CloseCode = 2 // the peer broke the protocol
	CloseNonceExhausted CloseCode = 3 // out of nonces
	CloseDeadPeer       CloseCode = 4 // nothing heard for DeadTimeout
	CloseOther          CloseCode = 255
)

func (c CloseCode) String() string {
	switch c {
	case CloseNormal:
		return "normal"
	case CloseRefused:
		return "refused"
	case CloseProtocolError:
		return "protocol error"
	case CloseNonceExhausted:
		return "nonces exhausted"
	case CloseDeadPeer:
		return "dead peer"
	}
	return fmt.Sprintf("code %d", uint8(c))
}

// CloseError is why a link was closed cleanly: by this side (Remote false,
// from Link.Close) or by the peer's close frame (Remote true). It matches
// ErrClosed with errors.Is.
type CloseError struct {
	Remote bool
	Code   CloseCode
	// Reason is the text given to Close. A remote reason is sanitized:
	// control characters and invalid UTF-8 are replaced, so it is safe to
	// print.
	Reason string
}

func (e *CloseError) Error() string {
	who := "closed"
	if e.Remote {
		who = "closed by peer"
	}
	if e.Code != CloseNormal {
		who += " (" + e.Code.String() + ")"
	}
	if e.Reason == "" {
		return who
	}
	return who + ": " + e.Reason
}

// Is makes errors.Is(err, ErrClosed) true for every CloseError.
func (e *CloseError) Is(target error) bool { return target == ErrClosed }

// encodeClose builds a close frame body: the code and the reason cut to
// MaxCloseReason bytes at a character boundary.
func encodeClose(code CloseCode, reason string) []byte {
	if len(reason) > MaxCloseReason {
		cut := MaxCloseReason
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	return append([]byte{byte(code)}, reason...)
}

// decodeClose reads a close frame body from the peer (length already checked
// against the type's bounds).
func decodeClose(body []byte) *CloseError {
	code := CloseCode(body[0])
	if code > CloseDeadPeer {
		code = CloseOther
	}
	return &CloseError{Remote: true, Code: code, Reason: sanitize(body[1:])}
}

// sanitize makes peer-supplied text safe to print: valid UTF-8 with no
// control or format characters (no terminal escapes, no bidi overrides).
func sanitize(b []byte) string {
	var s strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			r = '\uFFFD'
		}
		s.WriteRune(r)
	}
	return s.String()
}

// RefusedError says that the responder proved its identity, Key, and then
// refused the link: it does not trust this node (yet). errors.Is matches
// ErrHandshake and ErrRefused.
type RefusedError struct {
	Key   lcrypto.IdentityKey
	Close *CloseError
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%v: %v: %s: %v", ErrHandshake, ErrRefused, e.Key.Fingerprint(), e.Close)
}

// Unwrap gives ErrHandshake, ErrRefused and the close frame's error.
func (e *RefusedError) Unwrap() []error { return []error{ErrHandshake, ErrRefused, e.Close} }
