package chat

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// cluster is a set of in-process nodes on loopback broadcast, on a UDP port
// of their own so that other tests never hear them.
type cluster struct {
	t        *testing.T
	port     int
	nodes    []*testNode
	dataRoot string
}

type testNode struct {
	name   string
	id     *lcrypto.Identity
	dbPath string
	store  *storage.DB
	node   *Node
	cancel context.CancelFunc
	done   chan error
	events <-chan Event
	rooms  []string
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// newCluster returns an empty cluster. When the test ends, after every
// node stopped, no goroutine of theirs may remain (checkNoLeaks).
func newCluster(t *testing.T) *cluster {
	before := lanchatGoroutines()
	t.Cleanup(func() { checkNoLeaks(t, before) })
	return &cluster{t: t, port: freeUDPPort(t), dataRoot: t.TempDir()}
}

// add creates a node with a fresh identity (not started).
func (c *cluster) add(name string, rooms ...string) *testNode {
	c.t.Helper()
	id, err := lcrypto.NewIdentity(rand.Reader)
	if err != nil {
		c.t.Fatal(err)
	}
	tn := &testNode{name: name, id: id, dbPath: filepath.Join(c.dataRoot, name+".db"), rooms: rooms}
	c.nodes = append(c.nodes, tn)
	return tn
}

// trustAll makes every listed node trust every other.
func (c *cluster) trustAll(nodes ...*testNode) {
	c.t.Helper()
	for _, a := range nodes {
		store := c.openStore(a)
		for _, b := range nodes {
			if a != b {
				if _, err := store.Trust(b.id.Fingerprint(), b.name); err != nil {
					c.t.Fatal(err)
				}
			}
		}
		if a.node == nil {
			store.Close()
			a.store = nil
		}
	}
}

func (c *cluster) openStore(tn *testNode) *storage.DB {
	c.t.Helper()
	if tn.store != nil {
		return tn.store
	}
	store, err := storage.Open(tn.dbPath, storage.DefaultOptions())
	if err != nil {
		c.t.Fatal(err)
	}
	tn.store = store
	return store
}

func (c *cluster) config(tn *testNode) Config {
	cfg := DefaultConfig()
	cfg.Identity = tn.id
	cfg.Store = c.openStore(tn)
	cfg.Nickname = tn.name
	if len(tn.rooms) > 0 {
		cfg.Rooms = tn.rooms
	}
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.FilesDir = filepath.Join(c.dataRoot, tn.name+"-files")
	cfg.Discovery.Addr = "127.255.255.255"
	cfg.Discovery.Port = c.port
	cfg.Discovery.Interval = 200 * time.Millisecond
	cfg.RedialInterval = 100 * time.Millisecond
	cfg.DialGrace = 500 * time.Millisecond
	cfg.Session.KeepaliveInterval = 500 * time.Millisecond
	cfg.Session.DeadTimeout = 2 * time.Second
	cfg.Logf = func(format string, args ...any) { c.t.Logf("%s: "+format, append([]any{tn.name}, args...)...) }
	return cfg
}

// start runs tn's node until stop or the end of the test.
func (c *cluster) start(tn *testNode) {
	c.t.Helper()
	c.startWith(tn, c.config(tn))
}

func (c *cluster) startWith(tn *testNode, cfg Config) {
	c.t.Helper()
	n, err := New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	tn.node = n
	tn.events, _ = n.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	tn.cancel = cancel
	tn.done = make(chan error, 1)
	go func() { tn.done <- n.Run(ctx) }()
	c.t.Cleanup(func() { c.stop(tn) })
}

// stop ends tn's node cleanly and closes its store.
func (c *cluster) stop(tn *testNode) {
	if tn.node == nil {
		return
	}
	tn.cancel()
	if err := <-tn.done; err != nil {
		c.t.Errorf("%s: Run: %v", tn.name, err)
	}
	tn.node = nil
	if err := tn.store.Check(); err != nil {
		c.t.Errorf("%s: store consistency: %v", tn.name, err)
	}
	tn.store.Close()
	tn.store = nil
}

func (tn *testNode) linkedTo(others ...*testNode) bool {
	linked := map[string]bool{}
	for _, p := range tn.node.LinkedPeers() {
		linked[p.Fingerprint] = true
	}
	for _, o := range others {
		if !linked[o.id.Fingerprint().String()] {
			return false
		}
	}
	return true
}

func (c *cluster) waitLinked(nodes ...*testNode) {
	c.t.Helper()
	for _, a := range nodes {
		var others []*testNode
		for _, b := range nodes {
			if a != b {
				others = append(others, b)
			}
		}
		waitFor(c.t, a.name+" linked to all", func() bool { return a.linkedTo(others...) })
	}
}

// history returns "author-short:body" lines of tn's room history in order.
func (tn *testNode) history(t *testing.T, room string) []string {
	t.Helper()
	views, err := ReadHistory(tn.store, tn.id.Public(), tn.name, HistoryQuery{Rooms: []string{room}})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(views))
	for i, v := range views {
		out[i] = v.ID + " " + v.Body
	}
	return out
}

func (tn *testNode) send(t *testing.T, room, body string) {
	t.Helper()
	if _, _, err := tn.node.Send(context.Background(), room, body); err != nil {
		t.Fatalf("%s: send: %v", tn.name, err)
	}
}

func hasBodies(lines []string, bodies ...string) bool {
	for _, b := range bodies {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasSuffix(l, " "+b) }) {
			return false
		}
	}
	return true
}

func (c *cluster) waitConverged(room string, nodes ...*testNode) {
	c.t.Helper()
	waitFor(c.t, "histories to converge", func() bool {
		first := nodes[0].history(c.t, room)
		for _, n := range nodes[1:] {
			if !slices.Equal(first, n.history(c.t, room)) {
				return false
			}
		}
		return true
	})
}

func TestRoomChatBothWays(t *testing.T) {
	c := newCluster(t)
	a, b, d := c.add("alice"), c.add("bob"), c.add("carol")
	c.trustAll(a, b, d)
	for _, n := range []*testNode{a, b, d} {
		c.start(n)
	}
	c.waitLinked(a, b, d)
	a.send(t, "lobby", "hello from alice")
	d.send(t, "lobby", "hi, carol here")
	for _, n := range []*testNode{a, b, d} {
		waitFor(t, n.name+" has both messages", func() bool {
			return hasBodies(n.history(t, "lobby"), "hello from alice", "hi, carol here")
		})
	}
	c.waitConverged("lobby", a, b, d)
}

func TestLateJoinerAndRestartCatchUp(t *testing.T) {
	c := newCluster(t)
	a, b, late := c.add("alice"), c.add("bob"), c.add("late")
	c.trustAll(a, b, late)
	c.start(a)
	c.start(b)
	c.waitLinked(a, b)
	for i := 0; i < 40; i++ {
		a.send(t, "lobby", fmt.Sprintf("a%d", i))
		b.send(t, "lobby", fmt.Sprintf("b%d", i))
	}
	c.start(late)
	c.waitConverged("lobby", a, b, late)
	if got := len(late.history(t, "lobby")); got != 80 {
		t.Fatalf("late joiner has %d messages, want 80", got)
	}
	// Stop it, talk on, restart it: it catches up from its own store.
	c.stop(late)
	for i := 0; i < 30; i++ {
		a.send(t, "lobby", fmt.Sprintf("while away %d", i))
	}
	c.start(late)
	c.waitConverged("lobby", a, b, late)
	if got := len(late.history(t, "lobby")); got != 110 {
		t.Fatalf("restarted node has %d messages, want 110", got)
	}
}

func TestPartitionHealsToIdenticalHistory(t *testing.T) {
	c := newCluster(t)
	a, b, d := c.add("alice"), c.add("bob"), c.add("carol")
	c.trustAll(a, b, d)
	for _, n := range []*testNode{a, b, d} {
		c.start(n)
	}
	c.waitLinked(a, b, d)
	a.send(t, "lobby", "before")
	c.waitConverged("lobby", a, b, d)
	// Cut carol off: both sides stop trusting each other, which closes links.
	for _, x := range []*testNode{a, b} {
		if err := x.node.Untrust(d.id.Fingerprint()); err != nil {
			t.Fatal(err)
		}
		if err := d.node.Untrust(x.id.Fingerprint()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "carol cut off", func() bool { return len(d.node.LinkedPeers()) == 0 })
	for i := 0; i < 10; i++ {
		a.send(t, "lobby", fmt.Sprintf("majority %d", i))
		d.send(t, "lobby", fmt.Sprintf("minority %d", i))
	}
	for _, x := range []*testNode{a, b} {
		if _, err := x.node.Trust(d.id.Fingerprint(), "carol"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.node.Trust(x.id.Fingerprint(), x.name); err != nil {
			t.Fatal(err)
		}
	}
	c.waitConverged("lobby", a, b, d)
	if got := len(a.history(t, "lobby")); got != 21 {
		t.Fatalf("after heal: %d messages, want 21", got)
	}
}

func TestUntrustedNodeGetsNothing(t *testing.T) {
	c := newCluster(t)
	a, b, stranger := c.add("alice"), c.add("bob"), c.add("stranger")
	c.trustAll(a, b)
	// The stranger trusts alice, but alice does not trust it.
	st := c.openStore(stranger)
	if _, err := st.Trust(a.id.Fingerprint(), "alice"); err != nil {
		t.Fatal(err)
	}
	c.start(a)
	c.start(b)
	c.start(stranger)
	c.waitLinked(a, b)
	a.send(t, "lobby", "members only")
	a.waitEvent(t, EventUntrusted, stranger)
	if got := stranger.history(t, "lobby"); len(got) != 0 {
		t.Fatalf("untrusted node received %v", got)
	}
	if len(stranger.node.LinkedPeers()) != 0 {
		t.Fatal("untrusted node has a link")
	}
}

func TestJoinLeaveRooms(t *testing.T) {
	c := newCluster(t)
	a, b := c.add("alice", "lobby"), c.add("bob", "lobby", "dev")
	c.trustAll(a, b)
	c.start(a)
	c.start(b)
	c.waitLinked(a, b)
	b.send(t, "dev", "dev talk before alice joined")
	if _, _, err := a.node.Send(context.Background(), "dev", "x"); !errors.Is(err, ErrNotJoined) {
		t.Fatalf("send to a room not joined: %v, want ErrNotJoined", err)
	}
	if _, err := a.node.Join("Dev"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "alice to sync dev on join", func() bool {
		return hasBodies(a.history(t, "dev"), "dev talk before alice joined")
	})
	a.send(t, "dev", "alice in dev")
	waitFor(t, "bob to get it", func() bool { return hasBodies(b.history(t, "dev"), "alice in dev") })
	if _, err := a.node.Leave("dev"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob to see alice leave", func() bool {
		for _, p := range b.node.LinkedPeers() {
			if p.Nick == "alice" {
				return !slices.Contains(p.Rooms, "dev")
			}
		}
		return false
	})
	b.send(t, "dev", "after alice left")
	b.send(t, "lobby", "lobby marker")
	waitFor(t, "the lobby marker", func() bool { return hasBodies(a.history(t, "lobby"), "lobby marker") })
	if hasBodies(a.history(t, "dev"), "after alice left") {
		t.Fatal("alice received a message of a room she left")
	}
}

// A peer you trust who has not trusted you is reported, by name, so you
// know to read them your fingerprint.
func TestOneSidedTrustIsReported(t *testing.T) {
	c := newCluster(t)
	a, b := c.add("alice"), c.add("bob")
	st := c.openStore(a)
	if _, err := st.Trust(b.id.Fingerprint(), "bobby"); err != nil {
		t.Fatal(err)
	}
	c.start(a)
	c.start(b)
	if ev := a.waitEvent(t, EventRefused, b); ev.Peer.Nick != "bobby" {
		t.Fatalf("refusal names %q, want the trusted name bobby", ev.Peer.Nick)
	}
}

// Without --room, history merges rooms by time, and --limit keeps the newest.
func TestHistoryAcrossRoomsByTime(t *testing.T) {
	c := newCluster(t)
	a := c.add("alice", "lobby", "dev")
	cfg := c.config(a)
	cfg.NoDiscovery, cfg.StaticPeers = true, []string{"127.0.0.1:1"}
	c.startWith(a, cfg)
	// lobby's clock runs ahead of dev's: clocks alone would put dev first.
	for i := 0; i < 5; i++ {
		a.send(t, "lobby", fmt.Sprintf("lobby %d", i))
	}
	time.Sleep(5 * time.Millisecond) // distinct author times (ms resolution)
	a.send(t, "dev", "dev newest")
	views, err := ReadHistory(a.store, a.id.Public(), "alice", HistoryQuery{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 2 || views[0].Body != "lobby 4" || views[1].Body != "dev newest" {
		var got []string
		for _, v := range views {
			got = append(got, v.Body)
		}
		t.Fatalf("newest 2 across rooms = %v, want [lobby 4, dev newest]", got)
	}
}

// TestNewWithoutRunStartsNothing: a node that is created and never run
// leaves no goroutine behind (the cluster's leak check).
func TestNewWithoutRunStartsNothing(t *testing.T) {
	c := newCluster(t)
	a := c.add("alice")
	if _, err := New(c.config(a)); err != nil {
		t.Fatal(err)
	}
	if err := a.store.Close(); err != nil {
		t.Fatal(err)
	}
	a.store = nil
}
