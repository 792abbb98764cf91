package session

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"
)

// The plaintext frame vectors of PROTOCOL.md 5.8 (written by chat
// TestFrameVectors), read as this layer reads frames: each plaintext is the
// one Noise message splitFrame makes of the frame, readFrame gives the type
// and body back, and the close frames are what encodeClose and decodeClose
// make of their code and reason.
func TestChatFrameVectorsFraming(t *testing.T) {
	raw, err := os.ReadFile("../testdata/chat/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Frames []struct {
			Name      string          `json:"name"`
			Type      uint8           `json:"type"`
			TypeName  string          `json:"type_name"`
			Fields    json.RawMessage `json:"fields"`
			Body      string          `json:"body_hex"`
			Plaintext string          `json:"plaintext_hex"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	closes := 0
	for _, f := range v.Frames {
		body, err1 := hex.DecodeString(f.Body)
		plain, err2 := hex.DecodeString(f.Plaintext)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		typ := FrameType(f.Type)
		if typ < FirstAppFrame && typ.String() != f.TypeName { // application types are named by chat
			t.Errorf("%s: type %#x is %q here, %q in the file", f.Name, f.Type, typ, f.TypeName)
		}
		var msgs [][]byte
		if err := splitFrame(make([]byte, 0, MaxPlaintext), typ, body, func(p []byte) error {
			msgs = append(msgs, bytes.Clone(p))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || !bytes.Equal(msgs[0], plain) {
			t.Errorf("%s: framed as %x, want the one message %x", f.Name, msgs, plain)
		}
		next := [][]byte{plain}
		got, err := readFrame(func() ([]byte, error) {
			if len(next) == 0 {
				return nil, io.EOF
			}
			p := next[0]
			next = next[1:]
			return p, nil
		}, DefaultConfig().MaxFrameSize)
		if err != nil || got.Type != typ || !bytes.Equal(got.Body, body) {
			t.Errorf("%s: read back as %s %x (%v), want %s %x", f.Name, got.Type, got.Body, err, typ, body)
		}
		if typ != frameClose {
			continue
		}
		closes++
		var c struct {
			Code   uint8  `json:"code"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal(f.Fields, &c); err != nil {
			t.Fatal(err)
		}
		if enc := encodeClose(CloseCode(c.Code), c.Reason); !bytes.Equal(enc, body) {
			t.Errorf("%s: encodeClose gives %x, want %x", f.Name, enc, body)
		}
		if d := decodeClose(body); d.Code != CloseCode(c.Code) || d.Reason != c.Reason {
			t.Errorf("%s: decodeClose gives %d %q, want %d %q", f.Name, d.Code, d.Reason, c.Code, c.Reason)
		}
	}
	if closes == 0 {
		t.Error("no close frame among the vectors")
	}
}
