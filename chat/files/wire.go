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
