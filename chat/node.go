package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/discovery"
	"github.com/lanchat/lanchat/storage"
)

// Node is one running lanchat participant: it announces itself, links to the
// trusted peers it finds, and keeps its rooms' histories converged with
// theirs. Create it with New, start it with Run.
type Node struct {
	cfg   Config
	id    *lcrypto.Identity
	store *storage.DB
	// commit is the group-commit writer, started by Run (or by a Send
	// before it) through committer, so a node that never runs holds no
	// goroutine; Run closes it when it returns.
	commit     *storage.Committer
	commitOnce sync.Once
	events     hub
	stats      nodeStats
	inflight   inFlight
	recent     *recentSet // messages stored or in flight, by encoding (recent.go)
	logf       func(string, ...any)

	dialLimit *discovery.DialLimiter
	// disc is the beacon service: nil with NoDiscovery, and until Run has
	// created it. Peers reads it from any goroutine, at any time.
	disc      atomic.Pointer[discovery.Service]
	listening chan struct{} // closed once addr is set
	addr      net.Addr

	runCtx context.Context // set by Run before any goroutine starts
	wg     sync.WaitGroup  // every goroutine Run starts
	ran    atomic.Bool
	nick   atomic.Pointer[string] // what peers are told; SetNick changes it

	// Each table has its own lock (lock order: dials, links, relinks; a
	// link's own lock after links).
	links   linkTable
	rooms   roomTable
	nicks   nickTable
	dials   dialTable
	reports reportTable
	relinks relinkTable
	rcpt    receiptTable  // members' heads and read positions (receipts.go)
	pres    presenceState // own presence, typing limits (presence.go)
	diag    diagTable
	convos  convoTable // direct conversations and private rooms (convo.go)
	files   fileTable

	// relayCfg is cfg.Relay until SetRelay (topology.go).
	relayCfg atomic.Pointer[RelayConfig]
}

// roomTable is the joined rooms, with its own lock.
type roomTable struct {
	sync.Mutex
	byName map[string]*room
}

// nickTable is the nicknames peers announced in their hellos, for display.
type nickTable struct {
	sync.Mutex
	byKey map[lcrypto.IdentityKey]string
}

// room is a joined room's local state.
type room struct {
	sendMu   sync.Mutex    // serializes this node's own messages in the room
	nextSeq  atomic.Uint64 // this node's next sequence number; only grows
	maxClock atomic.Uint64

	mu           sync.Mutex
	chains       map[lcrypto.IdentityKey]chainState           // sync-check chains, by author
	chainGen     uint64                                       // counts replacements, so a stale chain is not cached
	equivocators map[lcrypto.IdentityKey]storage.Equivocation // authors found signing twice
}

// ErrNotJoined is returned when sending to a room the node has not joined.
var ErrNotJoined = errors.New("not in that room")

// committer returns the group-commit writer, starting it on first use.
func (n *Node) committer() *storage.Committer {
	n.commitOnce.Do(func() { n.commit = storage.NewCommitter(n.store, 0) })
	return n.commit
}

// New prepares a node; nothing touches the network until Run.
func New(cfg Config) (*Node, error) {
	if cfg.Identity == nil || cfg.Store == nil {
		return nil, errors.New("chat: config needs an identity and a store")
	}
	if err := CheckNick(cfg.Nickname); err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	n := &Node{
		cfg:       cfg,
		id:        cfg.Identity,
		store:     cfg.Store,
		logf:      cfg.Logf,
		dialLimit: discovery.NewDialLimiter(),
		listening: make(chan struct{}),
		recent:    newRecentSet(),
	}
	n.links.byKey = map[lcrypto.IdentityKey]*link{}
	n.rooms.byName = map[string]*room{}
	n.nicks.byKey = map[lcrypto.IdentityKey]string{}
	n.dials.inFlight = map[string]bool{}
	n.dials.statics = map[string]*staticPeer{}
	n.dials.rememberedFP = map[string]lcrypto.Fingerprint{}
	n.dials.remembered = map[string]*rememberedPeer{}
	n.reports.last = map[reportKey]time.Time{}
	n.relinks.byKey = map[lcrypto.IdentityKey]*relinkState{}
	n.rcpt.kick = make(chan struct{}, 1)
	n.diag.refused = map[lcrypto.IdentityKey]PeerIssue{}
	n.convos.byID = map[string]*convo{}
	n.SetRelay(cfg.Relay)
	if n.logf == nil {
		n.logf = func(string, ...any) {}
	}
	n.events.buf = max(cfg.EventBuffer, 1)
	n.nick.Store(&cfg.Nickname)
	rooms := cfg.Rooms
	if len(rooms) == 0 { // the rooms as the last join or leave left them
		var err error
		if rooms, err = cfg.Store.JoinedRooms(); err != nil {
			return nil, err
		}
	}
	if len(rooms) == 0 {
		rooms = []string{DefaultRoom}
	}
	for _, r := range rooms {
		if isConvo(strings.ToLower(r)) {
			return nil, fmt.Errorf("chat: %w (%q)", ErrReservedRoom, r)
		}
		if _, err := n.loadRoom(r); err != nil {
			return nil, err
		}
	}
	if err := n.loadPrivateRooms(); err != nil {
		return nil, err
	}
	return n, nil
}

// loadRoom joins r locally (no frames sent) and returns its normal name.
func (n *Node) loadRoom(r string) (string, error) {
	name, err := NormalizeRoom(r)
	if err != nil {
		return "", err
	}
	st, err := n.store.RoomState(name)
	if err != nil {
		return "", err
	}
	n.rooms.Lock()
	defer n.rooms.Unlock()
	if _, ok := n.rooms.byName[name]; ok {
		return name, nil
	}
	if len(n.rooms.byName) >= MaxRooms {
		return "", fmt.Errorf("at most %d rooms", MaxRooms)
	}
	last, err := n.store.LastSeq(name, n.id.Public())
	if err != nil {
		return "", err
	}
	equiv, err := n.store.Equivocators(name)
	if err != nil {
		return "", err
	}
	rs := &room{}
	for a, e := range equiv {
		rs.markEquivocator(lcrypto.IdentityKey(a), e)
	}
	rs.nextSeq.Store(last + 1)
	rs.maxClock.Store(st.MaxClock)
	n.rooms.byName[name] = rs
	return name, nil
}

// Identity returns the node's identity key.
func (n *Node) Identity() lcrypto.IdentityKey { return n.id.Public() }

// Addr returns the link listener's address once Run has started listening.
func (n *Node) Addr(ctx context.Context) (net.Addr, error) {
	select {
	case <-n.listening:
		return n.addr, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Subscribe returns a stream of events and a function that ends it. The
// stream is closed when the node stops.
func (n *Node) Subscribe() (<-chan Event, func()) { return n.events.subscribe() }

// Run listens, announces, links and serves until ctx ends, then says bye,
// closes every link with a reason and flushes the store. It returns nil on a
// clean stop.
func (n *Node) Run(ctx context.Context) error {
	if !n.ran.CompareAndSwap(false, true) {
		return errors.New("chat: node already ran")
	}
	defer n.events.closeAll()
	defer n.committer().Close()
	ln, err := net.Listen("tcp", n.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listening for links on %s: %w (is another lanchat using the port? try --port)", n.cfg.ListenAddr, err)
	}
	n.addr = ln.Addr()
	n.diag.Lock()
	n.diag.started = time.Now()
	n.diag.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n.runCtx = ctx
	if !n.cfg.NoDiscovery {
		if err := n.newDiscovery(); err != nil {
			ln.Close()
			close(n.listening)
			return err
		}
		n.wg.Add(2)
		go n.runDiscovery(ctx)
		go n.discoveryEvents(ctx)
	}
	close(n.listening)
	n.loadRemembered()
	n.startFiles(ctx)
	n.wg.Add(4)
	go n.repairLoop(ctx)
	go n.receiptLoop(ctx)
	go n.acceptLoop(ctx, ln)
	go n.dialLoop(ctx)
	<-ctx.Done()
	ln.Close()
	n.closeAllLinks("shutting down")
	n.wg.Wait()
	n.closeFiles()
	return nil
}

// newDiscovery creates the beacon service (Run starts it).
func (n *Node) newDiscovery() error {
	dcfg := n.cfg.Discovery
	dcfg.Identity = n.id
	dcfg.TCPPort = uint16(n.addr.(*net.TCPAddr).Port)
	if dcfg.Logf == nil {
		dcfg.Logf = n.logf
	}
	disc, err := discovery.New(dcfg)
	if err != nil {
		return fmt.Errorf("starting discovery: %w", err)
	}
	n.disc.Store(disc)
	return nil
}

func (n *Node) runDiscovery(ctx context.Context) {
	defer n.wg.Done()
	if err := n.disc.Load().Run(ctx); err != nil && ctx.Err() == nil {
		n.logf("discovery stopped: %v", err)
	}
}

// isTrusted is the session's trust check: a peer is trusted when its
// fingerprint is in the trust list (never ourselves).
func (n *Node) isTrusted(key lcrypto.IdentityKey) bool {
	if key == n.id.Public() {
		return false
	}
	_, ok, err := n.store.IsTrusted(key.Fingerprint())
	if err != nil {
		n.logf("trust check: %v", err)
		return false
	}
	return ok
}

// Rooms returns the joined rooms, sorted.
func (n *Node) Rooms() []string {
	n.rooms.Lock()
	out := make([]string, 0, len(n.rooms.byName))
	for r := range n.rooms.byName {
		out = append(out, r)
	}
	n.rooms.Unlock()
	slices.Sort(out)
	return out
}

// room returns the joined room name, or nil.
func (n *Node) room(name string) *room {
	n.rooms.Lock()
	defer n.rooms.Unlock()
	return n.rooms.byName[name]
}

// dropRoom leaves room name locally; false if it was not joined.
func (n *Node) dropRoom(name string) bool {
	n.rooms.Lock()
	defer n.rooms.Unlock()
	_, ok := n.rooms.byName[name]
	delete(n.rooms.byName, name)
	return ok
}

// roomDiff returns the rooms joined and left since announced.
func (n *Node) roomDiff(announced []string) (joined, left []string) {
	n.rooms.Lock()
	defer n.rooms.Unlock()
	was := map[string]bool{}
	for _, r := range announced {
		was[r] = true
		if n.rooms.byName[r] == nil {
			left = append(left, r)
		}
	}
	for r := range n.rooms.byName {
		if !was[r] {
			joined = append(joined, r)
		}
	}
	return joined, left
}

// setNick remembers the nickname key's hello announced.
func (n *Node) setNick(key lcrypto.IdentityKey, nick string) {
	n.nicks.Lock()
	n.nicks.byKey[key] = nick
	n.nicks.Unlock()
}

// helloNick returns the nickname key's latest hello announced.
func (n *Node) helloNick(key lcrypto.IdentityKey) string {
	n.nicks.Lock()
	defer n.nicks.Unlock()
	return n.nicks.byKey[key]
}
