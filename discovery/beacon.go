package discovery

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/internal/names"
)

// Beacon wire format, version 1 (PROTOCOL.md, section 2). All integers are
// big-endian. The signature covers every byte before it.
//
//	off  size  field
//	  0     4  magic "LCBN"
//	  4     1  version (1)
//	  5     1  flags: bit 0 bye, bit 1 nickname present; others zero
//	  6    32  Ed25519 identity key
//	 38     2  TCP port of the link listener (0: takes no links)
//	 40     2  beacon interval in milliseconds (50..60000)
//	 42     8  instance id, random per run, not all zero
//	 50     8  sequence number, ≥ 1, +1 for every beacon of the instance
//	 58   1+n  nickname, only with flag bit 1: length n (1..64), n bytes UTF-8
//	  …    64  Ed25519 signature over "lanchat/v1/beacon:" ‖ all bytes above
const (
	BeaconMagic   = "LCBN"
	BeaconVersion = 1

	// FlagBye marks a node that is leaving.
	FlagBye = 1 << 0
	// FlagNickname marks a beacon that carries a nickname.
	FlagNickname = 1 << 1
	knownFlags   = FlagBye | FlagNickname

	// MaxNicknameLen bounds the nickname in bytes.
	MaxNicknameLen = names.MaxLen
	// InstanceSize is the length of an instance id.
	InstanceSize = 8

	// MinBeaconInterval and MaxBeaconInterval bound the advertised interval.
	MinBeaconInterval = 50 * time.Millisecond
	MaxBeaconInterval = 60 * time.Second

	offFlags     = 5
	offKey       = 6
	offPort      = offKey + crypto.KeySize // 38
	offInterval  = offPort + 2             // 40
	offInstance  = offInterval + 2         // 42
	offSeq       = offInstance + InstanceSize
	beaconFixed  = offSeq + 8 // 58: everything before the optional nickname
	nickLenBytes = 1

	// MinBeaconSize and MaxBeaconSize are the smallest and largest valid
	// beacons: without a nickname, and with the longest one.
	MinBeaconSize = beaconFixed + crypto.SignatureSize                                 // 122
	MaxBeaconSize = beaconFixed + nickLenBytes + MaxNicknameLen + crypto.SignatureSize // 187
)

// ErrBeacon is wrapped by every error Decode returns.
var ErrBeacon = errors.New("invalid beacon")

// Beacon is the content of one announcement.
type Beacon struct {
	Bye      bool
	Key      crypto.IdentityKey
	TCPPort  uint16
	Interval time.Duration // a whole number of milliseconds in [MinBeaconInterval, MaxBeaconInterval]
	Instance [InstanceSize]byte
	Seq      uint64
	Nickname string // empty: none
}

// Encode signs b with id and returns its wire form. b.Key is ignored: the
// beacon carries id's key.
func (b Beacon) Encode(id *crypto.Identity) ([]byte, error) {
	b.Key = id.Public()
	body, err := b.appendBody(make([]byte, 0, MaxBeaconSize))
	if err != nil {
		return nil, err
	}
	sig := id.Sign(crypto.DomainBeacon, body)
	return append(body, sig[:]...), nil
}

func (b Beacon) appendBody(out []byte) ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	var flags byte
	if b.Bye {
		flags |= FlagBye
	}
	if b.Nickname != "" {
		flags |= FlagNickname
	}
	out = append(out, BeaconMagic...)
	out = append(out, BeaconVersion, flags)
	out = append(out, b.Key[:]...)
	out = binary.BigEndian.AppendUint16(out, b.TCPPort)
	out = binary.BigEndian.AppendUint16(out, uint16(b.Interval/time.Millisecond))
	out = append(out, b.Instance[:]...)
	out = binary.BigEndian.AppendUint64(out, b.Seq)
	if b.Nickname != "" {
		out = append(out, byte(len(b.Nickname)))
		out = append(out, b.Nickname...)
	}
	return out, nil
}

// check enforces the rules both Encode and Decode apply.
func (b Beacon) check() error {
	switch {
	case b.Interval < MinBeaconInterval || b.Interval > MaxBeaconInterval || b.Interval%time.Millisecond != 0:
		return fmt.Errorf("%w: interval %v outside [%v, %v] or not whole milliseconds", ErrBeacon, b.Interval, MinBeaconInterval, MaxBeaconInterval)
	case b.Instance == [InstanceSize]byte{}:
		return fmt.Errorf("%w: zero instance id", ErrBeacon)
	case b.Seq == 0:
		return fmt.Errorf("%w: sequence number 0", ErrBeacon)
	}
	return CheckNickname(b.Nickname)
}

// CheckNickname reports whether s may travel in a beacon: at most
// MaxNicknameLen bytes of valid UTF-8 without control or format characters
// (so a nickname can never move a terminal's cursor; internal/names). Empty
// means none.
func CheckNickname(s string) error {
	if err := names.CheckText(s); err != nil {
		return fmt.Errorf("%w: nickname: %w", ErrBeacon, err)
	}
	return nil
}

// Errors of the cheap header check: preallocated, so refusing junk
// allocates nothing.
var (
	errSize    = fmt.Errorf("%w: size not in %d..%d bytes", ErrBeacon, MinBeaconSize, MaxBeaconSize)
	errMagic   = fmt.Errorf("%w: bad magic", ErrBeacon)
	errVersion = fmt.Errorf("%w: unknown version (want %d)", ErrBeacon, BeaconVersion)
)

// checkHeader is the cheap test done before anything else: size, magic and
// version.
func checkHeader(p []byte) error {
	switch {
	case len(p) < MinBeaconSize || len(p) > MaxBeaconSize:
		return errSize
	case string(p[:len(BeaconMagic)]) != BeaconMagic:
		return errMagic
	case p[len(BeaconMagic)] != BeaconVersion:
		return errVersion
	}
	return nil
}

// parse reads p strictly without checking the signature. It returns the
// beacon, the signed part of p and the signature.
func parse(p []byte) (b Beacon, signed, sig []byte, err error) {
	if err := checkHeader(p); err != nil {
		return Beacon{}, nil, nil, err
	}
	flags := p[offFlags]
	if flags&^knownFlags != 0 {
		return Beacon{}, nil, nil, fmt.Errorf("%w: unknown flags %#02x", ErrBeacon, flags)
	}
	end := beaconFixed
	if flags&FlagNickname != 0 {
		n := int(p[beaconFixed])
		if n == 0 {
			return Beacon{}, nil, nil, fmt.Errorf("%w: nickname flag with an empty nickname", ErrBeacon)
		}
		end += nickLenBytes + n
		b.Nickname = string(p[beaconFixed+nickLenBytes : min(end, len(p))])
	}
	if len(p) != end+crypto.SignatureSize {
		return Beacon{}, nil, nil, fmt.Errorf("%w: %d bytes, want %d", ErrBeacon, len(p), end+crypto.SignatureSize)
	}
	b.Bye = flags&FlagBye != 0
	copy(b.Key[:], p[offKey:offPort])
	b.TCPPort = binary.BigEndian.Uint16(p[offPort:])
	b.Interval = time.Duration(binary.BigEndian.Uint16(p[offInterval:])) * time.Millisecond
	copy(b.Instance[:], p[offInstance:offSeq])
	b.Seq = binary.BigEndian.Uint64(p[offSeq:])
	if err := b.check(); err != nil {
		return Beacon{}, nil, nil, err
	}
	return b, p[:end], p[end:], nil
}

// Decode parses and verifies a beacon. It never panics; every failure wraps
// ErrBeacon. A beacon it accepts encodes back to exactly p.
func Decode(p []byte) (Beacon, error) {
	b, signed, sig, err := parse(p)
	if err != nil {
		return Beacon{}, err
	}
	if !crypto.Verify(b.Key, crypto.DomainBeacon, signed, sig) {
		return Beacon{}, fmt.Errorf("%w: bad signature", ErrBeacon)
	}
	return b, nil
}
