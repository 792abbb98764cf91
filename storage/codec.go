package storage

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Helpers for the record encodings: big-endian integers, times as Unix
// nanoseconds (0 is the zero time), strings behind a one-byte length.

func appendTime(b []byte, t time.Time) []byte {
	var n int64
	if !t.IsZero() {
		n = t.UnixNano()
	}
	return binary.BigEndian.AppendUint64(b, uint64(n))
}

func timeFrom(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n)).UTC()
}

// reader consumes a record; the first failure sticks and later reads return
// zero values, so decoders check err once at the end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = fmt.Errorf("%w: truncated", ErrRecord)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) byte() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) uint64() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *reader) time() time.Time { return timeFrom(r.uint64()) }

// name reads a one-byte length and that many bytes, checked by CheckName.
func (r *reader) name() string {
	s := string(r.take(int(r.byte())))
	if r.err == nil {
		if err := CheckName(s); err != nil {
			r.err = err
		}
	}
	return s
}

// done fails if anything is left: one valid byte form per record.
func (r *reader) done() error {
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", ErrRecord, len(r.b))
	}
	return r.err
}

func (r *reader) uint32() uint32 {
	if b := r.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}
