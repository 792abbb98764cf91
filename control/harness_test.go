package control

import (
	"context"
	"crypto/rand"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// cluster is a set of real nodes on loopback broadcast, on a UDP port of
// their own so that other tests never hear them.
type cluster struct {
	t        *testing.T
	port     int
	dataRoot string
}

type testNode struct {
	name   string
	id     *lcrypto.Identity
	dbPath string
	store  *storage.DB
	node   *chat.Node
	cancel context.CancelFunc
	done   chan error
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	return &cluster{t: t, port: port, dataRoot: t.TempDir()}
}

func (c *cluster) add(name string) *testNode {
	c.t.Helper()
	id, err := lcrypto.NewIdentity(rand.Reader)
	if err != nil {
		c.t.Fatal(err)
	}
	return &testNode{name: name, id: id, dbPath: filepath.Join(c.dataRoot, name+".db")}
}

func (c *cluster) openStore(tn *testNode) *storage.DB {
	c.t.Helper()
	if tn.store == nil {
		db, err := storage.Open(tn.dbPath, storage.DefaultOptions())
		if err != nil {
			c.t.Fatal(err)
		}
		tn.store = db
	}
	return tn.store
}

// start runs tn's node until the end of the test.
func (c *cluster) start(tn *testNode) {
	c.t.Helper()
	cfg := chat.DefaultConfig()
	cfg.Identity, cfg.Store, cfg.Nickname = tn.id, c.openStore(tn), tn.name
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.Discovery.Addr, cfg.Discovery.Port = "127.255.255.255", c.port
	cfg.Discovery.Interval = 200 * time.Millisecond
	cfg.RedialInterval = 100 * time.Millisecond
	cfg.DialGrace = 500 * time.Millisecond
	cfg.Logf = func(format string, args ...any) { c.t.Logf("%s: "+format, append([]any{tn.name}, args...)...) }
	n, err := chat.New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tn.node, tn.cancel, tn.done = n, cancel, make(chan error, 1)
	go func() { tn.done <- n.Run(ctx) }()
	if _, err := n.Addr(ctx); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { c.stop(tn) })
}

func (c *cluster) stop(tn *testNode) {
	if tn.node == nil {
		return
	}
	tn.cancel()
	if err := <-tn.done; err != nil {
		c.t.Errorf("%s: Run: %v", tn.name, err)
	}
	tn.node = nil
	tn.store.Close()
	tn.store = nil
}

// service is tn's API.
func (tn *testNode) service() *Service {
	return NewService(tn.node, tn.store, filepath.Dir(tn.dbPath))
}

func (tn *testNode) send(t *testing.T, room, body string) {
	t.Helper()
	if _, _, err := tn.node.Send(context.Background(), room, body); err != nil {
		t.Fatalf("%s: send: %v", tn.name, err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// feed is an event source the test publishes to, for the tests of the
// server's own queues (flow control under a flood of events).
type feed struct {
	mu   sync.Mutex
	subs map[chan chat.Event]struct{}
}

func (f *feed) subscribe(ctx context.Context) <-chan chat.Event {
	ch := make(chan chat.Event, 16384) // the server's queue is what drops, not the feed
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[chan chat.Event]struct{}{}
	}
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subs, ch)
		close(ch)
	})
	return ch
}

// publish never blocks: a full subscriber misses the event, as the node's
// own hub does.
func (f *feed) publish(ev chat.Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

func (f *feed) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// fedService is a node's Service whose events come from a feed.
type fedService struct {
	*Service
	feed *feed
}

func (s fedService) Subscribe(ctx context.Context) (<-chan chat.Event, error) {
	return s.feed.subscribe(ctx), nil
}
