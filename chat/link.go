package chat

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanchat/lanchat/chat/files"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
)

// link is one live link with a trusted peer and what the peer told us over
// it. Per-link work (serving its frames, its syncs) is a method on it; its
// lock guards only its own state.
type link struct {
	node      *Node
	sess      *session.Link
	key       lcrypto.IdentityKey
	nick      string // from its hello; later nick frames change it (guarded by mu)
	weDialled bool
	static    string // the --peer address we dialled, if any
	up        time.Time

	mu       sync.Mutex
	rooms    map[string]bool // the rooms the peer announced (guarded by mu)
	storeErr error           // why storing its messages failed, if it did (guarded by mu)
	// syncs holds, per room, whether a sync for the peer runs and the
	// request to serve after it (guarded by mu): at most one sync per room
	// and link, however many requests a peer sends.
	syncs map[string]*syncState
	// syncRunning counts the sync goroutines of this link (at most
	// maxLinkSyncs); syncWait lists the rooms whose request waits for one,
	// in arrival order (guarded by mu; sync.go).
	syncRunning int
	syncWait    []string
	// presence is what the peer said of its presence (presence.go);
	// nil until it does (guarded by mu).
	presence *presence
	// told is the set of our rooms the peer knows of while it may be an
	// older node (it has sent no rooms-more frame): never more than
	// helloRooms. nil once it has sent one (guarded by mu; roomsmore.go).
	told map[string]bool

	// repairs: the peer sent relay-caps (5.14), so a bounded relay may
	// leave it to its tree; older peers get every message.
	repairs atomic.Bool

	clock linkSkew // the peer's clock skew, from its latest live message
	// fileReqs queues the peer's file requests for serveFiles (nil until
	// the first one: startFileServer).
	fileReqs chan files.Ref
	// startFileServer sets fileReqs and starts serveFiles (set by serve;
	// called by its goroutine on the first file request).
	startFileServer func()
	// haveAnswered: the files whose have map this node sent the peer in
	// answer to one of its own (guarded by mu; filehave.go).
	haveAnswered map[[files.HashSize]byte]bool
}

// nickname is what the peer calls itself: its hello's or its latest nick
// frame's nickname.
func (l *link) nickname() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nick
}

// handleNick takes a peer's new nickname (a nick frame).
func (l *link) handleNick(body []byte) error {
	nick, err := decodeNick(body)
	if err != nil {
		return err
	}
	l.mu.Lock()
	changed := l.nick != nick
	l.nick = nick
	l.mu.Unlock()
	if changed {
		l.node.setNick(l.key, nick)
		l.node.events.publish(Event{Kind: EventNick, Peer: l.node.peerViewOf(l)})
	}
	return nil
}

type syncState struct {
	next *syncRequest // the newest request that came while one ran
}

// linkTable is the node's live links, one per peer, with its own lock.
type linkTable struct {
	sync.Mutex
	byKey map[lcrypto.IdentityKey]*link
}

// initiator is the key of the side that dialled this link.
func (l *link) initiator(self lcrypto.IdentityKey) lcrypto.IdentityKey {
	if l.weDialled {
		return self
	}
	return l.key
}

// inRoom reports whether the peer announced room r.
func (l *link) inRoom(r string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rooms[r]
}

// roomList returns the rooms the peer announced, sorted.
func (l *link) roomList() []string {
	l.mu.Lock()
	var out []string
	for r := range l.rooms {
		out = append(out, r)
	}
	l.mu.Unlock()
	slices.Sort(out)
	return out
}

// setRoom records a join (or leave) of room r; changed is false if the
// peer was already (or not) in it. A join beyond the node's peerRoomLimit
// is errRoomLimit.
func (l *link) setRoom(r string, join bool) (changed bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if join && !l.rooms[r] && len(l.rooms) >= l.node.peerRoomLimit() {
		return false, errRoomLimit
	}
	changed = l.rooms[r] != join
	if join {
		l.rooms[r] = true
	} else {
		delete(l.rooms, r)
	}
	return changed, nil
}

// failStore notes that storing this link's messages failed.
func (l *link) failStore(err error) {
	l.mu.Lock()
	l.storeErr = err
	l.mu.Unlock()
}

func (l *link) storeError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.storeErr
}

// sessionConfig returns a link's configuration and the rooms the node is
// in as its hello is made; the hello names the first helloRooms of them
// (a join or leave during the handshake is sent after it, the rest once
// the peer sends rooms-more).
func (n *Node) sessionConfig() (session.Config, []string) {
	cfg := n.cfg.Session
	cfg.Identity = n.id
	cfg.Trusted = n.isTrusted
	if cfg.MaxFrameSize == 0 {
		cfg.MaxFrameSize = maxFrameSize
	}
	rooms := n.Rooms()
	h := hello{Nick: n.Nickname(), Rooms: rooms[:min(len(rooms), helloRooms)]}
	cfg.Hello = h.encode()
	return cfg, rooms
}

// addLink registers a new link, resolving duplicates so that both sides keep
// the same one (see keepNew). announced are the rooms we were in as our
// hello was made (sessionConfig); it named the first helloRooms of them.
func (n *Node) addLink(sess *session.Link, weDialled bool, static string, announced []string) {
	h, err := decodeHello(sess.PeerHello())
	if err != nil {
		n.logf("link with %s: %v", sess.Peer(), err)
		sess.CloseWith(session.CloseProtocolError, "malformed hello: "+err.Error())
		return
	}
	l := &link{node: n, sess: sess, key: sess.Peer(), nick: h.Nick, weDialled: weDialled, static: static,
		rooms: map[string]bool{}, told: map[string]bool{}, up: time.Now()}
	for _, r := range h.Rooms {
		l.rooms[r] = true
	}
	for _, r := range announced[:min(len(announced), helloRooms)] {
		l.told[r] = true
	}
	n.links.Lock()
	if n.runCtx.Err() != nil {
		n.links.Unlock()
		sess.Close("shutting down")
		return
	}
	old := n.links.byKey[l.key]
	if old != nil && !n.keepNew(old, l) {
		n.links.Unlock()
		sess.Close("duplicate link")
		return
	}
	n.links.byKey[l.key] = l
	n.links.Unlock()
	n.setNick(l.key, l.nick)
	n.staticLinked(static, l.key)
	for _, r := range n.Rooms() { // its hello names the rooms it is in now
		n.memberSeen(r, l.key, l.inRoom(r))
	}
	// After the link is in the table: a room joined from now on is sent
	// to it by Join, one joined before is in this diff.
	joined, left := n.roomDiff(announced)
	if old != nil {
		old.closeAsync("duplicate link")
	}
	// Untrusted while the handshake ran? Then the untrust missed this link.
	if !n.isTrusted(l.key) {
		l.closeAsync("no longer trusted")
	}
	n.linkedPeer(l)
	n.linkedClearsRefused(l.key)
	for _, r := range joined {
		l.announceRoom(r, true)
	}
	for _, r := range left {
		l.announceRoom(r, false)
	}
	n.events.publish(Event{Kind: EventPeerUp, Peer: n.peerViewOf(l)})
	n.wg.Add(1)
	go l.serve()
}

// sameTimeLinks is how close in time two links to one peer, dialled by the
// same side, must come up to be a race of two dials (not a restart).
const sameTimeLinks = 2 * time.Second

// keepNew decides between two links to one peer, the same way on both
// sides: the link dialled by the smaller key wins; of two dialled by the
// same side, the one with the smaller channel binding if they came up
// together (two dials racing), else the newer (the old one is a dead
// leftover of a restart).
func (n *Node) keepNew(old, l *link) bool {
	self := n.id.Public()
	oi, ni := old.initiator(self), l.initiator(self)
	if oi != ni {
		return bytes.Compare(ni[:], oi[:]) < 0
	}
	if l.up.Sub(old.up) < sameTimeLinks {
		return bytes.Compare(l.sess.ChannelBinding(), old.sess.ChannelBinding()) < 0
	}
	return true
}

// removeLink forgets l if it is still the registered link for its key.
func (n *Node) removeLink(l *link) {
	reason := "link closed"
	if err := l.sess.Err(); err != nil {
		reason = err.Error()
	}
	storeErr := l.storeError()
	if storeErr != nil {
		reason = "local storage error: " + storeErr.Error()
	}
	n.links.Lock()
	current := n.links.byKey[l.key] == l
	n.stats.endedLinkFrames.Add(l.sess.Stats().FramesSent) // Stats.LinkFramesSent goes on counting them
	var notice string
	if current {
		delete(n.links.byKey, l.key)
		// Under the table's lock, so a dialer never sees the peer neither
		// linked nor waiting.
		notice = n.linkEnded(l, storeErr, reason, time.Now())
	}
	n.links.Unlock()
	if !current {
		// A newer link replaced this one: what was sent on this one as
		// it closed may be lost, so the shared rooms and the
		// conversations sync again on the new one.
		if cur := n.linkTo(l.key); cur != nil {
			for _, r := range cur.sharedRooms() {
				cur.requestSync(r)
			}
			cur.resyncConvos()
		}
	}
	if current {
		pv := n.peerViewOf(l)
		n.events.publish(Event{Kind: EventPeerDown, Peer: pv, Reason: reason})
		if notice != "" {
			n.events.publish(Event{Kind: EventRelinkBackoff, Peer: pv, Reason: notice})
		}
	}
}

// closeAsync closes the link without waiting for it to flush.
func (l *link) closeAsync(reason string) {
	n := l.node
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		l.sess.Close(reason)
	}()
}

// closeAllLinks closes every link at once, each flushing what it has queued.
func (n *Node) closeAllLinks(reason string) {
	for _, l := range n.allLinks() {
		l.closeAsync(reason)
	}
}

// allLinks returns the live links.
func (n *Node) allLinks() []*link {
	n.links.Lock()
	defer n.links.Unlock()
	out := make([]*link, 0, len(n.links.byKey))
	for _, l := range n.links.byKey {
		out = append(out, l)
	}
	return out
}

// linkTo returns the live link with key, if any.
func (n *Node) linkTo(key lcrypto.IdentityKey) *link {
	n.links.Lock()
	defer n.links.Unlock()
	return n.links.byKey[key]
}

// linksInRoom returns the live links whose peer is in room.
func (n *Node) linksInRoom(room string) []*link {
	var out []*link
	for _, l := range n.allLinks() {
		if l.inRoom(room) {
			out = append(out, l)
		}
	}
	return out
}

func (n *Node) peerViewOf(l *link) *PeerView {
	pv := peerView(l.key)
	pv.Nick, _ = n.authorName(l.key) // the name you gave them, else theirs
	pv.Addr = l.sess.RemoteAddr().String()
	pv.Trusted = true
	pv.Linked = true
	pv.Rooms = l.roomList()
	if p := l.peerPresence(); p != nil {
		pv.Presence, pv.Status = p.State.String(), p.Status
	}
	return pv
}
