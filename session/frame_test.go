package session

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// plaintexts returns the Noise plaintexts of one frame.
func plaintexts(typ FrameType, body []byte) [][]byte {
	var out [][]byte
	err := splitFrame(make([]byte, 0, MaxPlaintext), typ, body, func(p []byte) error {
		out = append(out, bytes.Clone(p))
		return nil
	})
	if err != nil {
		panic(err)
	}
	return out
}

// reader returns a next function over the given plaintexts.
func reader(ps [][]byte) func() ([]byte, error) {
	return func() ([]byte, error) {
		if len(ps) == 0 {
			return nil, errEndOfInput
		}
		p := ps[0]
		ps = ps[1:]
		return p, nil
	}
}

func TestFrameRoundTrip(t *testing.T) {
	const maxFrame = 4 * MaxPlaintext
	for _, n := range []int{0, 1, firstChunkMax, firstChunkMax + 1, firstChunkMax + MaxPlaintext, firstChunkMax + MaxPlaintext + 1, 200000} {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(i * 31)
		}
		ps := plaintexts(appFrameBulk, body)
		if uint64(len(ps)) != chunkCount(n) {
			t.Fatalf("%d bytes: %d messages, chunkCount says %d", n, len(ps), chunkCount(n))
		}
		for i, p := range ps {
			if len(p) > MaxPlaintext {
				t.Fatalf("%d bytes: message %d has %d bytes of plaintext, max %d", n, i, len(p), MaxPlaintext)
			}
		}
		if ps[0][0] != byte(appFrameBulk) || binary.BigEndian.Uint32(ps[0][1:]) != uint32(n) {
			t.Fatalf("%d bytes: header %x", n, ps[0][:frameHeaderSize])
		}
		f, err := readFrame(reader(ps), maxFrame)
		if err != nil || f.Type != appFrameBulk || !bytes.Equal(f.Body, body) {
			t.Fatalf("%d bytes: decoded %s of %d bytes, %v", n, f.Type, len(f.Body), err)
		}
	}
}

func TestFrameDecodeRejects(t *testing.T) {
	const maxFrame = 2 * MaxPlaintext
	header := func(typ FrameType, n uint32, body ...byte) []byte {
		return append(binary.BigEndian.AppendUint32([]byte{byte(typ)}, n), body...)
	}
	twoChunks := plaintexts(appFrame, make([]byte, firstChunkMax+10))
	tests := []struct {
		name string
		msgs [][]byte
	}{
		{"header of 4 bytes", [][]byte{{byte(appFrame), 0, 0, 0}}},
		{"empty message", [][]byte{{}}},
		{"length over the frame bound", [][]byte{header(appFrame, maxFrame+1)}},
		{"length 2^32-1", [][]byte{header(0x42, 0xffffffff)}},
		{"first chunk short", [][]byte{header(appFrame, 3, 'a', 'b')}},
		{"first chunk long", [][]byte{header(appFrame, 1, 'a', 'b')}},
		{"continuation short", [][]byte{twoChunks[0], twoChunks[1][:9]}},
		{"continuation long", [][]byte{twoChunks[0], append(bytes.Clone(twoChunks[1]), 0)}},
		{"ping of 7 bytes", [][]byte{header(framePing, 7, make([]byte, 7)...)}},
		{"pong of 9 bytes", [][]byte{header(framePong, 9, make([]byte, 9)...)}},
		{"empty close", [][]byte{header(frameClose, 0)}},
		{"close reason too long", [][]byte{header(frameClose, 2+MaxCloseReason, make([]byte, 2+MaxCloseReason)...)}},
		{"rekey with a body", [][]byte{header(frameRekey, 1, 0)}},
		{"hello over MaxHelloSize", [][]byte{header(frameHello, MaxHelloSize+1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := readFrame(reader(tt.msgs), maxFrame)
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("decoded %s of %d bytes, error %v; want ErrProtocol", f.Type, len(f.Body), err)
			}
		})
	}
}

func TestFrameTypeNames(t *testing.T) {
	tests := []struct {
		typ   FrameType
		name  string
		known bool
		app   bool
	}{
		{frameHello, "hello", true, false},
		{frameRekey, "rekey", true, false},
		{0x0f, "type-0x0f", false, false},
		{appFrame, "type-0x10", true, true},
		{appFrameLeave, "type-0x14", true, true},
		{0x42, "type-0x42", true, true}, // the application's to name and skip
	}
	for _, tt := range tests {
		if tt.typ.String() != tt.name || tt.typ.known() != tt.known || tt.typ.isApp() != tt.app {
			t.Errorf("%#x: %q known=%v app=%v; want %q %v %v", uint8(tt.typ), tt.typ, tt.typ.known(), tt.typ.isApp(), tt.name, tt.known, tt.app)
		}
	}
}

func TestCloseFrameBody(t *testing.T) {
	long := strings.Repeat("é", MaxCloseReason) // 2 bytes each: the cut must not split one
	tests := []struct {
		name       string
		body       []byte
		wantCode   CloseCode
		wantReason string
	}{
		{"normal", encodeClose(CloseNormal, "bye"), CloseNormal, "bye"},
		{"cut at a character", encodeClose(CloseRefused, long), CloseRefused, strings.Repeat("é", MaxCloseReason/2)},
		{"terminal escape", append([]byte{0}, "\x1b[2Jhi\u202e"...), CloseNormal, "\uFFFD[2Jhi\uFFFD"},
		{"invalid UTF-8", []byte{2, 'a', 0xff, 'b'}, CloseProtocolError, "a\uFFFDb"},
		{"unknown code", []byte{99, 'x'}, CloseOther, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.body) > 1+MaxCloseReason {
				t.Fatalf("encoded close is %d bytes", len(tt.body))
			}
			ce := decodeClose(tt.body)
			if ce.Code != tt.wantCode || ce.Reason != tt.wantReason || !ce.Remote || !utf8.ValidString(ce.Reason) {
				t.Fatalf("decoded %+v, want code %v reason %q", ce, tt.wantCode, tt.wantReason)
			}
			if !errors.Is(ce, ErrClosed) {
				t.Fatal("a CloseError does not match ErrClosed")
			}
		})
	}
}
