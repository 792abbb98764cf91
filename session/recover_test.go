package session

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/flynn/noise"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session/sessiontest"
)

// TestHandshakeRecoversFromPanic: a panic during a handshake (here in the
// trust callback) fails that handshake only.
func TestHandshakeRecoversFromPanic(t *testing.T) {
	dcfg, acfg := pairConfigs(t)
	acfg.Trusted = func(lcrypto.IdentityKey) bool { panic("bug") }
	client, server := sessiontest.Pair(t)
	d, a := handshakeOver(t, client, server, dcfg, acfg)
	if !errors.Is(a.err, errInternal) || d.err == nil {
		t.Fatalf("accept: %v (want an internal error); dial: %v", a.err, d.err)
	}
}

// panicCipher is a ChaChaPoly whose Decrypt panics, standing in for a bug in
// the receiving path.
type panicCipher struct{}

func (panicCipher) Cipher(k [32]byte) noise.Cipher {
	return panicOnOpen{noise.CipherChaChaPoly.Cipher(k)}
}
func (panicCipher) CipherName() string { return "ChaChaPoly" }

type panicOnOpen struct{ noise.Cipher }

func (panicOnOpen) Decrypt(out []byte, n uint64, ad, ciphertext []byte) ([]byte, error) {
	panic("bug in the receiving path")
}

// TestLinkRecoversFromPanic: a panic in a link's reader ends that link with
// an error; the process and the peer carry on.
func TestLinkRecoversFromPanic(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	dcfg, acfg := pairConfigs(t)
	client, server := sessiontest.Pair(t)
	mk := func(conn net.Conn, cfg Config, rxSuite noise.CipherSuite, tx, rx byte) *Link {
		c, err := cfg.normalized()
		if err != nil {
			t.Fatal(err)
		}
		h := &handshake{cfg: &c, conn: conn, r: newLazyReader(conn)}
		h.tx = newSendDir(noise.UnsafeNewCipherState(newSuite(nil), [32]byte{tx}, 0), conn, c.RekeyAfterMessages)
		h.rx = newRecvDir(noise.UnsafeNewCipherState(rxSuite, [32]byte{rx}, 0), conn, h.r)
		l := newLink(h)
		t.Cleanup(func() { l.Close("test over") })
		return l
	}
	d := mk(client, dcfg, newSuite(nil), 1, 2)
	a := mk(server, acfg, noise.NewCipherSuite(newECDHFunc(nil), panicCipher{}, noise.HashSHA256), 2, 1)
	if err := d.Send(appFrame, []byte("boom")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, err := a.Recv(ctx); !errors.Is(err, errInternal) {
		t.Fatalf("recv: %v, want the recovered internal error", err)
	}
	select {
	case <-d.Done():
	case <-time.After(waitLimit):
		t.Fatal("the peer's link did not end")
	}
}
