//go:build linux

package lab

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
)

// frameChat is the chat frame type (PROTOCOL.md 4.2): the session hands it
// to the chat layer untouched.
const frameChat session.FrameType = 0x10

// Scenario 7 (issue 11): a hostile member and a late joiner. Mallory is a
// raw wire client on a lab host of its own, with its own identity, trusted
// by alice and bob (not by carol). It inflates its clock as fast as the
// rule allows (clock = chat.ClockBound(seq)) between honest messages sent
// with "lanchat send", signs two versions of one sequence number (one to
// alice, the other to bob), and sends one message a step past the bound.
// Carol, trusted by alice and bob, starts only then. Everyone ends with the
// same history in the same order: every honest message, every in-bound
// message of mallory, of the two versions the one with the smaller id,
// nothing past the bound; alice and bob mark mallory as an equivocator;
// and messages sent afterwards reach everyone.
func TestHostileMemberAndLateJoiner(t *testing.T) {
	start := time.Now()
	l := scenario(t)
	br := l.Bridge()
	nodes := newNodes(t, l, br, "alice", "bob", "carol")
	alice, bob, carol := nodes[0], nodes[1], nodes[2]
	online := nodes[:2]
	must(t, TrustEachOther(nodes...))
	mallory := newRawMember(t, l.Host("mallory", br), "mallory")
	for _, n := range online {
		_, err := n.CLI("trust", mallory.Fingerprint(), "--name", mallory.nick)
		must(t, err)
	}
	for _, n := range online {
		n.Start(chatArgs()...)
	}
	waitMesh(t, online...)
	toAlice, toBob := mallory.link(t, alice), mallory.link(t, bob)
	for _, n := range online {
		must(t, n.WaitFor("mallory's link", linkWait, func() bool { return n.Linked()[mallory.Fingerprint()] }))
	}
	t.Logf("set up after %v", since(start))

	const (
		inflated = 5 // mallory's in-bound messages, seq 1..inflated
		twoFaced = 3 // the sequence number it signs twice
	)
	var (
		want     []string                    // every body everyone must end with
		honest   []string                    // of those, alice's, bob's and carol's
		malloryK = map[string]chat.Message{} // mallory's messages everyone keeps, by id
		dropped  []chat.Message              // and those nobody may keep
	)
	for seq := uint64(1); seq <= inflated; seq++ {
		clock := chat.ClockBound(seq)
		if seq == twoFaced {
			a := mallory.message(seq, clock, fmt.Sprintf("mallory-%d-to-alice", seq))
			b := mallory.message(seq, clock, fmt.Sprintf("mallory-%d-to-bob", seq))
			sendRaw(t, toAlice, a)
			sendRaw(t, toBob, b)
			kept, other := a, b
			if b.ID() < a.ID() {
				kept, other = b, a
			}
			t.Logf("mallory's two versions of seq %d: kept %.12s (%s), dropped %.12s (%s)", seq, kept.ID(), kept.Body, other.ID(), other.Body)
			malloryK[kept.ID()] = kept
			dropped = append(dropped, other)
			want = append(want, kept.Body)
			// Whichever each saw first, both end up showing the kept one.
			waitShown(t, online, kept.Body)
		} else {
			m := mallory.message(seq, clock, fmt.Sprintf("mallory-inflated-%d", seq))
			sendRaw(t, toAlice, m)
			sendRaw(t, toBob, m)
			malloryK[m.ID()] = m
			want = append(want, m.Body)
			waitShown(t, online, m.Body)
		}
		from := online[seq%2]
		body := fmt.Sprintf("honest-%s-%d", from.Nick, seq)
		sendCLI(t, from, body)
		honest, want = append(honest, body), append(want, body)
		waitShown(t, online, body)
	}
	// One step past the bound: dropped by everyone alike.
	tooFar := mallory.message(inflated+1, chat.ClockBound(inflated+1)+1, "mallory-too-far")
	dropped = append(dropped, tooFar)
	sendRaw(t, toAlice, tooFar)
	sendRaw(t, toBob, tooFar)
	for _, n := range online {
		log := fmt.Sprintf("dropping message %d from %s", tooFar.Seq, mallory.id.Public())
		must(t, n.WaitFor("the message past the bound to be dropped", syncWait, func() bool { return strings.Contains(n.Stderr(), log) }))
	}
	check := historyCheck{t: t, mallory: mallory, want: want, kept: malloryK, dropped: dropped, marked: online}
	check.converge(online)
	t.Logf("alice and bob agree after %v", since(start))

	carol.Start(chatArgs()...)
	waitMesh(t, nodes...)
	check.converge(nodes)
	t.Logf("carol caught up after %v", since(start))

	for _, n := range []*Node{carol, alice} {
		body := "after-" + n.Nick
		sendCLI(t, n, body)
		honest, check.want = append(honest, body), append(check.want, body)
	}
	waitBodies(t, nodes, check.want)
	check.converge(nodes)
	stopAll(t, nodes...)
	t.Logf("the common history:\n%s", render(check.verify(nodes))) // as stored, with no node running
	for _, n := range online {
		if !n.Saw("equivocation", mallory.Fingerprint()) {
			t.Errorf("%s printed no equivocation event about mallory", n.Nick)
		}
	}
	t.Logf("%d honest messages, %d of mallory's kept, %d dropped; %v in all", len(honest), len(malloryK), len(dropped), since(start))
}

// waitShown waits until every node has shown the message.
func waitShown(t *testing.T, nodes []*Node, body string) {
	t.Helper()
	for _, n := range nodes {
		must(t, n.WaitFor("message "+body, syncWait, func() bool { return n.HasBodies(body) }))
	}
}

// sendCLI sends body with "lanchat send" through n's running chat and waits
// until the chat shows it as its own (stored).
func sendCLI(t *testing.T, n *Node, body string) {
	t.Helper()
	if !n.Running() {
		t.Fatalf("%s: lanchat send with no chat running would start a node of its own", n.Nick)
	}
	_, err := n.CLI("send", "--room", room, body)
	must(t, err)
	must(t, n.WaitFor("its own message "+body, syncWait, func() bool { return n.Acked(body) }))
}

func sendRaw(t *testing.T, link *session.Link, msgs ...chat.Message) {
	t.Helper()
	for _, m := range msgs {
		if err := link.Send(frameChat, m.Encode()); err != nil {
			t.Fatal(err)
		}
	}
}

// historyCheck is what every history must hold at the end of the hostile
// scenario.
type historyCheck struct {
	t       *testing.T
	mallory *rawMember
	want    []string                // every body, each once
	kept    map[string]chat.Message // mallory's messages to keep, by id
	dropped []chat.Message          // mallory's messages nobody may keep
	marked  []*Node                 // nodes that must mark mallory as an equivocator
}

// read returns each node's history ("lanchat history --json").
func (c *historyCheck) read(nodes []*Node) map[*Node][]Message {
	c.t.Helper()
	out := map[*Node][]Message{}
	for _, n := range nodes {
		h, err := n.History(room)
		must(c.t, err)
		out[n] = h
	}
	return out
}

// problem says what is wrong with the histories, or "" if nothing.
func (c *historyCheck) problem(nodes []*Node, hs map[*Node][]Message) string {
	first := hs[nodes[0]]
	for _, n := range nodes[1:] {
		if !slices.Equal(ids(hs[n]), ids(first)) {
			return fmt.Sprintf("history of %s differs from %s's:\n%s---\n%s", n.Nick, nodes[0].Nick, render(hs[n]), render(first))
		}
	}
	got := make([]string, len(first))
	for i, m := range first {
		got[i] = m.Body
	}
	slices.Sort(got)
	w := slices.Sorted(slices.Values(c.want))
	if !slices.Equal(got, w) {
		return fmt.Sprintf("%s's history has %d messages, want %d:\n got %q\nwant %q", nodes[0].Nick, len(got), len(w), got, w)
	}
	for i, m := range first {
		if m.Clock > chat.ClockBound(m.Seq) {
			return fmt.Sprintf("message %q has clock %d, above %d, the bound of seq %d", m.Body, m.Clock, chat.ClockBound(m.Seq), m.Seq)
		}
		if i > 0 && m.Clock < first[i-1].Clock {
			return fmt.Sprintf("history not in clock order at %q:\n%s", m.Body, render(first))
		}
		if m.Author != c.mallory.Fingerprint() {
			continue
		}
		k, ok := c.kept[m.ID]
		if !ok || k.Body != m.Body || k.Seq != m.Seq || k.Clock != m.Clock {
			return fmt.Sprintf("mallory's message %q (seq %d, clock %d, id %.12s) is not one everyone must keep", m.Body, m.Seq, m.Clock, m.ID)
		}
	}
	for _, d := range c.dropped {
		if slices.Contains(ids(first), d.ID()) {
			return fmt.Sprintf("mallory's %q (seq %d, clock %d) was kept", d.Body, d.Seq, d.Clock)
		}
	}
	for _, n := range c.marked {
		h, ok := hs[n]
		if !ok {
			continue
		}
		for _, m := range h {
			if m.Equivocator != (m.Author == c.mallory.Fingerprint()) {
				return fmt.Sprintf("%s's history marks %q (by %.7s) with equivocator %v", n.Nick, m.Body, m.Author, m.Equivocator)
			}
		}
	}
	return ""
}

// converge waits until the nodes' histories pass the check.
func (c *historyCheck) converge(nodes []*Node) {
	c.t.Helper()
	var last string
	err := Poll(context.Background(), syncWait, func() bool {
		last = c.problem(nodes, c.read(nodes))
		return last == ""
	})
	if err != nil {
		c.t.Fatalf("histories did not converge: %v\n%s", err, last)
	}
}

// verify fails unless the nodes' histories pass the check now, and
// returns the common history.
func (c *historyCheck) verify(nodes []*Node) []Message {
	c.t.Helper()
	hs := c.read(nodes)
	if p := c.problem(nodes, hs); p != "" {
		c.t.Fatal(p)
	}
	return hs[nodes[0]]
}

// A rawMember is a member that speaks the wire protocol by hand, from a lab
// host of its own: its own identity, a hand-built hello, and whatever
// frames the test makes it send. It dials only lab addresses, from inside
// its host's namespace.
type rawMember struct {
	host *Host
	nick string
	id   *lcrypto.Identity
}

func newRawMember(t *testing.T, h *Host, nick string) *rawMember {
	t.Helper()
	id, err := lcrypto.NewIdentity(rand.Reader)
	must(t, err)
	return &rawMember{host: h, nick: nick, id: id}
}

// Fingerprint is the member's fingerprint as lanchat trust takes it.
func (r *rawMember) Fingerprint() string { return r.id.Fingerprint().String() }

// message signs a message of the member in the lab's room.
func (r *rawMember) message(seq, clock uint64, body string) chat.Message {
	m := chat.Message{Room: room, Seq: seq, Clock: clock, Time: time.Now().Truncate(time.Millisecond), Body: body}
	m.Sign(r.id)
	return m
}

// link dials n's link port from the member's host and runs the handshake,
// trusting only n. Frames from n are read and discarded; the link is closed
// when the test ends.
func (r *rawMember) link(t *testing.T, n *Node) *session.Link {
	t.Helper()
	want, err := lcrypto.ParseFingerprint(n.Fingerprint())
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), linkWait)
	defer cancel()
	conn, err := r.host.Dial(ctx, "tcp4", netip.AddrPortFrom(n.Host.Addr(), linkPort).String())
	must(t, err)
	cfg := session.DefaultConfig()
	cfg.Identity = r.id
	cfg.Trusted = func(k lcrypto.IdentityKey) bool { return k.Fingerprint() == want }
	cfg.Hello = helloFrame(r.nick, room)
	link, err := session.Dial(ctx, conn, cfg)
	if err != nil {
		conn.Close()
		t.Fatalf("%s: link to %s: %v", r.nick, n.Nick, err)
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			if _, err := link.Recv(context.Background()); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		link.Close("test over")
		<-drained
	})
	return link
}

// helloFrame is the body of a hello frame (PROTOCOL.md; chat/wire.go):
//
//	version u8 (1) | nick length u8 | nick | room count u8 | (length u8 | room)*
func helloFrame(nick string, rooms ...string) []byte {
	b := []byte{1, byte(len(nick))}
	b = append(b, nick...)
	b = append(b, byte(len(rooms)))
	for _, r := range rooms {
		b = append(b, byte(len(r)))
		b = append(b, r...)
	}
	return b
}
