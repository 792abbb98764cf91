package files

import (
	"encoding/binary"
	"fmt"
)

// Kind says what a request asks for.
type Kind byte

// Request kinds.
const (
	KindManifest Kind = 0 // a ManifestPiece-sized piece of the manifest
	KindChunk    Kind = 1 // a chunk of the files
)

// Reason says why a member does not send what was asked (file-none).
type Reason byte

// Reasons (append only; a receiver treats a reason it does not know as
// ReasonUnknown).
const (
	ReasonUnknown  Reason = 1 // this member holds nothing of that root for you
	ReasonMissing  Reason = 2 // it does not hold that chunk (yet), or it no longer verifies
	ReasonBusy     Reason = 3 // too many requests of yours are queued: ask again later
	requestBodyLen        = HashSize + 1 + 4
)

// Ref names what a request, a data or a none frame is about.
type Ref struct {
	Root  [HashSize]byte
	Kind  Kind
	Index uint32
}

func (r Ref) append(b []byte) []byte {
	b = append(b, r.Root[:]...)
	b = append(b, byte(r.Kind))
	return binary.BigEndian.AppendUint32(b, r.Index)
}

func decodeRef(b []byte) (Ref, []byte, error) {
	var r Ref
	if len(b) < requestBodyLen {
		return r, nil, fmt.Errorf("%w: file frame of %d bytes", ErrMalformed, len(b))
	}
	copy(r.Root[:], b)
	r.Kind = Kind(b[HashSize])
	if r.Kind > KindChunk {
		return r, nil, fmt.Errorf("%w: request kind %d", ErrMalformed, r.Kind)
	}
	r.Index = binary.BigEndian.Uint32(b[HashSize+1:])
	return r, b[requestBodyLen:], nil
}

// EncodeRequest returns a file-request body: root [32] | kind u8 | index u32.
func EncodeRequest(r Ref) []byte { return r.append(make([]byte, 0, requestBodyLen)) }

// DecodeRequest parses a file-request body.
func DecodeRequest(b []byte) (Ref, error) {
	r, rest, err := decodeRef(b)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%w: file-request of %d bytes", ErrMalformed, len(b))
	}
	return r, err
}

// EncodeData returns a file-data body: the ref, then the bytes.
func EncodeData(r Ref, data []byte) []byte {
	return append(r.append(make([]byte, 0, requestBodyLen+len(data))), data...)
}

// DataHeaderSize is the size of a file-data body before the data.
const DataHeaderSize = requestBodyLen

// PutData returns a file-data body for ref and data in frame: data either
// already lies at frame[DataHeaderSize:] (read there, no copy) or is copied
// there; frame must hold DataHeaderSize + len(data) bytes.
func PutData(frame []byte, r Ref, data []byte) []byte {
	r.append(frame[:0])
	n := copy(frame[DataHeaderSize:], data) // a no-op when data is already there
	return frame[:DataHeaderSize+n]
}

// DecodeData parses a file-data body; data aliases b.
func DecodeData(b []byte) (Ref, []byte, error) {
	r, data, err := decodeRef(b)
	if err == nil && len(data) > max(MaxChunkSize, ManifestPiece) {
		err = fmt.Errorf("%w: file-data of %d bytes", ErrMalformed, len(data))
	}
	return r, data, err
}

// EncodeNone returns a file-none body: the ref, then reason u8.
func EncodeNone(r Ref, why Reason) []byte {
	return append(r.append(make([]byte, 0, requestBodyLen+1)), byte(why))
}

// DecodeNone parses a file-none body.
func DecodeNone(b []byte) (Ref, Reason, error) {
	r, rest, err := decodeRef(b)
	if err == nil && len(rest) != 1 {
		err = fmt.Errorf("%w: file-none of %d bytes", ErrMalformed, len(b))
	}
	if err != nil {
		return Ref{}, 0, err
	}
	return r, Reason(rest[0]), nil
}

// ManifestPieces returns how many pieces a manifest of size bytes is fetched in.
func ManifestPieces(size uint32) int { return int((size + ManifestPiece - 1) / ManifestPiece) }

// MaxHaveChunks bounds the chunk count of a file-have body: its bits fill
// at most 1 MiB, a frame's limit.
const MaxHaveChunks = 8 << 20

// haveHeaderLen is a file-have body before its bits: root, then count.
const haveHeaderLen = HashSize + 4

// EncodeHave returns a file-have body: root [32] | count u32 | bits, where
// bit i (byte i/8, bit i%8 counted from the least significant) is set for
// each of the count chunks held verified; bits past count are zero.
func EncodeHave(root [HashSize]byte, count int, held func(i int) bool) []byte {
	b := make([]byte, haveHeaderLen+(count+7)/8)
	copy(b, root[:])
	binary.BigEndian.PutUint32(b[HashSize:], uint32(count))
	bits := b[haveHeaderLen:]
	for i := 0; i < count; i++ {
		if held(i) {
			bits[i/8] |= 1 << (i % 8)
		}
	}
	return b
}

// DecodeHave parses a file-have body; bits aliases b.
func DecodeHave(b []byte) (root [HashSize]byte, count int, bits []byte, err error) {
	if len(b) < haveHeaderLen {
		return root, 0, nil, fmt.Errorf("%w: file-have of %d bytes", ErrMalformed, len(b))
	}
	copy(root[:], b)
	n := binary.BigEndian.Uint32(b[HashSize:])
	if n > MaxHaveChunks {
		return root, 0, nil, fmt.Errorf("%w: file-have of %d chunks, at most %d", ErrMalformed, n, MaxHaveChunks)
	}
	count, bits = int(n), b[haveHeaderLen:]
	if len(bits) != (count+7)/8 {
		return root, 0, nil, fmt.Errorf("%w: file-have of %d chunks with %d bytes of bits", ErrMalformed, count, len(bits))
	}
	if count%8 != 0 && bits[len(bits)-1]>>(count%8) != 0 {
		return root, 0, nil, fmt.Errorf("%w: file-have with bits set past its %d chunks", ErrMalformed, count)
	}
	return root, count, bits, nil
}

// HaveBit reports whether bits (a file-have's) has chunk i set.
func HaveBit(bits []byte, i int) bool {
	return i >= 0 && i/8 < len(bits) && bits[i/8]&(1<<(i%8)) != 0
}
