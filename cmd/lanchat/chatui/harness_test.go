package chatui

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanchat/lanchat/chat"
	"github.com/lanchat/lanchat/control"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// testNode is a real node on loopback (beacons to 127.255.255.255 on a
// port of the test's own) with its control.Service.
type testNode struct {
	name string
	id   *lcrypto.Identity
	dir  string
	db   *storage.DB
	node *chat.Node
	api  *control.Service
	stop func()
}

func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func newIdentity(t testing.TB) *lcrypto.Identity {
	t.Helper()
	id, err := lcrypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// startNode starts a node named name in rooms, trusting trusts.
// linkedPair starts alice and bob, trusting each other, in rooms (nil: the
// default), and waits until both see the link.
func linkedPair(t *testing.T, rooms []string) (alice, bob *testNode, aliceID, bobID *lcrypto.Identity) {
	t.Helper()
	port := freeUDPPort(t)
	aliceID, bobID = newIdentity(t), newIdentity(t)
	alice = startNode(t, "alice", aliceID, port, rooms, bobID)
	bob = startNode(t, "bob", bobID, port, rooms, aliceID)
	waitFor(t, "alice and bob linked", func() bool { return len(alice.node.LinkedPeers()) == 1 && len(bob.node.LinkedPeers()) == 1 })
	return alice, bob, aliceID, bobID
}

func startNode(t testing.TB, name string, id *lcrypto.Identity, port int, rooms []string, trusts ...*lcrypto.Identity) *testNode {
	t.Helper()
	return startNodeIn(t, t.TempDir(), name, id, port, rooms, trusts...)
}

// startNodeIn is startNode on the data dir dir: a node stopped comes back
// with its store by starting again in its dir.
func startNodeIn(t testing.TB, dir, name string, id *lcrypto.Identity, port int, rooms []string, trusts ...*lcrypto.Identity) *testNode {
	t.Helper()
	db, err := storage.Open(filepath.Join(dir, "lanchat.db"), storage.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range trusts {
		if _, err := db.Trust(o.Fingerprint(), "peer"); err != nil {
			t.Fatal(err)
		}
	}
	cfg := chat.DefaultConfig()
	cfg.Identity, cfg.Store, cfg.Nickname = id, db, name
	if len(rooms) > 0 {
		cfg.Rooms = rooms
	}
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.FilesDir = filepath.Join(dir, "files")
	cfg.Discovery.Addr = "127.255.255.255"
	cfg.Discovery.Port = port
	cfg.Discovery.Interval = 200 * time.Millisecond
	cfg.RedialInterval = 100 * time.Millisecond
	cfg.DialGrace = 300 * time.Millisecond
	cfg.Logf = func(format string, args ...any) { t.Logf("%s: "+format, append([]any{name}, args...)...) }
	node, err := chat.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if _, err := node.Addr(wctx); err != nil {
		t.Fatal(err)
	}
	tn := &testNode{name: name, id: id, dir: dir, db: db, node: node, api: control.NewService(node, db, dir)}
	var once sync.Once
	tn.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s: Run: %v", name, err)
			}
			if err := db.Close(); err != nil {
				t.Errorf("%s: closing the store: %v", name, err)
			}
		})
	}
	t.Cleanup(tn.stop)
	return tn
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// chatRun is Run in a goroutine, fed through a pipe.
type chatRun struct {
	t        *testing.T
	in       *io.PipeWriter
	out, err *syncBuffer
	cancel   context.CancelFunc
	done     chan error
}

func runChat(t *testing.T, api control.API, o Options) *chatRun {
	t.Helper()
	pr, pw := io.Pipe()
	c := &chatRun{t: t, in: pw, out: &syncBuffer{}, err: &syncBuffer{}, done: make(chan error, 1)}
	if o.In == nil {
		o.In = pr
	}
	o.Out, o.Err = c.out, c.err
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() { c.done <- Run(ctx, api, o) }()
	t.Cleanup(func() {
		cancel()
		pw.Close()
		<-c.done
	})
	return c
}

func (c *chatRun) say(lines ...string) {
	c.t.Helper()
	for _, l := range lines {
		if _, err := io.WriteString(c.in, l+"\n"); err != nil {
			c.t.Fatalf("typing %q: %v", l, err)
		}
	}
}

// wait waits for Run to return and gives its error.
func (c *chatRun) wait() error {
	c.t.Helper()
	select {
	case err := <-c.done:
		c.done <- err // for the cleanup
		return err
	case <-time.After(60 * time.Second):
		c.t.Fatal("Run did not return")
		return nil
	}
}

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

func (c *chatRun) waitErr(want string) {
	c.t.Helper()
	waitFor(c.t, "notice "+want, func() bool { return strings.Contains(c.err.String(), want) })
}

func (c *chatRun) waitOut(want string) {
	c.t.Helper()
	waitFor(c.t, "output "+want, func() bool { return strings.Contains(c.out.String(), want) })
}

// jsonEvents decodes the JSON lines printed so far.
func (c *chatRun) jsonEvents() []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(c.out.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// history is what tn stored, oldest first.
func (tn *testNode) history(t *testing.T, rooms ...string) []*chat.MessageView {
	t.Helper()
	views, err := tn.api.History(context.Background(), control.HistoryParams{Rooms: rooms})
	if err != nil {
		t.Fatal(err)
	}
	return views
}

func bodies(views []*chat.MessageView) []string {
	out := make([]string, len(views))
	for i, v := range views {
		out[i] = v.Body
	}
	return out
}

// shortSocketPath is a unix socket path short enough for the kernel.
func shortSocketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lcu")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, control.SocketName)
}
