package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lanchat/lanchat/chat"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanchat/lanchat/storage"
)

// controlHarness is a started node with its control socket served.
type controlHarness struct {
	t    *testing.T
	tn   *testNode
	feed *feed // set by serveFed
	srv  *Server
	path string
	stop func() // stops serving; idempotent
}

// socketDir returns a short private directory: a unix socket path must fit
// in about 100 bytes, and t.TempDir's paths grow with the test's name.
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lcs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func serveControl(t *testing.T, c *cluster, tn *testNode, cfg ServerConfig) *controlHarness {
	t.Helper()
	if tn.node == nil {
		c.start(tn)
	}
	return serveAPI(t, tn, tn.service(), cfg)
}

// serveFed serves tn with events from a feed the test publishes to.
func serveFed(t *testing.T, c *cluster, tn *testNode, cfg ServerConfig) *controlHarness {
	t.Helper()
	if tn.node == nil {
		c.start(tn)
	}
	f := &feed{}
	h := serveAPI(t, tn, fedService{tn.service(), f}, cfg)
	h.feed = f
	return h
}

func serveAPI(t *testing.T, tn *testNode, api API, cfg ServerConfig) *controlHarness {
	t.Helper()
	path := filepath.Join(socketDir(t), SocketName)
	srv, err := Listen(api, path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	var once sync.Once
	h := &controlHarness{t: t, tn: tn, srv: srv, path: path}
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(h.stop)
	return h
}

func (h *controlHarness) dial() *Client {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := Dial(ctx, h.path)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { cl.Close() })
	return cl
}

func callT(t *testing.T, cl *Client, method string, params, result any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl.Call(ctx, method, params, result)
}

func mustCall(t *testing.T, cl *Client, method string, params, result any) {
	t.Helper()
	if err := callT(t, cl, method, params, result); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
}

// rawLine sends one line on a fresh connection and returns the answer.
func (h *controlHarness) rawLine(line string) map[string]any {
	h.t.Helper()
	conn, err := net.Dial("unix", h.path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		h.t.Fatal(err)
	}
	if _, err := conn.Write([]byte(line + "\n")); err != nil {
		h.t.Fatal(err)
	}
	resp, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		h.t.Fatalf("reading the answer to %q: %v", line, err)
	}
	var m map[string]any
	if err := json.Unmarshal(resp, &m); err != nil {
		h.t.Fatalf("answer %q is not JSON: %v", resp, err)
	}
	return m
}

func TestControlMethods(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	h := serveControl(t, c, alice, DefaultServerConfig())
	cl := h.dial()
	bobFP := bob.id.Fingerprint().String()

	var id Identity
	mustCall(t, cl, MethodID, nil, &id)
	if id.Fingerprint != alice.id.Fingerprint().String() || id.Node.PID != os.Getpid() || id.Node.Nick != "alice" {
		t.Errorf("id = %+v, want alice's fingerprint, this pid, nickname alice", id)
	}

	var tr TrustResult
	mustCall(t, cl, MethodTrust, FingerprintParams{Fingerprint: bobFP, Name: "bob"}, &tr)
	if !tr.Added || tr.Name != "bob" {
		t.Errorf("first trust = %+v, want added, name bob", tr)
	}
	mustCall(t, cl, MethodTrust, FingerprintParams{Fingerprint: strings.ToLower(bobFP), Name: "robert"}, &tr)
	if tr.Added || tr.PreviousName != "bob" || tr.Name != "robert" {
		t.Errorf("second trust = %+v, want not added, renamed from bob to robert", tr)
	}
	var trusted []TrustedPeer
	mustCall(t, cl, MethodTrusted, nil, &trusted)
	if len(trusted) != 1 || trusted[0].Fingerprint != bobFP || trusted[0].Name != "robert" || trusted[0].AddedAt == nil || trusted[0].LastSeen != nil {
		t.Errorf("trusted = %+v, want bob as robert, added, never seen", trusted)
	}

	var joined RoomResult
	mustCall(t, cl, MethodJoin, RoomParams{Room: "#Ops"}, &joined)
	var rooms []string
	mustCall(t, cl, MethodRooms, nil, &rooms)
	if joined.Room != "ops" || !slices.Equal(rooms, []string{"lobby", "ops"}) {
		t.Errorf("after join: %q, rooms %q; want ops, [lobby ops]", joined.Room, rooms)
	}
	mustCall(t, cl, MethodLeave, RoomParams{Room: "ops"}, nil)

	var sent SendResult
	mustCall(t, cl, MethodSend, SendParams{Room: "lobby", Body: "hello via the socket"}, &sent)
	if sent.Message == nil || sent.Message.Body != "hello via the socket" || !sent.Message.Own || sent.Linked == nil {
		t.Errorf("send = %+v, want our own message and a linked list", sent)
	}
	mustCall(t, cl, MethodSend, SendParams{Room: "news", Body: "joined to send", Join: true}, &sent)
	var hist []*chat.MessageView
	mustCall(t, cl, MethodHistory, HistoryParams{Grep: "VIA THE"}, &hist)
	if len(hist) != 1 || hist[0].Body != "hello via the socket" || hist[0].Nick != "alice" {
		t.Errorf("history --grep = %+v, want the one message", hist)
	}
	mustCall(t, cl, MethodHistory, HistoryParams{Rooms: []string{"news"}}, &hist)
	if len(hist) != 1 || hist[0].Room != "news" {
		t.Errorf("history of news = %+v, want the message sent with join", hist)
	}

	var gone TrustedPeer
	mustCall(t, cl, MethodUntrust, FingerprintParams{Fingerprint: bobFP}, &gone)
	if gone.Name != "robert" {
		t.Errorf("untrust = %+v, want robert's entry", gone)
	}
	err := callT(t, cl, MethodUntrust, FingerprintParams{Fingerprint: bobFP}, nil)
	if !errors.Is(err, storage.ErrNotTrusted) {
		t.Errorf("second untrust: %v, want ErrNotTrusted", err)
	}
	var peers []*chat.PeerView
	mustCall(t, cl, MethodPeers, nil, &peers)
	if peers == nil {
		t.Error("peers: null, want a list")
	}
}

func TestControlErrors(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	h := serveControl(t, c, alice, DefaultServerConfig())
	self := alice.id.Fingerprint().String()
	tests := []struct {
		name, line, code, id string
	}{
		{"not JSON", `hello`, CodeBadRequest, "null"},
		{"no method", `{"id":1}`, CodeBadRequest, "1"},
		{"unknown method", `{"id":"x","method":"reboot"}`, CodeUnknownMethod, `"x"`},
		{"params of the wrong type", `{"id":3,"method":"trust","params":{"fingerprint":5}}`, CodeInvalidParams, "3"},
		{"unknown param", `{"id":4,"method":"history","params":{"limits":5}}`, CodeInvalidParams, "4"},
		{"negative limit", `{"id":5,"method":"history","params":{"limit":-1}}`, CodeInvalidParams, "5"},
		{"fingerprint typo", `{"id":6,"method":"trust","params":{"fingerprint":"AAAAAAA-BBBBBBB"}}`, CodeBadFingerprint, "6"},
		{"own fingerprint", `{"id":7,"method":"trust","params":{"fingerprint":"` + self + `"}}`, CodeSelf, "7"},
		{"bad room", `{"id":8,"method":"join","params":{"room":"no spaces"}}`, CodeBadRoom, "8"},
		{"room not joined", `{"id":9,"method":"send","params":{"room":"elsewhere","body":"x"}}`, CodeNotJoined, "9"},
		{"leave a room not joined", `{"id":10,"method":"leave","params":{"room":"elsewhere"}}`, CodeNotJoined, "10"},
		{"empty message", `{"id":11,"method":"send","params":{"room":"lobby","body":""}}`, CodeFailed, "11"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := h.rawLine(tt.line)
			e, _ := m["error"].(map[string]any)
			id, _ := json.Marshal(m["id"])
			if e == nil || e["code"] != tt.code || e["message"] == "" || string(id) != tt.id {
				t.Errorf("answer %v, want error code %s with a message and id %s", m, tt.code, tt.id)
			}
		})
	}
	t.Run("line too long", func(t *testing.T) {
		conn, err := net.Dial("unix", h.path)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		long := `{"id":1,"method":"send","params":{"body":"` + strings.Repeat("x", DefaultServerConfig().MaxLine) + `"}}` + "\n"
		go conn.Write([]byte(long)) // the server stops reading; ends when conn closes
		r := bufio.NewReader(conn)
		line, err := r.ReadBytes('\n')
		if err != nil || !strings.Contains(string(line), CodeTooLarge) {
			t.Fatalf("answer %q (%v), want %s", line, err, CodeTooLarge)
		}
		if _, err := r.ReadBytes('\n'); err == nil {
			t.Error("the connection stayed open after a too long line")
		}
	})
	// The server still serves after all that.
	var rooms []string
	mustCall(t, h.dial(), MethodRooms, nil, &rooms)
}

// nextEvent waits for an event of kind, skipping others.
func nextEvent(t *testing.T, cl *Client, kind chat.EventKind) chat.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		ev, err := cl.nextEvent(ctx)
		if err != nil {
			t.Fatalf("waiting for a %s event: %v", kind, err)
		}
		if ev.Kind == kind {
			return ev
		}
	}
}

func TestControlEventsAndLiveTrust(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	// Bob trusts alice; alice does not trust bob yet.
	store := c.openStore(bob)
	if _, err := store.Trust(alice.id.Fingerprint(), "alice"); err != nil {
		t.Fatal(err)
	}
	c.start(bob)
	h := serveControl(t, c, alice, DefaultServerConfig())
	events, other := h.dial(), h.dial()
	mustCall(t, events, MethodSubscribe, nil, nil)
	if err := callT(t, events, MethodSubscribe, nil, nil); err == nil {
		t.Error("a second subscribe on one connection was accepted")
	}

	mustCall(t, other, MethodSend, SendParams{Room: "lobby", Body: "seen by subscribers"}, nil)
	if ev := nextEvent(t, events, chat.EventMessage); ev.Message.Body != "seen by subscribers" {
		t.Errorf("message event %+v, want the sent body", ev.Message)
	}

	// Trusting bob through the socket links him without a restart.
	bobFP := bob.id.Fingerprint().String()
	mustCall(t, other, MethodTrust, FingerprintParams{Fingerprint: bobFP, Name: "bob"}, nil)
	if ev := nextEvent(t, events, chat.EventPeerUp); ev.Peer.Fingerprint != bobFP {
		t.Errorf("peer_up for %s, want bob", ev.Peer.Fingerprint)
	}
	// Requests on the subscribed connection still get their answers.
	var peers []*chat.PeerView
	mustCall(t, events, MethodPeers, nil, &peers)
	if !slices.ContainsFunc(peers, func(p *chat.PeerView) bool { return p.Fingerprint == bobFP && p.Linked }) {
		t.Errorf("peers %+v: bob not linked", peers)
	}
	mustCall(t, other, MethodUntrust, FingerprintParams{Fingerprint: bobFP}, nil)
	if ev := nextEvent(t, events, chat.EventPeerDown); ev.Peer.Fingerprint != bobFP {
		t.Errorf("peer_down for %s, want bob", ev.Peer.Fingerprint)
	}
}

func (s *Server) clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func TestControlConcurrentClients(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	cfg := DefaultServerConfig()
	cfg.MaxClients = 4
	h := serveControl(t, c, alice, cfg)
	clients := make([]*Client, cfg.MaxClients)
	for i := range clients {
		clients[i] = h.dial()
	}
	errs := make(chan error, len(clients))
	const each = 10
	for i, cl := range clients {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for j := range each {
				if err := cl.Call(ctx, MethodSend, SendParams{Room: "lobby", Body: fmt.Sprintf("c%d m%d", i, j)}, nil); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var hist []*chat.MessageView
	mustCall(t, clients[0], MethodHistory, nil, &hist)
	if len(hist) != len(clients)*each {
		t.Errorf("history has %d messages, want %d", len(hist), len(clients)*each)
	}

	// One client too many is told the server is busy.
	extra := h.dial()
	if err := callT(t, extra, MethodRooms, nil, nil); !isCode(err, CodeBusy) {
		t.Errorf("client over the limit: %v, want %s", err, CodeBusy)
	}
	clients[0].Close()
	waitFor(t, "a slot to free", func() bool { return h.srv.clients() < cfg.MaxClients })
	if err := callT(t, h.dial(), MethodRooms, nil, nil); err != nil {
		t.Errorf("after a client left: %v", err)
	}
}

func isCode(err error, code string) bool {
	var ce *Error
	return errors.As(err, &ce) && ce.Code == code
}

func TestControlSlowAndVanishingSubscribers(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	cfg := DefaultServerConfig()
	cfg.EventQueue = 8
	cfg.WriteTimeout = 200 * time.Millisecond
	h := serveFed(t, c, alice, cfg)

	// A subscriber that leaves in the middle of a stream.
	gone := h.dial()
	mustCall(t, gone, MethodSubscribe, nil, nil)
	// A subscriber that never reads.
	slow, err := net.Dial("unix", h.path)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := slow.Write([]byte(`{"id":1,"method":"subscribe"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both subscribed", func() bool { return h.srv.clients() == 2 && h.feed.count() == 2 })
	gone.Close()
	big := strings.Repeat("x", 1024)
	// The socket buffer fills, then the queue (events are dropped, never
	// waited for), then the write timeout drops the client.
	waitFor(t, "both subscribers dropped", func() bool {
		for range 1000 {
			h.feed.publish(chat.Event{Kind: chat.EventUntrusted, Reason: big}) // never blocks
		}
		return h.srv.clients() == 0
	})
	// Their subscriptions end too.
	waitFor(t, "no subscription left", func() bool { return h.feed.count() == 0 })
	// The node and the server go on.
	alice.send(t, "lobby", "still alive")
	var hist []*chat.MessageView
	mustCall(t, h.dial(), MethodHistory, nil, &hist)
	if len(hist) != 1 {
		t.Errorf("history %v, want the one message", hist)
	}
}

func TestControlSocketLifecycle(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	c.start(alice)
	c.start(bob)
	dir := socketDir(t)
	path := filepath.Join(dir, SocketName)

	// A socket left by a crashed node: nobody answers, it is replaced.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	srv, err := Listen(alice.service(), path, DefaultServerConfig())
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v (%v), want 0600", info.Mode(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	cl, err := Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	mustCall(t, cl, MethodRooms, nil, nil)

	// A second node on the same socket is refused; the first goes on.
	if _, err := Listen(bob.service(), path, DefaultServerConfig()); !errors.Is(err, ErrInUse) {
		t.Errorf("second node: %v, want ErrInUse", err)
	}
	var id Identity
	mustCall(t, cl, MethodID, nil, &id)
	if id.Fingerprint != alice.id.Fingerprint().String() {
		t.Errorf("after the refused second node the socket answers for %s", id.Short)
	}

	// Shutdown: clients are dropped, the file removed.
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if err := callT(t, cl, MethodRooms, nil, nil); err == nil {
		t.Error("a client was still answered after shutdown")
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after shutdown: %v, want it gone", err)
	}
}

func TestControlRefusesUnsafePlaces(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	c.start(alice)

	open := socketDir(t)
	if err := os.Chmod(open, 0o770); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(alice.service(), filepath.Join(open, SocketName), DefaultServerConfig()); !errors.Is(err, ErrUnsafe) {
		t.Errorf("group-writable dir: %v, want ErrUnsafe", err)
	}

	notSocket := filepath.Join(socketDir(t), SocketName)
	if err := os.WriteFile(notSocket, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(alice.service(), notSocket, DefaultServerConfig()); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("regular file in the way: %v, want a refusal", err)
	}
	if b, err := os.ReadFile(notSocket); err != nil || string(b) != "mine" {
		t.Errorf("the file in the way was changed: %q, %v", b, err)
	}

	long := filepath.Join(socketDir(t), strings.Repeat("d", 120), SocketName)
	if _, err := Listen(alice.service(), long, DefaultServerConfig()); !errors.Is(err, ErrPathTooLong) || !strings.Contains(err.Error(), "shorter data dir") {
		t.Errorf("overlong path: %v, want advice to use a shorter data dir", err)
	}
}

// A client that half-closes after a request without a final newline (as
// `printf '...' | nc -U` does) still gets its answer.
func TestControlLastLineWithoutNewline(t *testing.T) {
	c := newCluster(t)
	h := serveControl(t, c, c.add("alice"), DefaultServerConfig())
	conn, err := net.Dial("unix", h.path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte(`{"id":7,"method":"rooms"}`)); err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.UnixConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line != `{"id":7,"result":["lobby"]}`+"\n" {
		t.Errorf("answer %q (%v), want the rooms", line, err)
	}
}

// TestControlSubscriberIsToldWhatItMissed: a subscriber that falls behind
// loses events (notices first), and gets the message published after the
// flood and an events_dropped line with the count.
func TestControlSubscriberIsToldWhatItMissed(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	cfg := DefaultServerConfig()
	cfg.EventQueue = 8
	h := serveFed(t, c, alice, cfg)
	sub, err := net.Dial("unix", h.path)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := sub.Write([]byte(`{"id":1,"method":"subscribe"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "subscribed", func() bool { return h.feed.count() == 1 })
	big := strings.Repeat("x", 1024)
	for range 5000 { // far more than the socket buffer and the queue hold
		h.feed.publish(chat.Event{Kind: chat.EventUntrusted, Reason: big})
	}
	h.feed.publish(chat.Event{Kind: chat.EventMessage, Message: &chat.MessageView{Body: "after the flood"}})
	dec := json.NewDecoder(sub)
	var dropped uint64
	var message bool
	for !message || dropped == 0 {
		var line struct {
			Event *chat.Event `json:"event"`
		}
		if err := sub.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := dec.Decode(&line); err != nil {
			t.Fatalf("reading events: %v (dropped so far %d)", err, dropped)
		}
		if line.Event == nil {
			continue
		}
		if line.Event.Kind == chat.EventDropped {
			dropped += line.Event.Count
		}
		message = message || line.Event.Kind == chat.EventMessage
	}
	t.Logf("told of %d dropped events", dropped)
}
