package discovery

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lanchat/lanchat/discovery/discoverytest"
)

// On a clean stop a node sends byeCount byes, each with the next sequence
// number after its last beacon (PROTOCOL.md 2, "Sending"): what a raw
// listener on the loopback beacon port hears.
func TestByesCarryConsecutiveSequenceNumbers(t *testing.T) {
	port := discoverytest.FreePort(t)
	c, err := listenUDP(context.Background(), "udp4", netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port)).String())
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	id := testIdentity(t, 7)
	n := startNode(t, loopbackConfig(id, port))
	var got []Beacon
	read := func() Beacon {
		t.Helper()
		buf := make([]byte, MaxBeaconSize)
		for {
			if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			k, _, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Fatalf("after %d beacons: %v", len(got), err)
			}
			b, err := Decode(buf[:k])
			if err != nil || b.Key != id.Public() {
				continue // another test's traffic cannot reach this port; be safe anyway
			}
			got = append(got, b)
			return b
		}
	}
	read() // the node is sending
	n.stop()
	for {
		if b := read(); b.Bye {
			break
		}
	}
	for range byeCount - 1 {
		read()
	}
	last := len(got) - byeCount - 1 // the last announcement
	if last < 0 || got[last].Bye {
		t.Fatalf("beacons %+v: want announcements, then %d byes", got, byeCount)
	}
	for i := last + 1; i < len(got); i++ {
		if !got[i].Bye || got[i].Seq != got[i-1].Seq+1 || got[i].Instance != got[last].Instance {
			t.Errorf("beacon %d: bye %v, sequence %d after %d; want a bye of the same instance with sequence %d",
				i, got[i].Bye, got[i].Seq, got[i-1].Seq, got[i-1].Seq+1)
		}
	}
}
