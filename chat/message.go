package chat

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Message limits.
const (
	// MaxBodyBytes bounds a message body (UTF-8).
	MaxBodyBytes = 4096
	// messageVersion is the first byte of every encoded message.
	messageVersion = 1
	// fixed part: version, room length, author, seq, clock, time, body length, signature
	messageFixed = 1 + 1 + lcrypto.KeySize + 8 + 8 + 8 + 2 + lcrypto.SignatureSize
	// MaxMessageSize bounds an encoded message.
	MaxMessageSize = messageFixed + MaxRoomLen + MaxBodyBytes
)

// Clock bounds. Whether a message's clock is acceptable depends on the
// message alone, never on what the receiver has seen, so every member that
// holds the same messages accepts the same ones (DESIGN rule 7): a message
// with sequence number seq may carry a clock of at most
// min(seq × ClockStep, MaxClock) (ClockBound). An honest author sends
// 1 + the highest clock it holds, capped at that bound; in a room of fewer
// than 2³² messages the cap never applies. A hostile member that inflates
// its clock as fast as the rule allows needs 2³⁰ messages to reach MaxClock,
// and honest members keep sending under their own bound all along (their
// messages then sort before the inflated ones), so nobody is cut off and the
// clock never wraps.
const (
	MaxClock  = 1 << 62
	ClockStep = 1 << 32
)

// ClockBound returns the highest clock a message with sequence number seq
// may carry.
func ClockBound(seq uint64) uint64 {
	if seq >= MaxClock/ClockStep {
		return MaxClock
	}
	return seq * ClockStep
}

// MaxTimeMs is the latest author time a message may carry (the end of year
// 9999, Unix ms); earlier than 1970 is refused too. Times are for display,
// and a time no date format can print would break every history.
const MaxTimeMs = 253402300799999

// Message is one signed chat message. Its identity is (Room, Author, Seq):
// each author numbers its messages in each room 1, 2, 3, ... Messages are
// ordered everywhere by (Clock, Author, Seq), a Lamport clock per room.
type Message struct {
	Room   string
	Author lcrypto.IdentityKey
	Seq    uint64
	Clock  uint64
	Time   time.Time // the author's wall clock, for display only
	Body   string
	Sig    [lcrypto.SignatureSize]byte
}

// Errors from DecodeMessage and Verify, for errors.Is.
var (
	ErrMalformed    = errors.New("malformed message")
	ErrBadSignature = errors.New("message signature does not verify")
	ErrBodyTooLong  = fmt.Errorf("message is longer than %d bytes", MaxBodyBytes)
)

// signedBytes is the deterministic encoding without the signature:
//
//	version u8 (1) | room length u8 | room | author [32] | seq u64 |
//	clock u64 | time i64 (Unix ms) | body length u16 | body
func (m Message) signedBytes() []byte {
	b := make([]byte, 0, messageFixed+len(m.Room)+len(m.Body))
	b = append(b, messageVersion, byte(len(m.Room)))
	b = append(b, m.Room...)
	b = append(b, m.Author[:]...)
	b = binary.BigEndian.AppendUint64(b, m.Seq)
	b = binary.BigEndian.AppendUint64(b, m.Clock)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Time.UnixMilli()))
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Body)))
	return append(b, m.Body...)
}

// Encode returns the wire form: signedBytes followed by the signature.
func (m Message) Encode() []byte {
	return append(m.signedBytes(), m.Sig[:]...)
}

// ID is the message's stable identifier: hex SHA-256 of its encoding.
func (m Message) ID() string {
	sum := sha256.Sum256(m.Encode())
	return hex.EncodeToString(sum[:])
}

// Sign fills in Author and Sig with id's key.
func (m *Message) Sign(id *lcrypto.Identity) {
	m.Author = id.Public()
	m.Sig = id.Sign(lcrypto.DomainMessage, m.signedBytes())
}

// Verify checks the author's signature.
func (m Message) Verify() error {
	if !lcrypto.Verify(m.Author, lcrypto.DomainMessage, m.signedBytes(), m.Sig[:]) {
		return ErrBadSignature
	}
	return nil
}

// Validate checks the fields a sender controls, before signing or after decoding.
func (m Message) Validate() error {
	if err := ValidateRoom(m.Room); err != nil {
		return err
	}
	if len(m.Body) > MaxBodyBytes {
		return ErrBodyTooLong
	}
	if !utf8.ValidString(m.Body) {
		return fmt.Errorf("%w: body is not UTF-8", ErrMalformed)
	}
	if m.Seq == 0 || m.Clock == 0 {
		return fmt.Errorf("%w: sequence and clock start at 1", ErrMalformed)
	}
	if ms := m.Time.UnixMilli(); ms < 0 || ms > MaxTimeMs {
		return fmt.Errorf("%w: time %d ms is outside years 1970–9999", ErrMalformed, ms)
	}
	return nil
}

// DecodeMessage parses the wire form strictly: every length is checked
// before use, trailing bytes are refused, and the fields are validated. It
// does not verify the signature (see Verify).
func DecodeMessage(b []byte) (Message, error) {
	var m Message
	if len(b) < messageFixed || len(b) > MaxMessageSize {
		return m, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	if b[0] != messageVersion {
		return m, fmt.Errorf("%w: version %d", ErrMalformed, b[0])
	}
	roomLen := int(b[1])
	if len(b) < messageFixed+roomLen {
		return m, fmt.Errorf("%w: truncated room", ErrMalformed)
	}
	p := b[2:]
	m.Room, p = string(p[:roomLen]), p[roomLen:]
	copy(m.Author[:], p)
	p = p[lcrypto.KeySize:]
	m.Seq = binary.BigEndian.Uint64(p)
	m.Clock = binary.BigEndian.Uint64(p[8:])
	m.Time = time.UnixMilli(int64(binary.BigEndian.Uint64(p[16:])))
	bodyLen := int(binary.BigEndian.Uint16(p[24:]))
	p = p[26:]
	if len(p) != bodyLen+lcrypto.SignatureSize {
		return Message{}, fmt.Errorf("%w: body length %d does not match %d remaining bytes", ErrMalformed, bodyLen, len(p))
	}
	m.Body = string(p[:bodyLen])
	copy(m.Sig[:], p[bodyLen:])
	if err := m.Validate(); err != nil {
		return Message{}, err
	}
	return m, nil
}
