package session

import (
	"fmt"

	"github.com/flynn/noise"
)

// Protocol constants: changing any of them changes the wire format
// (PROTOCOL.md sections 3 and 4).
const (
	// ProtocolName is the one Noise protocol lanchat speaks.
	ProtocolName = "Noise_XX_25519_ChaChaPoly_SHA256"
	// Prologue is mixed into the handshake hash by both sides. A peer with
	// another protocol version has another prologue, so its handshake fails at
	// the first encrypted payload instead of being misread.
	Prologue = "lanchat/1"

	// MaxNoiseMessage is the largest Noise message (Noise spec section 3).
	MaxNoiseMessage = noise.MaxMsgLen
	// TagSize is the ChaChaPoly authentication tag on every encrypted message.
	TagSize = 16
	// MaxPlaintext is the largest plaintext one Noise message can carry.
	MaxPlaintext = MaxNoiseMessage - TagSize // 65519
	// LengthPrefixSize is the big-endian length in front of every Noise message.
	LengthPrefixSize = 2

	// dhLen is the size of an X25519 public key on the wire.
	dhLen = 32
	// PayloadSize is the size of the handshake payload of messages 2 and 3:
	// identity key (32) followed by its signature over the Noise static key (64).
	PayloadSize = 32 + 64

	// Sizes of the three handshake messages, without their length prefix.
	// Anything else is refused before a byte of it is read.
	msg1Size = dhLen                                               // e
	msg2Size = dhLen + (dhLen + TagSize) + (PayloadSize + TagSize) // e, ee, s, es, payload
	msg3Size = (dhLen + TagSize) + (PayloadSize + TagSize)         // s, se, payload

	// frameHeaderSize is the type byte and the 4-byte body length that start
	// the first Noise message of every frame.
	frameHeaderSize = 1 + 4
	// firstChunkMax is how many body bytes fit after the frame header.
	firstChunkMax = MaxPlaintext - frameHeaderSize // 65514

	// MaxHelloSize bounds the hello frame body (Config.Hello).
	MaxHelloSize = 16 << 10
	// MaxCloseReason bounds the reason text of a close frame, in bytes.
	MaxCloseReason = 256
	// pingSize is the body of ping and pong frames: an opaque 8-byte value.
	pingSize = 8
	// MaxFrameSizeLimit caps Config.MaxFrameSize.
	MaxFrameSizeLimit = 64 << 20

	// nonceLimit is the first nonce a data message may not use. The one
	// nonce left before noise.MaxNonce is kept for the close frame, so a
	// link that runs out of nonces still closes with a reason, and no nonce
	// is ever used twice.
	nonceLimit = noise.MaxNonce - 1
)

// FrameType says what a frame's body is. Values below FirstAppFrame belong to
// the session layer (hello, ping, pong, close, rekey; the rest of 0x00–0x0f
// is reserved) and never reach Recv. Every type from FirstAppFrame up is the
// application's: the session hands it to Recv untouched, and the
// application skips the types it does not know. The numbers are on the
// wire: ONLY APPEND TO THIS LIST.
type FrameType uint8

// Session-internal frame types (0x00–0x0f; unassigned ones are reserved).
const (
	frameHello FrameType = 0x01 // first frame each way: Config.Hello
	framePing  FrameType = 0x02 // 8 opaque bytes, answered by a pong
	framePong  FrameType = 0x03 // the ping's 8 bytes
	frameClose FrameType = 0x04 // code (1) + reason (≤ MaxCloseReason)
	frameRekey FrameType = 0x05 // empty: the sender's next message uses the next key
)

// FirstAppFrame is the lowest application frame type: the lowest type Send
// accepts and Recv delivers.
const FirstAppFrame FrameType = 0x10

var frameNames = map[FrameType]string{
	frameHello: "hello",
	framePing:  "ping",
	framePong:  "pong",
	frameClose: "close",
	frameRekey: "rekey",
}

// String names a session frame type, e.g. "ping"; any other type is
// "type-0x2a" (the application names its own).
func (t FrameType) String() string {
	if s, ok := frameNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type-%#02x", uint8(t))
}

// known reports whether this version of the session layer understands
// frames of type t: its own types, and every application type (delivered
// by Recv). Reserved session types are skipped by the receiver.
func (t FrameType) known() bool {
	switch t {
	case frameHello, framePing, framePong, frameClose, frameRekey:
		return true
	}
	return t.isApp()
}

// isApp reports whether t is in the range applications may send.
func (t FrameType) isApp() bool { return t >= FirstAppFrame }

// bodyLimit is the largest body a frame of type t may have; maxFrame applies
// to application and unknown frames. It is checked against the length on the
// wire before anything is allocated.
func (t FrameType) bodyLimit(maxFrame int) int {
	switch t {
	case frameHello:
		return MaxHelloSize
	case framePing, framePong:
		return pingSize
	case frameClose:
		return 1 + MaxCloseReason
	case frameRekey:
		return 0
	}
	return maxFrame
}

// bodyMin is the smallest body a frame of type t may have.
func (t FrameType) bodyMin() int {
	switch t {
	case framePing, framePong:
		return pingSize
	case frameClose:
		return 1
	}
	return 0
}

// A Frame is one application message on a link.
type Frame struct {
	Type FrameType
	Body []byte
}

// chunkCount is how many Noise messages carry a body of n bytes.
func chunkCount(n int) uint64 {
	if n <= firstChunkMax {
		return 1
	}
	return 1 + uint64((n-firstChunkMax+MaxPlaintext-1)/MaxPlaintext)
}
