package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"filippo.io/edwards25519"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
	"github.com/lanchat/lanchat/session/sessiontest"
)

// order2 is the point (0, −1), of order 2.
var order2 = func() *edwards25519.Point {
	b, _ := hex.DecodeString("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	p, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		panic(err)
	}
	return p
}()

// signMixedR signs m as id with nonce point R = [r]B + (0, −1): what a
// hostile member who knows its own secret key can send. A cofactored
// batch equation accepts it; crypto/ed25519, and so every lanchat node,
// refuses it.
func signMixedR(t *testing.T, id *lcrypto.Identity, m *Message) {
	t.Helper()
	h := sha512.Sum512(id.MarshalSecret()[:32])
	a, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		t.Fatal(err)
	}
	var seed [64]byte
	if _, err := rand.Read(seed[:]); err != nil {
		t.Fatal(err)
	}
	r, _ := edwards25519.NewScalar().SetUniformBytes(seed[:])
	R := new(edwards25519.Point).ScalarBaseMult(r)
	R.Add(R, order2)
	m.Author = id.Public()
	kh := sha512.New()
	kh.Write(R.Bytes())
	kh.Write(m.Author[:])
	kh.Write([]byte(lcrypto.DomainMessage))
	kh.Write(m.signedBytes())
	k, _ := edwards25519.NewScalar().SetUniformBytes(kh.Sum(nil))
	copy(m.Sig[:32], R.Bytes())
	copy(m.Sig[32:], edwards25519.NewScalar().MultiplyAdd(k, a, r).Bytes())
	if m.Verify() == nil {
		t.Fatal("crypto/ed25519 accepts a signature with a mixed-order R")
	}
	// [8]([S]B − [k]A − R) is the identity: a cofactored check passes.
	A, _ := new(edwards25519.Point).SetBytes(m.Author[:])
	S, _ := edwards25519.NewScalar().SetCanonicalBytes(m.Sig[32:])
	d := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(k, new(edwards25519.Point).Negate(A), S)
	d.Subtract(d, R)
	if d.MultByCofactor(d).Equal(edwards25519.NewIdentityPoint()) != 1 {
		t.Fatal("the crafted signature does not pass the cofactored equation")
	}
}

// malloryBatch returns n messages by mallory in lobby, seq 1..n; the
// messages at bad are signed with a mixed-order R.
func malloryBatch(t *testing.T, mallory *lcrypto.Identity, n int, bad ...int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	isBad := map[int]bool{}
	for _, b := range bad {
		isBad[b] = true
	}
	for i := range out {
		m := Message{Room: "lobby", Seq: uint64(i + 1), Clock: uint64(i + 1), Time: time.Now(), Body: fmt.Sprintf("batched %d", i+1)}
		if isBad[i] {
			signMixedR(t, mallory, &m)
		} else {
			m.Sign(mallory)
		}
		out[i] = m.Encode()
	}
	return out
}

// A sync batch large enough to be verified as one batch, holding two
// messages whose R carries the order-2 point (their torsion cancels in the
// batch equation whenever the random weights' sum is even): both are
// dropped and logged, as a bad signature always is, and the good ones in the
// batch are stored; the link stays up.
func TestSyncBatchDropsMixedOrderR(t *testing.T) {
	const n = 2 * lcrypto.BatchMin
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	raws := malloryBatch(t, mallory, n, 10, 70)
	resp := syncResponse{Room: "lobby", Done: true, Msgs: raws}
	if err := link.Send(frameSyncResponse, resp.encode()); err != nil {
		t.Fatal(err)
	}
	checkBatchedOutcome(t, alice, n, 10, 70)
	select {
	case <-link.Done():
		t.Fatalf("a bad signature in a sync batch closed the link: %v", link.Err())
	default:
	}
}

// The same messages as chat frames sent back to back (the node takes the
// ones queued together as one batch): the same outcome.
func TestChatRunDropsMixedOrderR(t *testing.T) {
	const n = 2 * lcrypto.BatchMin
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	for _, raw := range malloryBatch(t, mallory, n, 3, 100) {
		if err := link.Send(frameChat, raw); err != nil {
			t.Fatal(err)
		}
	}
	checkBatchedOutcome(t, alice, n, 3, 100)
	select {
	case <-link.Done():
		t.Fatalf("a bad signature closed the link: %v", link.Err())
	default:
	}
}

// checkBatchedOutcome waits for alice to store mallory's n batched messages
// but those at bad, and checks that she stored nothing else.
func checkBatchedOutcome(t *testing.T, alice *testNode, n int, bad ...int) {
	t.Helper()
	want := map[string]bool{}
	for i := range n {
		want[fmt.Sprintf("batched %d", i+1)] = true
	}
	for _, b := range bad {
		delete(want, fmt.Sprintf("batched %d", b+1))
	}
	waitFor(t, "the good messages of the batch", func() bool {
		return len(alice.history(t, "lobby")) >= len(want)
	})
	h := alice.history(t, "lobby")
	if len(h) != len(want) {
		t.Fatalf("alice stored %d messages, want %d", len(h), len(want))
	}
	for _, line := range h {
		found := false
		for body := range want {
			if hasBodies([]string{line}, body) {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("alice stored %q, which is not one of the good messages", line)
		}
	}
}

// A malformed frame behind queued chat frames closes the link, and the
// messages before it are stored, as when each frame is handled alone.
func TestChatRunMalformedEndsRun(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	raws := malloryBatch(t, mallory, 20)
	for _, raw := range raws[:10] {
		if err := link.Send(frameChat, raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := link.Send(frameChat, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	for _, raw := range raws[10:] {
		if err := link.Send(frameChat, raw); err != nil {
			t.Fatal(err)
		}
	}
	waitClosed(t, "the malformed message to close the link", link.Done())
	waitFor(t, "the ten messages before it", func() bool { return len(alice.history(t, "lobby")) >= 10 })
	for i := range 10 {
		if !hasBodies(alice.history(t, "lobby"), fmt.Sprintf("batched %d", i+1)) {
			t.Fatalf("message %d, sent before the malformed one, is missing", i+1)
		}
	}
}

// Sync responses sent back to back (taken together as one signature batch
// when they queue up): a bad signature in one of them drops that message
// only; a malformed response behind them closes the link, after the
// messages of the responses before it are stored.
func TestSyncRunDropsBadAndEndsAtMalformed(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	const per, batches = 60, 4
	raws := malloryBatch(t, mallory, per*batches, 5, 130)
	for b := range batches {
		resp := syncResponse{Room: "lobby", Done: b == batches-1, Msgs: raws[b*per : (b+1)*per]}
		if err := link.Send(frameSyncResponse, resp.encode()); err != nil {
			t.Fatal(err)
		}
	}
	if err := link.Send(frameSyncResponse, []byte{0xff}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, "a malformed sync response to close the link", link.Done())
	checkBatchedOutcome(t, alice, per*batches, 5, 130)
}

// queuedPair returns the receiving end of a fresh link (no node behind
// either end) after frames were sent on the other and all are queued.
func queuedPair(t *testing.T, frames []session.Frame) *session.Link {
	t.Helper()
	a, b := newID(t), newID(t)
	client, server := sessiontest.Pair(t)
	cfgFor := func(id *lcrypto.Identity, peer lcrypto.IdentityKey) session.Config {
		cfg := session.DefaultConfig()
		cfg.Identity = id
		cfg.Trusted = func(k lcrypto.IdentityKey) bool { return k == peer }
		cfg.Hello = hello{Nick: "x"}.encode()
		return cfg
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	accepted := make(chan *session.Link, 1)
	errs := make(chan error, 1)
	go func() {
		l, err := session.Accept(ctx, server, cfgFor(b, a.Public()))
		if err != nil {
			errs <- err
			return
		}
		accepted <- l
	}()
	d, err := session.Dial(ctx, client, cfgFor(a, b.Public()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close("test over") })
	var r *session.Link
	select {
	case r = <-accepted:
	case err := <-errs:
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close("test over") })
	for _, f := range frames {
		if err := d.SendWait(ctx, f.Type, f.Body); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every frame queued", func() bool { return r.Stats().FramesReceived == uint64(len(frames)) })
	return r
}

// takeRun stops before a frame that would pass maxRunBytes (handing it
// back as the next frame), at maxRun messages, and at a frame of another
// type; the frames come in order.
func TestTakeRunBounds(t *testing.T) {
	big := make([]byte, maxRunBytes/3+1) // three of them pass the bound
	tests := []struct {
		name   string
		frames []session.Frame
		full   int // take reports full after this many (0: never)
		taken  int
		next   int // index of the frame handed back, -1 for none
	}{
		{"bytes", []session.Frame{{Type: frameChat, Body: big}, {Type: frameChat, Body: big}, {Type: frameChat, Body: big}}, 0, 2, 2},
		{"count", []session.Frame{{Type: frameChat, Body: []byte{1}}, {Type: frameChat, Body: []byte{2}}, {Type: frameChat, Body: []byte{3}}}, 2, 2, -1},
		{"type", []session.Frame{{Type: frameChat, Body: []byte{1}}, {Type: frameNick, Body: []byte{2}}, {Type: frameChat, Body: []byte{3}}}, 0, 1, 1},
		{"queue end", []session.Frame{{Type: frameChat, Body: []byte{1}}, {Type: frameChat, Body: []byte{2}}}, 0, 2, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := queuedPair(t, tt.frames)
			l := &link{sess: r}
			first, err := r.Recv(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []session.Frame
			next, err := l.takeRun(first, func(f session.Frame) (bool, error) {
				got = append(got, f)
				return len(got) == tt.full, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.taken {
				t.Fatalf("took %d frames, want %d", len(got), tt.taken)
			}
			for i, f := range got {
				if f.Type != tt.frames[i].Type || !bytes.Equal(f.Body, tt.frames[i].Body) {
					t.Fatalf("frame %d out of order", i)
				}
			}
			switch {
			case tt.next < 0 && next != nil:
				t.Fatalf("handed back a frame of type %#x, want none", next.Type)
			case tt.next >= 0 && (next == nil || next.Type != tt.frames[tt.next].Type || !bytes.Equal(next.Body, tt.frames[tt.next].Body)):
				t.Fatalf("handed back %v, want frame %d", next, tt.next)
			}
		})
	}
}
