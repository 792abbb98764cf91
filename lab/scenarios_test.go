//go:build linux

package lab

import (
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"slices"
	"testing"
)

// beaconPort and linkPort are lanchat's defaults (discovery.DefaultPort,
// chat.DefaultPort), which the lab nodes use: each lab is a LAN of its own.
const (
	beaconPort = 44721
	linkPort   = 47101
)

// Scenario 1: five machines on one LAN, fresh identities, trust through the
// CLI, discovery by real broadcast, one room: everyone has every message,
// and every history is the same.
func TestFiveHostsChatInOneRoom(t *testing.T) {
	l := scenario(t)
	nodes := trustedMesh(t, l, l.Bridge(), "alice", "bob", "carol", "dave", "erin")
	var all []string
	for _, n := range nodes {
		b := bodies("hello from "+n.Nick, 2)
		say(t, n, b...)
		all = append(all, b...)
	}
	waitBodies(t, nodes, all)
	stopAll(t, nodes...)
	sameHistory(t, nodes, all)
}

// Scenario 2: two machines lose their cables while everyone keeps talking;
// once they are back, every history is identical.
func TestPartitionHealsToIdenticalHistories(t *testing.T) {
	l := scenario(t)
	nodes := trustedMesh(t, l, l.Bridge(), "alice", "bob", "carol", "dave", "erin")
	majority, cut := nodes[:3], nodes[3:]
	all := bodies("before", 3)
	say(t, nodes[0], all...)
	waitBodies(t, nodes, all)

	for _, n := range cut {
		must(t, n.Host.LinkDown())
	}
	// Talk at once, while the links are dying, and after they are gone.
	early := bodies("cut-early-"+majority[1].Nick, 2)
	say(t, majority[1], early...)
	all = append(all, early...)
	for _, n := range cut {
		waitUnlinked(t, n, others(n, nodes)...)
	}
	for _, n := range majority {
		waitUnlinked(t, n, cut...)
	}
	var sides [2][]string
	for i, group := range [][]*Node{majority, cut} {
		for _, n := range group {
			b := bodies("during-"+n.Nick, 3)
			say(t, n, b...)
			sides[i] = append(sides[i], b...)
		}
	}
	all = append(all, sides[0]...)
	all = append(all, sides[1]...)
	waitBodies(t, majority, sides[0])
	for _, n := range cut {
		if n.HasBodies(sides[0]...) || len(n.Linked()) != 0 {
			t.Fatalf("%s got the majority's messages while its cable was out: the partition did not hold", n.Nick)
		}
	}

	for _, n := range cut {
		must(t, n.Host.LinkUp())
	}
	waitMesh(t, nodes...)
	waitBodies(t, nodes, all)
	stopAll(t, nodes...)
	sameHistory(t, nodes, all)
}

// Scenario 3: a machine is SIGKILLed while the others send; restarted, it
// catches up, and nothing that anyone had shown as sent is lost.
func TestCrashedHostCatchesUp(t *testing.T) {
	l := scenario(t)
	nodes := trustedMesh(t, l, l.Bridge(), "alice", "bob", "carol", "dave")
	victim, senders := nodes[3], nodes[:2]
	mine := bodies("from-victim", 5)
	say(t, victim, mine...)
	all := append([]string(nil), mine...)

	streams := make([][]string, len(senders))
	for i, n := range senders { // queued in their input: sent while the victim dies
		streams[i] = bodies("stream-"+n.Nick, 30)
		for _, body := range streams[i] {
			must(t, n.Send(body))
		}
	}
	must(t, victim.Kill())
	var stream []string
	for i, n := range senders {
		for _, body := range streams[i] {
			must(t, n.WaitFor("own message "+body, syncWait, func() bool { return n.Acked(body) }))
		}
		stream = append(stream, streams[i]...)
	}
	all = append(all, stream...)
	away := bodies("while-down-"+senders[0].Nick, 5)
	say(t, senders[0], away...)
	all = append(all, away...)

	victim.Start(chatArgs()...)
	waitMesh(t, nodes...)
	waitBodies(t, nodes[:3], all)
	// A message the victim stored but had not yet printed when it was killed
	// is not printed again after the restart (it is not new): what counts
	// for it is its store.
	waitStored(t, victim, all)
	stopAll(t, nodes...)
	sameHistory(t, nodes, all)
}

// Scenario 4: an untrusted machine on the same bridge hears the beacons and
// knocks, but gets no link and no message; and nothing that crosses the
// bridge carries a message, a nickname or a room name in the clear.
func TestOutsiderGetsNothingAndWireIsOpaque(t *testing.T) {
	l := scenario(t)
	br := l.Bridge()
	capt, err := l.Capture()
	must(t, err)
	members := trustedMesh(t, l, br, "alice", "bob", "carol")
	mallory := NewNode(t, l.Host("mallory", br), "mallory")
	must(t, mallory.Trust(members...)) // it wants in; nobody trusts it
	mallory.Start(chatArgs()...)

	secret := "canary-" + randomHex(t)
	say(t, members[0], secret)
	say(t, members[1], "second "+secret)
	waitBodies(t, members, []string{secret, "second " + secret})
	for _, m := range members { // it heard the beacons and dialled: a knock, or (if broken) a link
		must(t, m.WaitFor("mallory's knock", linkWait, func() bool {
			return m.Saw(EventUntrusted, mallory.Fingerprint()) || m.Saw(EventPeerUp, mallory.Fingerprint())
		}))
	}
	must(t, mallory.Stop())
	stopAll(t, members...)
	must(t, capt.Stop())

	for _, m := range members {
		if m.Saw(EventPeerUp, mallory.Fingerprint()) {
			t.Errorf("%s linked with the outsider", m.Nick)
		}
	}
	// All the outsider may learn is that the members refuse it
	// (peer_refused): no link, no message, no room traffic. (Its own
	// node's "ready" line is about itself.)
	for _, ev := range mallory.Events() {
		if ev.Type != "peer_refused" && ev.Type != "ready" {
			t.Errorf("the outsider got a %s event: %s", ev.Type, ev.Raw)
			break
		}
	}
	if h, err := mallory.History(room); err != nil || len(h) != 0 {
		t.Errorf("the outsider's history: %d messages, %v; want none", len(h), err)
	}
	checkWire(t, capt, members, mallory, []string{secret, "alice", "carol", room})
}

// checkWire fails if the capture holds any of the plaintexts, or if it did
// not see what it must have seen (so that an empty capture cannot pass).
func checkWire(t *testing.T, c *Capture, members []*Node, outsider *Node, plaintexts []string) {
	t.Helper()
	for _, p := range plaintexts {
		if c.Contains([]byte(p)) {
			t.Errorf("%q crossed the bridge in the clear", p)
		}
	}
	for _, m := range members {
		ifc := m.Host.Ifaces[0]
		if beaconsFrom(c, ifc.Port, ifc.Addr.Addr(), ifc.Bridge.Broadcast()) == 0 {
			t.Errorf("the capture holds no beacon from %s", m.Nick)
		}
	}
	linkBytes, knocks := 0, 0
	for _, f := range c.Frames() {
		p, ok := ParsePacket(f.Data)
		if !ok || p.Proto != protoTCP || p.Dst.Port() != linkPort {
			continue
		}
		linkBytes += len(p.Payload)
		if p.Src.Addr() == outsider.Host.Addr() && len(p.Payload) > 0 {
			knocks++
		}
	}
	if linkBytes == 0 || knocks == 0 {
		t.Errorf("the capture holds %d bytes of link traffic and %d handshake segments from the outsider; want some of both", linkBytes, knocks)
	}
}

func randomHex(t *testing.T) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// Scenario 5: two subnets joined by a router. Broadcast stays on its own
// subnet; "--peer host:port" links across, and the room converges through
// the member that has links on both sides.
func TestRouterBlocksBroadcastPeerFlagLinks(t *testing.T) {
	l := scenario(t)
	left, right := l.Bridge(), l.Bridge()
	router := l.Host("router", left, right)
	must(t, router.EnableForwarding())
	capt, err := l.Capture()
	must(t, err)
	a1, a2 := NewNode(t, l.Host("ann", left), "ann"), NewNode(t, l.Host("amy", left), "amy")
	b1 := NewNode(t, l.Host("ben", right), "ben")
	nodes := []*Node{a1, a2, b1}
	for _, n := range nodes {
		near, far := left, right
		if n == b1 {
			near, far = right, left
		}
		must(t, n.Host.AddRoute(far.Subnet, router.On(near).Addr.Addr()))
	}
	must(t, TrustEachOther(nodes...))
	a1.Start(chatArgs()...)
	a2.Start(chatArgs()...)
	b1.Start(chatArgs("--peer", netip.AddrPortFrom(a1.Host.Addr(), linkPort).String())...)
	waitMesh(t, a1, a2)
	waitMesh(t, a1, b1)

	all := append(bodies("left-amy", 2), bodies("right-ben", 2)...)
	say(t, a2, all[:2]...)
	say(t, b1, all[2:]...)
	waitBodies(t, nodes, all)
	stopAll(t, nodes...)
	must(t, capt.Stop())
	sameHistory(t, nodes, all)

	if a2.Saw(EventPeerUp, b1.Fingerprint()) || b1.Saw(EventPeerUp, a2.Fingerprint()) {
		t.Fatal("amy and ben linked: one heard the other's beacon across the router")
	}
	if n := beaconsFrom(capt, a2.Host.Ifaces[0].Port, a2.Host.Addr(), left.Broadcast()); n == 0 {
		t.Fatal("no beacon from amy on her own subnet: the capture saw nothing")
	}
	ports, err := right.Ports()
	must(t, err)
	leaked := capt.Count(func(f Frame) bool {
		p, ok := ParsePacket(f.Data)
		return ok && slices.Contains(ports, f.Port) && p.Proto == protoUDP && p.Dst.Port() == beaconPort &&
			left.Subnet.Contains(p.Src.Addr())
	})
	if leaked != 0 {
		t.Fatalf("%d beacons from %v entered the other subnet's bridge", leaked, left.Subnet)
	}
}

// Scenario 6: a machine with two interfaces on two LANs announces itself
// on both, and relays the room between them.
func TestTwoInterfacesAnnounceOnBoth(t *testing.T) {
	l := scenario(t)
	left, right := l.Bridge(), l.Bridge()
	capt, err := l.Capture()
	must(t, err)
	hub := NewNode(t, l.Host("hub", left, right), "hub")
	a := NewNode(t, l.Host("ann", left), "ann")
	b := NewNode(t, l.Host("ben", right), "ben")
	nodes := []*Node{hub, a, b}
	must(t, TrustEachOther(nodes...))
	hub.Start("--room", room, "--beacon-interval", beaconIv) // every interface
	a.Start(chatArgs()...)
	b.Start(chatArgs()...)
	waitMesh(t, hub, a)
	waitMesh(t, hub, b)

	all := []string{"from the left", "from the right"}
	say(t, a, all[0])
	say(t, b, all[1])
	waitBodies(t, nodes, all)
	stopAll(t, nodes...)
	must(t, capt.Stop())
	sameHistory(t, nodes, all)

	for _, side := range []*Bridge{left, right} {
		ifc := hub.Host.On(side)
		if beaconsFrom(capt, ifc.Port, ifc.Addr.Addr(), side.Broadcast()) == 0 {
			t.Errorf("no beacon from the hub's %s on %s (%v)", ifc.Name, side.Name, side.Subnet)
		}
	}
	if a.Saw(EventPeerUp, b.Fingerprint()) {
		t.Fatal("ann and ben linked directly across two separate LANs")
	}
}
