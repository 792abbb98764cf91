package chat

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

// A linked peer heard by beacon: trusted with the name given to it, its
// hello nickname, linked, at its beacon address, with the time of its last
// beacon.
func TestPeerEntriesOfLinkedPeer(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	c.trustAll(alice, bob)
	c.start(alice)
	c.start(bob)
	c.waitLinked(alice, bob)
	var got PeerEntry
	waitFor(t, "alice to hear bob's beacons", func() bool {
		for _, e := range alice.node.PeerEntries() {
			if e.Fingerprint == bob.id.Fingerprint().String() {
				got = e
				return e.LastSeen != nil
			}
		}
		return false
	})
	bobAddr, err := bob.node.Addr(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Linked || !got.Trusted || got.Name != "bob" || got.Nick != "bob" || got.Short != bob.id.Fingerprint().Short() ||
		!strings.HasSuffix(got.Addr, fmt.Sprintf(":%d", bobAddr.(*net.TCPAddr).Port)) {
		t.Errorf("alice lists bob as %+v, want linked, trusted as bob, nick bob, at his link port %s", got, bobAddr)
	}
}
