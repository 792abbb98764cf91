package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
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

	mu       sync.Mutex
	links    map[lcrypto.IdentityKey]*peer
	rooms    map[string]*room
	nicks    map[lcrypto.IdentityKey]string       // from hellos, for display
	dialing  map[string]bool                      // addresses with a dial in flight
	statics  map[string]*staticPeer               // --peer address → its state
	knocks   map[reportKey]time.Time              // last knock/refusal event per peer
	knockWin knockWindow                          // untrusted knocks of this summary interval
	relinks  map[lcrypto.IdentityKey]*relinkState // peers whose links keep ending early
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
		links:     map[lcrypto.IdentityKey]*peer{},
		rooms:     map[string]*room{},
		nicks:     map[lcrypto.IdentityKey]string{},
		dialing:   map[string]bool{},
		statics:   map[string]*staticPeer{},
		knocks:    map[reportKey]time.Time{},
		relinks:   map[lcrypto.IdentityKey]*relinkState{},
	}
	if n.logf == nil {
		n.logf = func(string, ...any) {}
	}
	n.events.buf = max(cfg.EventBuffer, 1)
	rooms := cfg.Rooms
	if len(rooms) == 0 {
		rooms = []string{DefaultRoom}
	}
	for _, r := range rooms {
		if _, err := n.loadRoom(r); err != nil {
			return nil, err
		}
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
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.rooms[name]; ok {
		return name, nil
	}
	if len(n.rooms) >= MaxRooms {
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
	n.rooms[name] = rs
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
	n.wg.Add(2)
	go n.acceptLoop(ctx, ln)
	go n.dialLoop(ctx)
	<-ctx.Done()
	ln.Close()
	n.closeAllLinks("shutting down")
	n.wg.Wait()
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

// Rooms returns the joined rooms.
func (n *Node) Rooms() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.roomNamesLocked()
}
