package session

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session/sessiontest"
)

var update = flag.Bool("update", false, "rewrite testdata/session/vectors.json and the session fuzz seeds")

const vectorFile = "../testdata/session/vectors.json"

// vectors is the golden transcript of one link: fixed identities and
// ephemerals in, exact bytes out. PROTOCOL.md walks through it.
type vectors struct {
	Description      string       `json:"description"`
	Protocol         string       `json:"protocol"`
	Prologue         string       `json:"prologue_hex"`
	Initiator        vectorParty  `json:"initiator"`
	Responder        vectorParty  `json:"responder"`
	HandshakeHash    string       `json:"handshake_hash_hex"`
	KeyInitToResp    string       `json:"transport_key_initiator_to_responder_hex"`
	KeyRespToInit    string       `json:"transport_key_responder_to_initiator_hex"`
	Messages         []vectorWire `json:"messages"`
	initiatorWritten []byte
	responderWritten []byte
}

type vectorParty struct {
	IdentitySecret   string `json:"identity_secret_hex"`
	IdentityKey      string `json:"identity_key_hex"`
	NoiseStatic      string `json:"noise_static_public_hex"`
	EphemeralPrivate string `json:"ephemeral_private_hex"`
	Hello            string `json:"hello_hex"`
}

type vectorWire struct {
	From string `json:"from"`
	What string `json:"what"`
	Wire string `json:"wire_hex"`
}

// The script of the golden link, in protocol order.
var vectorScript = []struct{ from, what string }{
	{"initiator", "handshake message 1 (e)"},
	{"responder", "handshake message 2 (e, ee, s, es, payload)"},
	{"initiator", "handshake message 3 (s, se, payload)"},
	{"responder", "hello frame"},
	{"initiator", "hello frame"},
	{"initiator", "chat frame \"hello bob\""},
	{"responder", "chat frame \"hello alice\""},
	{"initiator", "rekey frame"},
	{"initiator", "chat frame \"after rekey\" (first under the new key)"},
	{"responder", "close frame (normal, \"bye\")"},
}

func seq(from, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(from + i)
	}
	return b
}

// vectorParties returns the fixed inputs of the golden link.
func vectorParties(t testing.TB) (ini, resp vectorParty, iniID, respID *lcrypto.Identity) {
	t.Helper()
	mk := func(secret, eph []byte, hello string) (vectorParty, *lcrypto.Identity) {
		id, err := lcrypto.IdentityFromSecret(secret)
		if err != nil {
			t.Fatal(err)
		}
		pub := id.Public()
		_, static := id.NoiseStatic()
		return vectorParty{
			IdentitySecret:   hex.EncodeToString(secret),
			IdentityKey:      hex.EncodeToString(pub[:]),
			NoiseStatic:      hex.EncodeToString(static[:]),
			EphemeralPrivate: hex.EncodeToString(eph),
			Hello:            hex.EncodeToString([]byte(hello)),
		}, id
	}
	ini, iniID = mk(seq(0x00, 64), seq(0x80, 32), "alice")
	resp, respID = mk(seq(0x40, 64), seq(0xa0, 32), "bob")
	return ini, resp, iniID, respID
}

// vectorConfig is the config of one side of the golden link: no timers fire
// during the run, and Rand holds exactly one ephemeral key.
func vectorConfig(t testing.TB, p vectorParty, id *lcrypto.Identity, peer *lcrypto.Identity) Config {
	t.Helper()
	cfg := testConfig(id, peer.Public())
	cfg.Hello = mustHex(t, p.Hello)
	cfg.Rand = bytes.NewReader(mustHex(t, p.EphemeralPrivate))
	cfg.KeepaliveInterval = time.Hour
	cfg.DeadTimeout = 2 * time.Hour
	cfg.RekeyAfter = time.Hour
	return cfg
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

// recordConn records what is written through it.
type recordConn struct {
	*sessiontest.CountingConn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.buf.Write(p)
	c.mu.Unlock()
	return c.CountingConn.Write(p)
}

func (c *recordConn) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf.Bytes())
}

// runVectorLink runs the golden link over loopback TCP and returns its transcript.
func runVectorLink(t *testing.T) *vectors {
	ini, resp, iniID, respID := vectorParties(t)
	client, server := sessiontest.Pair(t)
	rc := &recordConn{CountingConn: &sessiontest.CountingConn{Conn: client}}
	rs := &recordConn{CountingConn: &sessiontest.CountingConn{Conn: server}}
	d, a := handshakeOver(t, rc, rs, vectorConfig(t, ini, iniID, respID), vectorConfig(t, resp, respID, iniID))
	if d.err != nil || a.err != nil {
		t.Fatalf("dial: %v; accept: %v", d.err, a.err)
	}
	dl, al := d.link, a.link
	v := &vectors{
		Description: "One lanchat link: Noise XX handshake, hellos, a frame each way, a rekey, a close. " +
			"Secrets and ephemeral private keys are inputs; everything else follows from them.",
		Protocol:      ProtocolName,
		Prologue:      hex.EncodeToString([]byte(Prologue)),
		Initiator:     ini,
		Responder:     resp,
		HandshakeHash: hex.EncodeToString(dl.ChannelBinding()),
	}
	dl.tx.mu.Lock()
	k1 := dl.tx.cs.UnsafeKey()
	dl.tx.mu.Unlock()
	al.tx.mu.Lock()
	k2 := al.tx.cs.UnsafeKey()
	al.tx.mu.Unlock()
	v.KeyInitToResp, v.KeyRespToInit = hex.EncodeToString(k1[:]), hex.EncodeToString(k2[:])

	sendRecv(t, dl, al, "hello bob")
	sendRecv(t, al, dl, "hello alice")
	if err := dl.tx.rekey(); err != nil {
		t.Fatal(err)
	}
	if err := dl.tx.flush(); err != nil {
		t.Fatal(err)
	}
	sendRecv(t, dl, al, "after rekey")
	if err := al.Close("bye"); err != nil {
		t.Fatal(err)
	}
	if err := waitDone(t, dl); !errors.Is(err, ErrClosed) {
		t.Fatalf("initiator's end: %v", err)
	}
	v.initiatorWritten, v.responderWritten = rc.bytes(), rs.bytes()
	v.Messages = interleave(t, splitWire(t, v.initiatorWritten), splitWire(t, v.responderWritten))
	return v
}

func sendRecv(t *testing.T, from, to *Link, text string) {
	t.Helper()
	if err := from.Send(appFrame, []byte(text)); err != nil {
		t.Fatal(err)
	}
	if f := recvWithin(t, to); string(f.Body) != text {
		t.Fatalf("got %q, want %q", f.Body, text)
	}
}

// splitWire cuts a stream into its length-prefixed messages (prefix kept).
func splitWire(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			t.Fatalf("stream ends inside a length prefix")
		}
		n := 2 + (int(b[0])<<8 | int(b[1]))
		if len(b) < n {
			t.Fatalf("stream ends inside a message")
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

func interleave(t testing.TB, ini, resp [][]byte) []vectorWire {
	t.Helper()
	var out []vectorWire
	for _, s := range vectorScript {
		src := &ini
		if s.from == "responder" {
			src = &resp
		}
		if len(*src) == 0 {
			t.Fatalf("the %s sent fewer messages than the script", s.from)
		}
		out = append(out, vectorWire{From: s.from, What: s.what, Wire: hex.EncodeToString((*src)[0])})
		*src = (*src)[1:]
	}
	if len(ini)+len(resp) != 0 {
		t.Fatalf("%d unexpected messages after the script", len(ini)+len(resp))
	}
	return out
}

func loadVectors(t testing.TB) *vectors {
	t.Helper()
	b, err := os.ReadFile(vectorFile)
	if err != nil {
		t.Fatalf("reading vectors (go test -run TestVectors -update writes them): %v", err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("parsing %s: %v", vectorFile, err)
	}
	return &v
}

// wireOf concatenates the first n vector messages sent by from.
func (v *vectors) wireOf(t testing.TB, from string, n int) []byte {
	t.Helper()
	var out []byte
	for _, m := range v.Messages {
		if m.From == from && n != 0 {
			out = append(out, mustHex(t, m.Wire)...)
			n--
		}
	}
	return out
}

func TestVectors(t *testing.T) {
	got := runVectorLink(t)
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(vectorFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorFile, b, 0o644); err != nil {
			t.Fatal(err)
		}
		writeFuzzSeeds(t, got)
		return
	}
	want, err := os.ReadFile(vectorFile)
	if err != nil {
		t.Fatalf("reading vectors (go test -run TestVectors -update writes them): %v", err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("the link's bytes differ from %s: a protocol change? got:\n%s", vectorFile, b)
	}
}

// TestVectorsReplay feeds one side's recorded messages to the other role,
// in memory, and checks that it answers with exactly the recorded bytes and
// accepts the recorded peer.
func TestVectorsReplay(t *testing.T) {
	v := loadVectors(t)
	ini, resp, iniID, respID := vectorParties(t)
	if ini != v.Initiator || resp != v.Responder {
		t.Fatal("vector inputs differ from vectorParties")
	}
	tests := []struct {
		role       string
		feed       []byte // the peer's handshake messages and hello
		wantWrites []byte // ours
		wantPeer   lcrypto.IdentityKey
		run        func(context.Context, *scriptConn) (*Link, error)
	}{
		{"responder", v.wireOf(t, "initiator", 3), v.wireOf(t, "responder", 2), iniID.Public(),
			func(ctx context.Context, c *scriptConn) (*Link, error) {
				return Accept(ctx, c, vectorConfig(t, resp, respID, iniID))
			}},
		{"initiator", v.wireOf(t, "responder", 2), v.wireOf(t, "initiator", 3), respID.Public(),
			func(ctx context.Context, c *scriptConn) (*Link, error) {
				return Dial(ctx, c, vectorConfig(t, ini, iniID, respID))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			conn := newScriptConn(tt.feed)
			l, err := tt.run(context.Background(), conn)
			if err != nil {
				t.Fatalf("replay: %v", err)
			}
			defer l.Close("replay over")
			if l.Peer() != tt.wantPeer {
				t.Fatalf("peer %s, want %s", l.Peer(), tt.wantPeer)
			}
			if got := conn.Written(); !bytes.HasPrefix(got, tt.wantWrites) {
				t.Fatalf("wrote\n%x\nwant\n%x", got, tt.wantWrites)
			}
		})
	}
}
