package web

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/control"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// testNode is a real node on loopback with its web UI, which a test may
// stop and start again on the same database and web address.
type testNode struct {
	name       string
	dir        string
	id         *lcrypto.Identity
	beaconPort int
	node       *control.Node
	db         *storage.DB
	web        *Server
	stopWeb    func()
}

// freeUDPPort is a UDP port for the beacons of one test's nodes only.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startNode runs a node named name (beacons on loopback, UDP port
// beaconPort) and its web UI on addr ("": none), until the end of the test.
func startNode(t *testing.T, name string, beaconPort int, addr string) *testNode {
	t.Helper()
	id, err := lcrypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tn := &testNode{name: name, dir: t.TempDir(), id: id, beaconPort: beaconPort}
	tn.start(t, addr)
	t.Cleanup(tn.stop)
	return tn
}

// start starts the node and its web UI (addr "": none).
func (tn *testNode) start(t *testing.T, addr string) {
	t.Helper()
	db, err := storage.Open(filepath.Join(tn.dir, "lanchat.db"), storage.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	cfg := control.DefaultNodeConfig()
	cfg.Identity, cfg.Store, cfg.Nickname = tn.id, db, tn.name
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.Discovery.Addr, cfg.Discovery.Port = "127.255.255.255", tn.beaconPort
	cfg.Discovery.Interval = 200 * time.Millisecond
	cfg.RedialInterval = 100 * time.Millisecond
	cfg.DialGrace = 500 * time.Millisecond
	n, err := control.StartNode(context.Background(), cfg)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	tn.node, tn.db = n, db
	if addr != "" {
		tn.serveWeb(t, addr)
	}
}

// stop stops the web UI and the node, and closes the database.
func (tn *testNode) stop() {
	if tn.node == nil {
		return
	}
	if tn.stopWeb != nil {
		tn.stopWeb()
		tn.stopWeb = nil
	}
	tn.node.Stop()
	tn.db.Close()
	tn.node = nil
}

// serveWeb serves tn's web UI on addr until stop.
func (tn *testNode) serveWeb(t *testing.T, addr string) {
	t.Helper()
	wcfg := DefaultConfig()
	wcfg.Addr, wcfg.KeyFile = addr, filepath.Join(tn.dir, KeyFileName)
	wcfg.Logf = t.Logf
	srv, err := Listen(wcfg)
	if err != nil {
		t.Fatal(err)
	}
	tn.web = srv
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, tn.node.Service) }()
	tn.stopWeb = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: web Serve: %v", tn.name, err)
		}
	}
}

func (tn *testNode) fingerprint(t *testing.T) string {
	t.Helper()
	id, err := tn.node.Identity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id.Fingerprint
}

// trustEachOther makes a and b trust each other and waits for their link;
// a lists b under bName ("": b's own nickname is shown).
func trustEachOther(t *testing.T, a, b *testNode, bName string) {
	t.Helper()
	ctx := context.Background()
	if _, err := a.node.Trust(ctx, control.FingerprintParams{Fingerprint: b.fingerprint(t), Name: bName}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.node.Trust(ctx, control.FingerprintParams{Fingerprint: a.fingerprint(t), Name: a.name}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, a.name+" and "+b.name+" to link", func() bool {
		id, err := a.node.Identity(ctx)
		return err == nil && id.Node.Linked == 1
	})
}

// history is what tn stores in room.
func (tn *testNode) history(t *testing.T, room string) []*control.MessageView {
	t.Helper()
	views, err := tn.node.History(context.Background(), control.HistoryParams{Rooms: []string{room}})
	if err != nil {
		t.Fatal(err)
	}
	return views
}

func hasBody(views []*control.MessageView, body string) bool {
	for _, v := range views {
		if v.Body == body {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loggedIn is an HTTP client holding a session of tn's UI, and the
// session's CSRF token.
type loggedIn struct {
	c    *http.Client
	base string
	csrf string
}

// login trades a fresh login URL for a session, as a browser does.
func (tn *testNode) login(t *testing.T) *loggedIn {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	u, err := tn.web.LoginURL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/" {
		t.Fatalf("login: %s, at %s; want 200 at /", res.Status, res.Request.URL)
	}
	li := &loggedIn{c: c, base: strings.TrimSuffix(tn.web.URL(), "/")}
	var info sessionInfo
	if err := li.getJSON("/api/session", &info); err != nil {
		t.Fatal(err)
	}
	li.csrf = info.CSRF
	return li
}

func (li *loggedIn) getJSON(path string, v any) error {
	res, err := li.c.Get(li.base + path)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return errors.New(path + ": " + res.Status)
	}
	return decodeJSON(res, v)
}

// cookie is the session cookie the client holds.
func (li *loggedIn) cookie(t *testing.T) *http.Cookie {
	t.Helper()
	u, err := url.Parse(li.base)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range li.c.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "lanchat-") {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

func decodeJSON(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }
