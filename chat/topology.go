package chat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Relay topology (PROTOCOL.md 5.14). In a room of at most
// RelayConfig.FloodUpTo other members a node relays a new message to every
// other link in the room (flooding: on a full mesh of n nodes each message
// crosses about n² links, and each receiver drops n−2 copies). Above that
// size it relays along a tree: the room's members as this node knows them
// (its links in the room, the members it has been linked with, itself and
// the author) are ordered by SHA-256("lanchat/v1/relay:" ‖ message id ‖
// key), the author first; the member at position p forwards to the members
// at positions p·k+1 … p·k+k (k = RelayConfig.Fanout). On a full mesh whose
// members agree on the membership each message crosses n−1 links and every
// node sends at most k copies. A child this node has no link to is skipped
// over: its own children are sent to instead (recursively, up to
// maxRelayTargets), so a down link costs only the unlinked node its copy.
// What the tree misses (members that disagree on the membership, a relayer
// that died mid-way) is repaired by sync: every RelayConfig.RepairInterval
// a node in a bounded room sends a sync request (5.5) to one of its links
// in the room, in turn. Peers that never said they repair (no relay-caps
// frame: older nodes) are always sent every message, as before.

// RelayConfig chooses how a node relays room messages.
type RelayConfig struct {
	// FloodUpTo: rooms with at most this many other members (as this node
	// knows them) are flooded; larger ones use the bounded tree relay. A
	// negative value floods every room (the relay of lanchat before 5.14).
	FloodUpTo int
	// Fanout is k, the tree's branching: the links a node forwards each
	// message to in a bounded room (more when a child is not linked).
	Fanout int
	// RepairInterval is how often a node in a bounded room asks one of its
	// links there for what it misses.
	RepairInterval time.Duration
}

// DefaultRelayConfig returns the relay's defaults.
func DefaultRelayConfig() RelayConfig {
	return RelayConfig{
		FloodUpTo:      16,              // a 17-node mesh floods 272 copies per message; the tree 16 (BENCHMARKS.md, scale)
		Fanout:         4,               // depth ⌈log₄ n⌉: 4 hops to 256 members, 5 to 1,000
		RepairInterval: 2 * time.Second, // one sync request per bounded room per 2 s: a missed copy waits ≤ ~2 s
	}
}

// SetRelay changes how the node relays from the next message on (its
// FloodUpTo and Fanout; RepairInterval is read once, by Run).
func (n *Node) SetRelay(r RelayConfig) {
	n.relayCfg.Store(&r)
}

// relayStats fills in the relay's counters of s (Stats).
func (n *Node) relayStats(s *Stats) {
	s.ChatFramesSent, s.ChatBytesSent = n.stats.chatFrames.Load(), n.stats.chatBytes.Load()
	s.RepairSyncs = n.stats.repairSyncs.Load()
	n.links.Lock()
	defer n.links.Unlock()
	s.LinkFramesSent = n.stats.endedLinkFrames.Load()
	for _, l := range n.links.byKey {
		s.LinkFramesSent += l.sess.Stats().FramesSent
	}
}

// relayDomain separates the relay order's hash from every other use.
const relayDomain = "lanchat/v1/relay:"

// maxRelayTargets bounds the links one message goes to in a bounded room
// (beyond the tree's k when children are not linked), old peers aside.
const maxRelayTargets = 32

// relayCapsVersion is the version byte of the relay-caps frame (5.14).
const relayCapsVersion = 1

// encodeRelayCaps is the relay-caps frame body: version u8.
func encodeRelayCaps() []byte { return []byte{relayCapsVersion} }

// decodeRelayCaps checks a relay-caps body: at least the version byte,
// not 0; what follows is for later versions and ignored.
func decodeRelayCaps(b []byte) (int, error) {
	if len(b) < 1 || b[0] == 0 {
		return 0, fmt.Errorf("%w: relay-caps frame of %d bytes, version %v", ErrFrame, len(b), b)
	}
	return int(b[0]), nil
}

// sendRelayCaps tells a new link's peer that this node repairs gaps by
// itself, so a bounded relay may leave it to its tree.
func (n *Node) sendRelayCaps(l *link) {
	if n.cfg.noRelayCaps {
		return
	}
	if err := l.sess.Send(frameRelayCaps, encodeRelayCaps()); err != nil {
		n.logf("relay-caps to %s: %v", l.key, err)
	}
}

func (l *link) handleRelayCaps(body []byte) error {
	if _, err := decodeRelayCaps(body); err != nil {
		return err
	}
	l.repairs.Store(true)
	return nil
}

// relayTargets returns the links of room that a new message (raw, by
// author, received over from: nil for this node's own) goes to.
func (n *Node) relayTargets(from *link, room string, author lcrypto.IdentityKey, raw []byte) []*link {
	links := n.linksInRoom(room)
	out := links[:0:0]
	var view []lcrypto.IdentityKey
	if n.relayCfg.Load().FloodUpTo >= 0 { // else flooding: no view needed
		view = n.relayView(room, links)
	}
	if !n.bounded(len(view) - 1) {
		for _, l := range links {
			if l != from && l.key != author {
				out = append(out, l)
			}
		}
		return out
	}
	byKey := make(map[lcrypto.IdentityKey]*link, len(links))
	for _, l := range links {
		byKey[l.key] = l
	}
	id := sha256.Sum256(raw)
	order := relayOrder(id, author, view)
	pick := map[*link]bool{}
	for _, k := range treeTargets(order, n.id.Public(), n.relayCfg.Load().Fanout, func(k lcrypto.IdentityKey) bool { return byKey[k] != nil }) {
		pick[byKey[k]] = true
	}
	for _, l := range links {
		if l != from && l.key != author && (pick[l] || !l.repairs.Load()) {
			out = append(out, l)
		}
	}
	return out
}

// bounded reports whether a room of others other members is relayed along
// the tree.
func (n *Node) bounded(others int) bool {
	r := n.relayCfg.Load()
	return r.FloodUpTo >= 0 && others > r.FloodUpTo && r.Fanout > 0
}

// relayView is room's membership as this node knows it: itself, its links
// in the room and the members it has been linked with there (not left).
func (n *Node) relayView(room string, links []*link) []lcrypto.IdentityKey {
	seen := map[lcrypto.IdentityKey]bool{n.id.Public(): true}
	for _, l := range links {
		seen[l.key] = true
	}
	if rr, err := n.receiptsOf(room); err == nil {
		rr.mu.Lock()
		for k, m := range rr.members {
			if !m.Left {
				seen[k] = true
			}
		}
		rr.mu.Unlock()
	}
	out := make([]lcrypto.IdentityKey, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	return out
}

// relayOrder orders the members of view (and the author, first) for the
// message with id: by SHA-256(relayDomain ‖ id ‖ key), then by key.
func relayOrder(id [sha256.Size]byte, author lcrypto.IdentityKey, view []lcrypto.IdentityKey) []lcrypto.IdentityKey {
	type ranked struct {
		key  lcrypto.IdentityKey
		rank [sha256.Size]byte
	}
	rs := make([]ranked, 0, len(view))
	buf := make([]byte, 0, len(relayDomain)+sha256.Size+lcrypto.KeySize)
	for _, k := range view {
		if k == author {
			continue
		}
		buf = append(append(append(buf[:0], relayDomain...), id[:]...), k[:]...)
		rs = append(rs, ranked{k, sha256.Sum256(buf)})
	}
	slices.SortFunc(rs, func(a, b ranked) int {
		if c := bytes.Compare(a.rank[:], b.rank[:]); c != 0 {
			return c
		}
		return bytes.Compare(a.key[:], b.key[:])
	})
	out := make([]lcrypto.IdentityKey, 0, len(rs)+1)
	out = append(out, author)
	for _, r := range rs {
		out = append(out, r.key)
	}
	return out
}

// treeTargets returns the members self forwards to in order's k-ary tree:
// its children that linked accepts, and in place of each child it does
// not, that child's targets (breadth first, at most maxRelayTargets).
func treeTargets(order []lcrypto.IdentityKey, self lcrypto.IdentityKey, k int, linked func(lcrypto.IdentityKey) bool) []lcrypto.IdentityKey {
	pos := slices.Index(order, self)
	if pos < 0 || k <= 0 {
		return nil
	}
	var out []lcrypto.IdentityKey
	queue := []int{pos}
	for len(queue) > 0 && len(out) < maxRelayTargets {
		p := queue[0]
		queue = queue[1:]
		for c := p*k + 1; c <= p*k+k && c < len(order); c++ {
			if linked(order[c]) {
				out = append(out, order[c])
			} else {
				queue = append(queue, c)
			}
		}
	}
	return out
}

// repairLoop asks, every RepairInterval, one link of each bounded room for
// what this node misses there (a sync request, 5.5), round robin.
func (n *Node) repairLoop(ctx context.Context) {
	defer n.wg.Done()
	if n.cfg.Relay.RepairInterval <= 0 {
		return
	}
	t := time.NewTicker(n.cfg.Relay.RepairInterval)
	defer t.Stop()
	turn := map[string]int{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.repairTick(turn)
	}
}

// repairTick sends one round of repair syncs: for each bounded room, to
// the next of its links. Cheap per room when nothing is bounded (a node
// in 1,000 rooms runs it every RepairInterval): the links are listed
// once, and a room's view is counted, not built.
func (n *Node) repairTick(turn map[string]int) {
	all := n.allLinks()
	if len(all) == 0 {
		return
	}
	var links []*link
	for _, room := range n.Rooms() {
		if isConvo(room) {
			continue
		}
		links = links[:0]
		for _, l := range all {
			if l.inRoom(room) {
				links = append(links, l)
			}
		}
		if len(links) == 0 || !n.bounded(n.relayViewSize(room, links)-1) {
			continue
		}
		slices.SortFunc(links, func(a, b *link) int { return bytes.Compare(a.key[:], b.key[:]) })
		i := turn[room] % len(links)
		turn[room] = i + 1
		links[i].requestSync(room)
		n.stats.repairSyncs.Add(1)
	}
}

// relayViewSize is len(n.relayView(room, links)), counted without
// building the view.
func (n *Node) relayViewSize(room string, links []*link) int {
	self := n.id.Public()
	size := 1 // this node
	rr, err := n.receiptsOf(room)
	if err != nil {
		rr = &roomReceipts{}
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	for k, m := range rr.members {
		if !m.Left && k != self {
			size++
		}
	}
	for _, l := range links {
		if m := rr.members[l.key]; (m == nil || m.Left) && l.key != self {
			size++
		}
	}
	return size
}
