package chat

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
	"github.com/lanchat/lanchat/storage"
)

var updateVectors = flag.Bool("update", false, "rewrite testdata/chat/vectors.json")

// frameVectorFile holds the plaintext test vectors of PROTOCOL.md 5.8. The
// session package checks the same file's framing and close frame.
const frameVectorFile = "../testdata/chat/vectors.json"

// frameVectors is the file: fixed identities in, exact frame bodies out.
type frameVectors struct {
	Description string              `json:"description"`
	Identities  []vectorIdentity    `json:"identities"`
	Frames      []frameVectorRecord `json:"frames"`
}

type vectorIdentity struct {
	Name           string `json:"name"`
	IdentitySecret string `json:"identity_secret_hex"`
	IdentityKey    string `json:"identity_key_hex"`
}

// frameVectorRecord is one frame: its type, its decoded fields, its body and
// the plaintext of the one Noise transport message that carries it (type ‖
// body length u32 ‖ body, PROTOCOL.md 4.1).
type frameVectorRecord struct {
	Name      string          `json:"name"`
	Type      uint8           `json:"type"`
	TypeName  string          `json:"type_name"`
	Fields    json.RawMessage `json:"fields"`
	Body      string          `json:"body_hex"`
	Plaintext string          `json:"plaintext_hex"`
}

// Decoded fields of each kind of frame body.
type (
	helloFields struct {
		Version uint8    `json:"version"`
		Nick    string   `json:"nick"`
		Rooms   []string `json:"rooms"`
	}
	messageFields struct {
		Version   uint8  `json:"version"`
		Room      string `json:"room"`
		Author    string `json:"author_hex"`
		Seq       uint64 `json:"seq"`
		Clock     uint64 `json:"clock"`
		TimeMs    int64  `json:"time_ms"`
		Body      string `json:"body"`
		Signature string `json:"signature_hex"`
		ID        string `json:"id"`
	}
	headFields struct {
		Author string `json:"author_hex"`
		Head   uint64 `json:"head"`
	}
	syncRequestFields struct {
		Room  string       `json:"room"`
		Heads []headFields `json:"heads"`
	}
	syncResponseFields struct {
		Room     string   `json:"room"`
		Done     bool     `json:"done"`
		Messages []string `json:"messages_hex"`
	}
	roomFields struct {
		Room string `json:"room"`
	}
	deleteFields struct {
		Version uint8  `json:"version"`
		Room    string `json:"room"`
		Author  string `json:"author_hex"`
		Seq     uint64 `json:"seq"`
		Sum     string `json:"sum_hex"`
		Sig     string `json:"signature_hex"`
	}
	nickFields struct {
		Nick string `json:"nick"`
	}
	closeFields struct {
		Code   uint8  `json:"code"`
		Reason string `json:"reason"`
	}
	checkFields struct {
		Author string `json:"author_hex"`
		Head   uint64 `json:"head"`
		Chain  string `json:"chain_hex"`
	}
	syncCheckFields struct {
		Room    string        `json:"room"`
		Entries []checkFields `json:"entries"`
	}
	readFields struct {
		Room   string `json:"room"`
		Clock  uint64 `json:"clock"`
		Author string `json:"author_hex"`
		Seq    uint64 `json:"seq"`
	}
	presenceFields struct {
		State  uint8  `json:"state"`
		Status string `json:"status"`
	}
	welcomeFields struct {
		Room string   `json:"room"`
		Ops  []string `json:"ops_hex"`
	}
)

// vectorConvo returns the conversation messages of the vectors (5.9,
// 5.10): alice's direct message to bob, and the create and invite
// operations of alice's private room "design" (nonce 00 01 … 0f).
func vectorConvo(alice, bob *lcrypto.Identity) (dm, create, invite Message) {
	dm = Message{Room: DirectID(alice.Fingerprint(), bob.Fingerprint()), Seq: 1, Clock: 1, Time: time.UnixMilli(1700000002000), Body: "just us"}
	dm.Sign(alice)
	var nonce [NonceSize]byte
	for i := range nonce {
		nonce[i] = byte(i)
	}
	room := PrivateID(alice.Public(), nonce)
	create = Message{Room: room, Seq: 1, Clock: 1, Time: time.UnixMilli(1700000003000), Body: Op{Kind: OpCreate, Nonce: nonce, Name: "design"}.Encode()}
	create.Sign(alice)
	invite = Message{Room: room, Seq: 2, Clock: 2, Time: time.UnixMilli(1700000004000), Body: Op{Kind: OpInvite, Subject: bob.Public()}.Encode()}
	invite.Sign(alice)
	return dm, create, invite
}

// vectorIdentities are the fixed identities of the vectors: the secrets
// 00 01 … 3f (alice) and 40 41 … 7f (bob), those of the session vectors.
func vectorIdentities(t *testing.T) (alice, bob *lcrypto.Identity) {
	t.Helper()
	mk := func(from byte) *lcrypto.Identity {
		id, err := lcrypto.IdentityFromSecret(vectorSecret(from))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	return mk(0x00), mk(0x40)
}

// vectorSecret is the 64-byte identity secret from, from+1, … from+63.
func vectorSecret(from byte) []byte {
	secret := make([]byte, 64)
	for i := range secret {
		secret[i] = from + byte(i)
	}
	return secret
}

// vectorMessages are the two signed messages of the vectors (Ed25519
// signatures are deterministic).
func vectorMessages(alice, bob *lcrypto.Identity) (Message, Message) {
	m1 := Message{Room: "lobby", Seq: 1, Clock: 1, Time: time.UnixMilli(1700000000000), Body: "hello bob"}
	m1.Sign(alice)
	m2 := Message{Room: "lobby", Seq: 1, Clock: 2, Time: time.UnixMilli(1700000001500), Body: "hi alice ☕"}
	m2.Sign(bob)
	return m1, m2
}

func deleteFieldsOf(d tombstone) deleteFields {
	return deleteFields{Version: deleteVersion, Room: d.Room, Author: hex.EncodeToString(d.Author[:]), Seq: d.Seq,
		Sum: hex.EncodeToString(d.Sum[:]), Sig: hex.EncodeToString(d.Sig[:])}
}

func messageFieldsOf(m Message) messageFields {
	return messageFields{Version: messageVersion, Room: m.Room, Author: hex.EncodeToString(m.Author[:]), Seq: m.Seq,
		Clock: m.Clock, TimeMs: m.Time.UnixMilli(), Body: m.Body, Signature: hex.EncodeToString(m.Sig[:]), ID: m.ID()}
}

// generateFrameVectors builds the vector file from the fixed inputs.
func generateFrameVectors(t *testing.T) frameVectors {
	t.Helper()
	alice, bob := vectorIdentities(t)
	m1, m2 := vectorMessages(alice, bob)
	dm, create, invite := vectorConvo(alice, bob)
	ak, bk := alice.Public(), bob.Public()
	// Each author holds one message: the chain is c₁ = SHA-256(32 zero bytes ‖ SHA-256(message)).
	ac, bc := chainHash{}.next(m1.Encode()), chainHash{}.next(m2.Encode())
	dmChain := chainHash{}.next(dm.Encode())
	check := syncCheck{Room: "lobby", Entries: []checkEntry{{ak, 1, ac}, {bk, 1, bc}}}
	if bytes.Compare(ak[:], bk[:]) > 0 {
		check.Entries[0], check.Entries[1] = check.Entries[1], check.Entries[0]
	}
	var checkOut syncCheckFields
	checkOut.Room = "lobby"
	for _, e := range check.Entries {
		checkOut.Entries = append(checkOut.Entries, checkFields{hex.EncodeToString(e.Author[:]), e.Head, hex.EncodeToString(e.Chain[:])})
	}
	del := tombstone{Room: m1.Room, Author: ak, Seq: m1.Seq, Sum: sha256.Sum256(m1.Encode())}
	del.Sig = alice.Sign(lcrypto.DomainDelete, del.signedBytes())
	frames := []struct {
		name   string
		typ    session.FrameType
		fields any
		body   []byte
	}{
		{"hello of alice", vectorTypeHello, helloFields{1, "alice", []string{"dev", "lobby"}},
			hello{Nick: "alice", Rooms: []string{"dev", "lobby"}}.encode()},
		{"chat message of alice", frameChat, messageFieldsOf(m1), m1.Encode()},
		{"chat message of bob", frameChat, messageFieldsOf(m2), m2.Encode()},
		{"sync request (version 1: room and heads)", frameSyncRequest,
			syncRequestFields{"lobby", []headFields{{hex.EncodeToString(ak[:]), 1}, {hex.EncodeToString(bk[:]), 0}}},
			syncRequest{Room: "lobby", Heads: map[lcrypto.IdentityKey]uint64{ak: 1, bk: 0}}.encode()},
		{"sync response, last batch", frameSyncResponse,
			syncResponseFields{"lobby", true, []string{hex.EncodeToString(m1.Encode()), hex.EncodeToString(m2.Encode())}},
			syncResponse{Room: "lobby", Done: true, Msgs: [][]byte{m1.Encode(), m2.Encode()}}.encode()},
		{"sync response, empty and done", frameSyncResponse, syncResponseFields{"dev", true, []string{}},
			syncResponse{Room: "dev", Done: true}.encode()},
		{"sync check after the catch-up (5.6)", frameSyncCheck, checkOut, check.encode()},
		{"nick (5.2)", frameNick, nickFields{"alice two"}, encodeNick("alice two")},
		{"delete alice's message for everyone (5.13)", frameDelete, deleteFieldsOf(del), del.encode()},
		{"room join", frameRoomJoin, roomFields{"dev"}, encodeRoomFrame("dev")},
		{"room leave", frameRoomLeave, roomFields{"dev"}, encodeRoomFrame("dev")},
		{"close, protocol error", vectorTypeClose, closeFields{2, "malformed frame: truncated"},
			append([]byte{2}, "malformed frame: truncated"...)},
		{"close, normal", vectorTypeClose, closeFields{0, "shutting down"}, append([]byte{0}, "shutting down"...)},
		{"stored: bob holds alice's message 1 (5.11)", frameStored,
			syncRequestFields{"lobby", []headFields{{hex.EncodeToString(ak[:]), 1}}},
			stored{Room: "lobby", Heads: map[lcrypto.IdentityKey]uint64{ak: 1}}.encode()},
		{"read: bob read up to alice's message 1 (5.11)", frameRead,
			readFields{"lobby", 1, hex.EncodeToString(ak[:]), 1},
			readMark{Room: "lobby", Pos: storage.Position{Clock: 1, Author: ak, Seq: 1}}.encode()},
		{"presence: away, lunch (5.11)", framePresence, presenceFields{1, "lunch"},
			presence{State: Away, Status: "lunch"}.encode()},
		{"presence: online, no status (5.11)", framePresence, presenceFields{0, ""}, presence{}.encode()},
		{"typing in lobby (5.11)", frameTyping, roomFields{"lobby"}, encodeRoomFrame("lobby")},
		// Conversations (5.9, 5.10): appended, so the vectors above keep their places.
		{"direct message of alice to bob (5.9)", frameConvoMessage, messageFieldsOf(dm), dm.Encode()},
		{"convo sync request of the direct conversation", frameConvoSyncRequest,
			syncRequestFields{dm.Room, []headFields{{hex.EncodeToString(ak[:]), 1}}},
			syncRequest{Room: dm.Room, Heads: map[lcrypto.IdentityKey]uint64{ak: 1}}.encode()},
		{"convo sync response of the direct conversation", frameConvoSyncResponse,
			syncResponseFields{dm.Room, true, []string{hex.EncodeToString(dm.Encode())}},
			syncResponse{Room: dm.Room, Done: true, Msgs: [][]byte{dm.Encode()}}.encode()},
		{"private room create operation (5.10)", frameConvoMessage, messageFieldsOf(create), create.Encode()},
		{"private room invite operation (5.10)", frameConvoMessage, messageFieldsOf(invite), invite.Encode()},
		{"convo welcome to bob (5.10)", frameConvoWelcome,
			welcomeFields{create.Room, []string{hex.EncodeToString(create.Encode()), hex.EncodeToString(invite.Encode())}},
			welcome{Room: create.Room, Ops: [][]byte{create.Encode(), invite.Encode()}}.encode()},
		{"convo sync check of the direct conversation (5.9)", frameConvoSyncCheck,
			syncCheckFields{dm.Room, []checkFields{{hex.EncodeToString(ak[:]), 1, hex.EncodeToString(dmChain[:])}}},
			syncCheck{Room: dm.Room, Entries: []checkEntry{{ak, 1, dmChain}}}.encode()},
	}
	v := frameVectors{
		Description: "Plaintext lanchat frames (PROTOCOL.md 5.8): type, decoded fields, body, and the plaintext of the Noise transport message that carries it. Identity secrets are inputs; signatures are deterministic Ed25519.",
		Identities: []vectorIdentity{
			{"alice", hex.EncodeToString(vectorSecret(0x00)), hex.EncodeToString(ak[:])},
			{"bob", hex.EncodeToString(vectorSecret(0x40)), hex.EncodeToString(bk[:])},
		},
	}
	for _, f := range frames {
		fields, err := json.Marshal(f.fields)
		if err != nil {
			t.Fatal(err)
		}
		v.Frames = append(v.Frames, frameVectorRecord{Name: f.name, Type: uint8(f.typ), TypeName: frameName(f.typ),
			Fields: fields, Body: hex.EncodeToString(f.body), Plaintext: hex.EncodeToString(framePlaintext(f.typ, f.body))})
	}
	return v
}

// The link-layer frame types the vectors use (session keeps them unexported).
const (
	vectorTypeHello session.FrameType = 0x01
	vectorTypeClose session.FrameType = 0x04
)

// framePlaintext is a frame that fits in one Noise message: type ‖ length ‖ body.
func framePlaintext(typ session.FrameType, body []byte) []byte {
	p := binary.BigEndian.AppendUint32([]byte{byte(typ)}, uint32(len(body)))
	return append(p, body...)
}

// The vector file is what the fixed inputs give (go test -run
// TestFrameVectors -update rewrites it).
func TestFrameVectors(t *testing.T) {
	want := generateFrameVectors(t)
	b, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *updateVectors {
		if err := os.WriteFile(frameVectorFile, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(frameVectorFile)
	if err != nil {
		t.Fatalf("reading vectors (go test -run TestFrameVectors -update writes them): %v", err)
	}
	if !bytes.Equal(got, b) {
		t.Fatalf("%s differs from what the fixed inputs give (go test -run TestFrameVectors -update)", frameVectorFile)
	}
}

// Each vector, read from the file alone: its fields re-encode to its body,
// and its body decodes to its fields.
func TestFrameVectorsRoundTrip(t *testing.T) {
	raw, err := os.ReadFile(frameVectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var v frameVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Frames) == 0 {
		t.Fatal("no vectors")
	}
	for _, f := range v.Frames {
		t.Run(f.Name, func(t *testing.T) {
			body := unhex(t, f.Body)
			if p := hex.EncodeToString(framePlaintext(session.FrameType(f.Type), body)); p != f.Plaintext {
				t.Errorf("plaintext %s, want type ‖ length ‖ body = %s", f.Plaintext, p)
			}
			encoded, decoded, err := roundTrip(t, f, body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(encoded, body) {
				t.Errorf("fields encode to %x, want %x", encoded, body)
			}
			if !jsonEqual(t, decoded, f.Fields) {
				t.Errorf("body decodes to %s, want %s", decoded, f.Fields)
			}
		})
	}
}

// roundTrip encodes f's fields and decodes body with the chat codecs. Close
// frames belong to the session layer: session TestChatFrameVectorsFraming
// checks them; here they are checked byte by byte.
func roundTrip(t *testing.T, f frameVectorRecord, body []byte) (encoded []byte, decoded any, err error) {
	t.Helper()
	switch session.FrameType(f.Type) {
	case vectorTypeHello:
		var in helloFields
		mustUnmarshal(t, f.Fields, &in)
		h, err := decodeHello(body)
		return hello{Nick: in.Nick, Rooms: in.Rooms}.encode(), helloFields{helloVersion, h.Nick, h.Rooms}, err
	case frameChat, frameConvoMessage:
		var in messageFields
		mustUnmarshal(t, f.Fields, &in)
		m := Message{Room: in.Room, Seq: in.Seq, Clock: in.Clock, Time: time.UnixMilli(in.TimeMs), Body: in.Body}
		m.Author = lcrypto.IdentityKey(unhex(t, in.Author))
		m.Sig = [lcrypto.SignatureSize]byte(unhex(t, in.Signature))
		if err := m.Verify(); err != nil {
			return nil, nil, fmt.Errorf("signature: %w", err)
		}
		d, err := DecodeMessage(body)
		return m.Encode(), messageFieldsOf(d), err
	case frameSyncRequest, frameConvoSyncRequest:
		var in syncRequestFields
		mustUnmarshal(t, f.Fields, &in)
		req := syncRequest{Room: in.Room, Heads: map[lcrypto.IdentityKey]uint64{}}
		for _, h := range in.Heads {
			req.Heads[lcrypto.IdentityKey(unhex(t, h.Author))] = h.Head
		}
		d, err := decodeSyncRequest(body)
		out := syncRequestFields{Room: d.Room, Heads: []headFields{}}
		for _, h := range sortedHeads(d.Heads) {
			out.Heads = append(out.Heads, headFields{hex.EncodeToString(h.key[:]), h.head})
		}
		return req.encode(), out, err
	case frameSyncResponse, frameConvoSyncResponse:
		var in syncResponseFields
		mustUnmarshal(t, f.Fields, &in)
		resp := syncResponse{Room: in.Room, Done: in.Done}
		for _, m := range in.Messages {
			resp.Msgs = append(resp.Msgs, unhex(t, m))
		}
		d, err := decodeSyncResponse(body)
		out := syncResponseFields{Room: d.Room, Done: d.Done, Messages: []string{}}
		for _, m := range d.Msgs {
			out.Messages = append(out.Messages, hex.EncodeToString(m))
		}
		return resp.encode(), out, err
	case frameRoomJoin, frameRoomLeave:
		var in roomFields
		mustUnmarshal(t, f.Fields, &in)
		r, err := decodeRoomFrame(body)
		return encodeRoomFrame(in.Room), roomFields{r}, err
	case frameSyncCheck, frameConvoSyncCheck:
		var in syncCheckFields
		mustUnmarshal(t, f.Fields, &in)
		chk := syncCheck{Room: in.Room}
		for _, e := range in.Entries {
			chk.Entries = append(chk.Entries, checkEntry{lcrypto.IdentityKey(unhex(t, e.Author)), e.Head, chainHash(unhex(t, e.Chain))})
		}
		d, err := decodeSyncCheck(body)
		out := syncCheckFields{Room: d.Room}
		for _, e := range d.Entries {
			out.Entries = append(out.Entries, checkFields{hex.EncodeToString(e.Author[:]), e.Head, hex.EncodeToString(e.Chain[:])})
		}
		return chk.encode(), out, err
	case frameDelete:
		var in deleteFields
		mustUnmarshal(t, f.Fields, &in)
		ts := tombstone{Room: in.Room, Seq: in.Seq}
		copy(ts.Author[:], unhex(t, in.Author))
		copy(ts.Sum[:], unhex(t, in.Sum))
		copy(ts.Sig[:], unhex(t, in.Sig))
		d, err := decodeTombstone(body)
		if err == nil && !d.verify() {
			err = fmt.Errorf("the delete frame's signature does not verify")
		}
		return ts.encode(), deleteFieldsOf(d), err
	case frameNick:
		var in nickFields
		mustUnmarshal(t, f.Fields, &in)
		nick, err := decodeNick(body)
		return encodeNick(in.Nick), nickFields{nick}, err
	case frameStored:
		var in syncRequestFields
		mustUnmarshal(t, f.Fields, &in)
		st := stored{Room: in.Room, Heads: map[lcrypto.IdentityKey]uint64{}}
		for _, h := range in.Heads {
			st.Heads[lcrypto.IdentityKey(unhex(t, h.Author))] = h.Head
		}
		d, err := decodeStoredFrame(body)
		out := syncRequestFields{Room: d.Room, Heads: []headFields{}}
		for _, h := range sortedHeads(d.Heads) {
			out.Heads = append(out.Heads, headFields{hex.EncodeToString(h.key[:]), h.head})
		}
		return st.encode(), out, err
	case frameRead:
		var in readFields
		mustUnmarshal(t, f.Fields, &in)
		rm := readMark{Room: in.Room, Pos: storage.Position{Clock: in.Clock, Author: [32]byte(unhex(t, in.Author)), Seq: in.Seq}}
		d, err := decodeReadMark(body)
		return rm.encode(), readFields{d.Room, d.Pos.Clock, hex.EncodeToString(d.Pos.Author[:]), d.Pos.Seq}, err
	case framePresence:
		var in presenceFields
		mustUnmarshal(t, f.Fields, &in)
		d, err := decodePresence(body)
		return presence{State: Presence(in.State), Status: in.Status}.encode(), presenceFields{uint8(d.State), d.Status}, err
	case frameTyping:
		var in roomFields
		mustUnmarshal(t, f.Fields, &in)
		r, err := decodeRoomFrame(body)
		return encodeRoomFrame(in.Room), roomFields{r}, err
	case frameConvoWelcome:
		var in welcomeFields
		mustUnmarshal(t, f.Fields, &in)
		w := welcome{Room: in.Room}
		for _, m := range in.Ops {
			w.Ops = append(w.Ops, unhex(t, m))
		}
		d, err := decodeWelcome(body)
		out := welcomeFields{Room: d.Room, Ops: []string{}}
		for _, m := range d.Ops {
			out.Ops = append(out.Ops, hex.EncodeToString(m))
		}
		return w.encode(), out, err
	case vectorTypeClose:
		var in closeFields
		mustUnmarshal(t, f.Fields, &in)
		return append([]byte{in.Code}, in.Reason...), closeFields{body[0], string(body[1:])}, nil
	}
	return nil, nil, fmt.Errorf("frame type %#x has no vector codec", f.Type)
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// jsonEqual compares a decoded value with fields from the file as JSON.
func jsonEqual(t *testing.T, got any, want json.RawMessage) bool {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	mustUnmarshal(t, g, &a)
	mustUnmarshal(t, want, &b)
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	return slices.Equal(ga, gb)
}
