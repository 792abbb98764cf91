package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame layout inside the plaintexts of successive Noise messages:
//
//	first message:   type (1) | body length N (4, big-endian) | min(N, 65514) body bytes
//	then, while body bytes remain: min(remaining, 65519) body bytes per message
//
// Chunks are always as full as they can be, so each frame has exactly one
// encoding and the receiver knows the size of every chunk in advance.

// splitFrame passes the plaintexts of one frame to emit, in order. scratch
// must have a capacity of MaxPlaintext; the slices passed to emit are only
// valid during the call.
func splitFrame(scratch []byte, typ FrameType, body []byte, emit func([]byte) error) error {
	first := min(len(body), firstChunkMax)
	p := append(scratch[:0], byte(typ), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(p[1:], uint32(len(body)))
	p = append(p, body[:first]...)
	if err := emit(p); err != nil {
		return err
	}
	for rest := body[first:]; len(rest) > 0; {
		n := min(len(rest), MaxPlaintext)
		if err := emit(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// readFrame reassembles one frame from the plaintexts returned by next (each
// valid until the following call); see readFrameInto.
func readFrame(next func() ([]byte, error), maxFrame int) (Frame, error) {
	return readFrameInto(func([]byte) ([]byte, error) { return next() }, maxFrame)
}

// readFrameInto reassembles one frame from the plaintexts returned by next.
// maxFrame bounds application and unknown frame bodies; session frames have
// their own, smaller bounds. The length is checked against the bound before
// the body is allocated.
//
// next(nil) returns the first plaintext, which must not be used again by
// next: a frame that fits in one message keeps it as its body, without a
// copy. For a longer frame, next(dst) is asked for each further chunk with
// dst of length 0 and room for the chunk and its tag: next may decrypt it
// there, and otherwise returns it elsewhere to be copied.
func readFrameInto(next func(dst []byte) ([]byte, error), maxFrame int) (Frame, error) {
	p, err := next(nil)
	if err != nil {
		return Frame{}, err
	}
	if len(p) < frameHeaderSize {
		return Frame{}, fmt.Errorf("%w: %d-byte frame header, want %d", ErrProtocol, len(p), frameHeaderSize)
	}
	typ := FrameType(p[0])
	n := binary.BigEndian.Uint32(p[1:frameHeaderSize])
	if n > uint32(typ.bodyLimit(maxFrame)) || int(n) < typ.bodyMin() {
		return Frame{}, fmt.Errorf("%w: %s frame of %d bytes (allowed %d to %d)",
			ErrProtocol, typ, n, typ.bodyMin(), typ.bodyLimit(maxFrame))
	}
	first := p[frameHeaderSize:]
	if want := min(int(n), firstChunkMax); len(first) != want {
		return Frame{}, fmt.Errorf("%w: first chunk of a %d-byte frame has %d bytes, want %d",
			ErrProtocol, n, len(first), want)
	}
	if int(n) == len(first) {
		// The cap stops an append to the body from reaching what follows.
		return Frame{Type: typ, Body: first[:n:n]}, nil
	}
	buf := make([]byte, n, int(n)+TagSize) // the last chunk's tag fits
	got := copy(buf, first)
	for got < len(buf) {
		p, err := next(buf[got:got])
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return Frame{}, err
		}
		if want := min(len(buf)-got, MaxPlaintext); len(p) != want {
			return Frame{}, fmt.Errorf("%w: chunk at offset %d of a %d-byte frame has %d bytes, want %d",
				ErrProtocol, got, n, len(p), want)
		}
		got += copy(buf[got:], p) // nothing to move if next decrypted it in place
	}
	return Frame{Type: typ, Body: buf[:n:n]}, nil
}
