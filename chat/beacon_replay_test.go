package chat

import (
	"crypto/rand"
	"net"
	"net/netip"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/discovery"
)

// replayer sends beacons signed with a victim's key (a capture of runs the
// receiver has forgotten) from a raw UDP socket on src.
type replayer struct {
	t    *testing.T
	id   *lcrypto.Identity
	conn *net.UDPConn
	to   *net.UDPAddr
}

func newReplayer(t *testing.T, c *cluster, id *lcrypto.Identity, src string) *replayer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(src)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &replayer{t: t, id: id, conn: conn, to: &net.UDPAddr{IP: net.IPv4(127, 255, 255, 255), Port: c.port}}
}

// oldRun returns the hello and bye of one earlier run of the victim.
func (r *replayer) oldRun(tcpPort uint16) (hello, bye []byte) {
	r.t.Helper()
	var inst [discovery.InstanceSize]byte
	if _, err := rand.Read(inst[:]); err != nil {
		r.t.Fatal(err)
	}
	b := discovery.Beacon{TCPPort: tcpPort, Interval: time.Second, Instance: inst, Seq: 7}
	hello, err := b.Encode(r.id)
	if err != nil {
		r.t.Fatal(err)
	}
	b.Bye, b.Seq = true, 8
	bye, err = b.Encode(r.id)
	if err != nil {
		r.t.Fatal(err)
	}
	return hello, bye
}

func (r *replayer) send(datagrams ...[]byte) {
	r.t.Helper()
	for _, d := range datagrams {
		if _, err := r.conn.WriteToUDP(d, r.to); err != nil {
			r.t.Fatal(err)
		}
	}
}

// tablePeer returns what tn's discovery table holds about key.
func (tn *testNode) tablePeer(key lcrypto.IdentityKey) (discovery.Peer, bool) {
	for _, p := range tn.node.disc.Load().Peers() {
		if p.Key == key {
			return p, true
		}
	}
	return discovery.Peer{}, false
}

func (tn *testNode) linkOf(other *testNode) *link {
	return tn.node.linkTo(other.id.Public())
}

func tcpPortOf(t *testing.T, tn *testNode) uint16 {
	t.Helper()
	addr, err := tn.node.Addr(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return uint16(addr.(*net.TCPAddr).Port)
}

// noPeerDown fails if tn's stream holds a peer_down event about other.
func (tn *testNode) noPeerDown(t *testing.T, other *testNode) {
	t.Helper()
	for {
		select {
		case ev := <-tn.events:
			if ev.Kind == EventPeerDown && ev.Peer != nil && ev.Peer.Fingerprint == other.id.Fingerprint().String() {
				t.Fatalf("%s: link with %s went down: %s", tn.name, other.name, ev.Reason)
			}
		default:
			return
		}
	}
}

// TestReplayedByeNeverClosesLinks: the hello and bye of earlier runs of a
// trusted node, replayed from a raw UDP socket, take the node out of the
// peer table (the bye is valid for that run) but never close the live,
// authenticated link to it, however often it is done.
func TestReplayedByeNeverClosesLinks(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	c.trustAll(alice, bob)
	c.start(alice)
	c.start(bob)
	c.waitLinked(alice, bob)
	before := alice.linkOf(bob)
	r := newReplayer(t, c, bob.id, "127.0.0.1")
	port := tcpPortOf(t, bob)
	for round := range 3 {
		p, ok := alice.tablePeer(bob.id.Public())
		if !ok {
			waitFor(t, "bob back in the table", func() bool { _, ok := alice.tablePeer(bob.id.Public()); return ok })
			p, _ = alice.tablePeer(bob.id.Public())
		}
		first := p.FirstSeen
		r.send(r.oldRun(port))
		// The bye took bob out of the table: his next beacon re-enters him.
		waitFor(t, "the replayed bye to take effect", func() bool {
			p, ok := alice.tablePeer(bob.id.Public())
			return ok && p.FirstSeen.After(first)
		})
		if got := alice.linkOf(bob); got != before || before.sess.Err() != nil {
			t.Fatalf("round %d: the link to bob was replaced or closed (err %v)", round, before.sess.Err())
		}
	}
	// A message still flows over the same link, and neither side saw it go down.
	bob.send(t, "lobby", "still here")
	waitFor(t, "the message over the old link", func() bool { return hasBodies(alice.history(t, "lobby"), "still here") })
	if alice.linkOf(bob) != before {
		t.Fatal("the link to bob was replaced")
	}
	alice.noPeerDown(t, bob)
	bob.noPeerDown(t, alice)
}

// TestReplayedHelloFromElsewhereKeepsTheLink: a replayed hello of an
// earlier run from another on-link address (a restart and a move, as the
// table sees it) suggests a new address; the live link stays, no second
// link replaces it, and the real beacons put the address back.
func TestReplayedHelloFromElsewhereKeepsTheLink(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	c.trustAll(alice, bob)
	c.start(alice)
	c.start(bob)
	c.waitLinked(alice, bob)
	before := alice.linkOf(bob)
	r := newReplayer(t, c, bob.id, "127.0.0.2")
	hello, _ := r.oldRun(tcpPortOf(t, bob))
	r.send(hello)
	moved := netip.MustParseAddr("127.0.0.2")
	waitFor(t, "the replayed hello in the table", func() bool {
		p, ok := alice.tablePeer(bob.id.Public())
		return ok && p.Addr.Addr() == moved
	})
	waitFor(t, "bob's own beacon to put his address back", func() bool {
		p, ok := alice.tablePeer(bob.id.Public())
		return ok && p.Addr.Addr() != moved
	})
	if alice.linkOf(bob) != before || before.sess.Err() != nil {
		t.Fatalf("the link to bob was replaced or closed (err %v)", before.sess.Err())
	}
	alice.noPeerDown(t, bob)
	bob.noPeerDown(t, alice)
}
