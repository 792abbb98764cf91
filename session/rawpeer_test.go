package session

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"

	"github.com/flynn/noise"
	lcrypto "github.com/lanchat/lanchat/crypto"
)

// rawPeer speaks XX with flynn/noise directly and its default DH, so tests
// can send what a correct lanchat node never would.
type rawPeer struct {
	conn net.Conn
	r    *bufio.Reader
	hs   *noise.HandshakeState
}

type rawOpts struct {
	prologue string
	static   noise.DHKey
	payload  []byte // for message 2 or 3
}

// defaultRawOpts are those of an honest node with identity id.
func defaultRawOpts(id *lcrypto.Identity) rawOpts {
	priv, pub := id.NoiseStatic()
	return rawOpts{
		prologue: Prologue,
		static:   noise.DHKey{Private: priv[:], Public: pub[:]},
		payload:  honestPayload(id, pub[:]),
	}
}

func honestPayload(id *lcrypto.Identity, static []byte) []byte {
	p := encodePayload(id.Public(), id.Sign(lcrypto.DomainNoiseStatic, static))
	return p[:]
}

// randomStatic returns a fresh X25519 key pair.
func randomStatic() noise.DHKey {
	k, err := noise.DH25519.GenerateKeypair(rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func newRawPeer(conn net.Conn, initiator bool, o rawOpts) *rawPeer {
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:   noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashSHA256),
		Pattern:       noise.HandshakeXX,
		Initiator:     initiator,
		Prologue:      []byte(o.prologue),
		StaticKeypair: o.static,
	})
	if err != nil {
		panic(err)
	}
	return &rawPeer{conn: conn, r: bufio.NewReader(conn), hs: hs}
}

// write sends the next handshake message with payload.
func (p *rawPeer) write(payload []byte) error {
	out, _, _, err := p.hs.WriteMessage([]byte{0, 0}, payload)
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint16(out, uint16(len(out)-2))
	_, err = p.conn.Write(out)
	return err
}

// read reads the next handshake message and returns its payload.
func (p *rawPeer) read() ([]byte, error) {
	msg, err := readWire(p.r)
	if err != nil {
		return nil, err
	}
	payload, _, _, err := p.hs.ReadMessage(nil, msg)
	return payload, err
}

// readWire reads one length-prefixed message.
func readWire(r io.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, fmt.Errorf("message body: %w", err)
	}
	return msg, nil
}

// runRawInitiator plays messages 1 and 3 against a responder.
func runRawInitiator(conn net.Conn, o rawOpts) error {
	p := newRawPeer(conn, true, o)
	if err := p.write(nil); err != nil {
		return err
	}
	if _, err := p.read(); err != nil {
		return err
	}
	return p.write(o.payload)
}

// runRawResponder plays message 2 against an initiator and reports whether
// message 3 came.
func runRawResponder(conn net.Conn, o rawOpts) (gotMsg3 bool, err error) {
	p := newRawPeer(conn, false, o)
	if _, err := p.read(); err != nil {
		return false, err
	}
	if err := p.write(o.payload); err != nil {
		return false, err
	}
	_, err = readWire(p.r)
	return err == nil, nil
}
