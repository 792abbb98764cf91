package web

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/control"
)

// request sends one request to the UI, with headers h (a "Host" entry sets
// the Host header) and the client's cookies, and returns the status and body.
func (li *loggedIn) request(t *testing.T, method, path, body string, h map[string]string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, li.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	if li.c.Jar != nil && req.Header.Get("Cookie") == "" { // the session, whatever the Host header says
		for _, c := range li.c.Jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
	}
	c := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(b)
}

// sameOrigin are the headers of the page's own POSTs.
func (li *loggedIn) sameOrigin(extra map[string]string) map[string]string {
	h := map[string]string{"Origin": li.base, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json",
		csrfHeader: li.csrf}
	for k, v := range extra {
		if v == "" {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	return h
}

func TestWebRefusesWithoutSession(t *testing.T) {
	alice := startNode(t, "alice", freeUDPPort(t), "127.0.0.1:0")
	anon := &loggedIn{c: &http.Client{}, base: strings.TrimSuffix(alice.web.URL(), "/")}
	for _, tt := range []struct{ method, path string }{
		{"GET", "/api/session"}, {"GET", "/api/rooms"}, {"GET", "/api/history?room=lobby"},
		{"GET", "/api/peers"}, {"GET", "/api/trusted"}, {"GET", "/api/events"},
		{"POST", "/api/send"}, {"POST", "/api/join"}, {"POST", "/api/leave"},
		{"POST", "/api/trust"}, {"POST", "/api/untrust"}, {"POST", "/api/logout"},
		{"GET", "/api/conversations"}, {"GET", "/api/members?room=x"}, {"GET", "/api/receipt?room=lobby&seq=1"}, {"GET", "/api/files"},
		{"POST", "/api/send_direct"}, {"POST", "/api/room_create"}, {"POST", "/api/room_invite"}, {"POST", "/api/room_remove"},
		{"POST", "/api/room_leave"}, {"POST", "/api/mark_read"}, {"POST", "/api/presence"}, {"POST", "/api/fetch"}, {"POST", "/api/delete"},
	} {
		body := ""
		if tt.method == "POST" {
			body = `{"room":"lobby","body":"no session"}`
		}
		status, _, got := anon.request(t, tt.method, tt.path, body, map[string]string{"Origin": anon.base, "Content-Type": "application/json"})
		if status != http.StatusUnauthorized || !strings.Contains(got, "lanchat web") {
			t.Errorf("%s %s without a session: %d %s; want 401 with a hint", tt.method, tt.path, status, got)
		}
	}
	// a forged or expired cookie is no session either
	li := alice.login(t)
	good := li.cookie(t)
	forged := *good
	forged.Value = good.Value[:len(good.Value)-2] + "AA"
	if forged.Value == good.Value {
		forged.Value = good.Value[:len(good.Value)-2] + "BB"
	}
	payload, err := alice.web.keys.parseSession(good.Value, time.Now())
	if err != nil {
		t.Fatalf("the session the server set does not parse: %v", err)
	}
	for _, bad := range []string{forged.Value, "", "x.y", strings.Repeat("A", 100)} {
		status, _, _ := anon.request(t, "GET", "/api/rooms", "", map[string]string{"Cookie": good.Name + "=" + bad})
		if status != http.StatusUnauthorized {
			t.Errorf("cookie %q: %d, want 401", bad, status)
		}
	}
	if _, err := alice.web.keys.parseSession(good.Value, time.Now().Add(DefaultConfig().SessionTTL+time.Minute)); !errors.Is(err, errSessionExpired) {
		t.Errorf("a session past its TTL: %v, want expired", err)
	}
	if len(payload) != sessionLength {
		t.Errorf("payload of %d bytes", len(payload))
	}
	if views := alice.history(t, "lobby"); len(views) != 0 {
		t.Errorf("requests without a session stored %d messages", len(views))
	}
}

func TestWebLoginTokenWorksOnce(t *testing.T) {
	alice := startNode(t, "alice", freeUDPPort(t), "127.0.0.1:0")
	u, err := alice.web.LoginURL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok := u[strings.Index(u, "token=")+len("token="):]
	if raw, err := b64.DecodeString(tok); err != nil || len(raw)*8 < 128 {
		t.Fatalf("token %q: %d bits, want ≥ 128", tok, len(raw)*8)
	}
	anon := &loggedIn{c: &http.Client{}, base: strings.TrimSuffix(alice.web.URL(), "/")}
	path := u[len(anon.base):]
	status, h, _ := anon.request(t, "GET", path, "", nil)
	if status != http.StatusSeeOther || h.Get("Location") != "/" {
		t.Fatalf("login: %d to %q, want 303 to / (the token leaves the address bar)", status, h.Get("Location"))
	}
	cookie := h.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("Set-Cookie %q lacks %s", cookie, want)
		}
	}
	if status, _, body := anon.request(t, "GET", path, "", nil); status != http.StatusForbidden || !strings.Contains(body, "lanchat web --open") {
		t.Errorf("second use of the token: %d %q, want 403 with a hint", status, body)
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 43), tok[:len(tok)-1] + "Q"} {
		if status, _, _ := anon.request(t, "GET", "/login?token="+bad, "", nil); status != http.StatusForbidden {
			t.Errorf("token %q: %d, want 403", bad, status)
		}
	}
	// an expired token is refused
	u2, err := alice.web.LoginURL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	alice.web.mu.Lock()
	alice.web.now = func() time.Time { return time.Now().Add(DefaultConfig().LoginTTL + time.Second) }
	alice.web.mu.Unlock()
	if status, _, _ := anon.request(t, "GET", u2[len(anon.base):], "", nil); status != http.StatusForbidden {
		t.Errorf("expired token: %d, want 403", status)
	}
}

func TestWebRefusesForeignHost(t *testing.T) {
	alice := startNode(t, "alice", freeUDPPort(t), "127.0.0.1:0")
	li := alice.login(t)
	port := alice.web.port
	for _, host := range []string{"evil.example:" + port, "evil.example", "127.0.0.1:1", "localhost.evil.example:" + port,
		"192.168.1.10:" + port, "127.0.0.1." + ":" + port} {
		for _, path := range []string{"/", "/app.js", "/api/rooms", "/api/events"} {
			status, h, _ := li.request(t, "GET", path, "", map[string]string{"Host": host})
			if status != http.StatusForbidden {
				t.Errorf("Host %q %s: %d, want 403", host, path, status)
			}
			if h.Get("Content-Security-Policy") == "" {
				t.Errorf("Host %q %s: the refusal has no CSP", host, path)
			}
		}
	}
	status, _, _ := li.request(t, "POST", "/api/send", `{"room":"lobby","body":"rebound"}`, li.sameOrigin(map[string]string{"Host": "evil.example:" + port, "Origin": "http://evil.example:" + port}))
	if status != http.StatusForbidden {
		t.Errorf("rebinding POST: %d, want 403", status)
	}
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port} {
		if status, _, _ := li.request(t, "GET", "/api/rooms", "", map[string]string{"Host": host}); status != http.StatusOK {
			t.Errorf("Host %q: %d, want 200", host, status)
		}
	}
	if hasBody(alice.history(t, "lobby"), "rebound") {
		t.Error("a rebinding request was sent")
	}
}

func TestWebRefusesForeignOriginAndMissingCSRF(t *testing.T) {
	alice := startNode(t, "alice", freeUDPPort(t), "127.0.0.1:0")
	li := alice.login(t)
	other := "http://127.0.0.1:1" // same site (cookies are sent), another origin
	send := func(h map[string]string) int {
		status, _, _ := li.request(t, "POST", "/api/send", `{"room":"lobby","body":"forged"}`, h)
		return status
	}
	for _, tt := range []struct {
		name string
		h    map[string]string
		want int
	}{
		{"foreign Origin", li.sameOrigin(map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}), 403},
		{"another port on this machine", li.sameOrigin(map[string]string{"Origin": other, "Sec-Fetch-Site": "same-site"}), 403},
		{"null Origin", li.sameOrigin(map[string]string{"Origin": "null"}), 403},
		{"same-site without Origin", li.sameOrigin(map[string]string{"Origin": "", "Sec-Fetch-Site": "same-site"}), 403},
		{"no CSRF token", li.sameOrigin(map[string]string{csrfHeader: ""}), 403},
		{"wrong CSRF token", li.sameOrigin(map[string]string{csrfHeader: li.csrf[:len(li.csrf)-1] + "x"}), 403},
		{"no origin proof at all", li.sameOrigin(map[string]string{"Origin": "", "Sec-Fetch-Site": ""}), 403},
		{"a form's content type", li.sameOrigin(map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), 415},
		{"text/plain", li.sameOrigin(map[string]string{"Content-Type": "text/plain"}), 415},
	} {
		if got := send(tt.h); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	for _, path := range []string{"/api/history?room=lobby", "/api/events", "/api/session", "/"} {
		for _, h := range []map[string]string{
			{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
			{"Origin": other, "Sec-Fetch-Site": "same-site"},
			{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"},
		} {
			if status, _, _ := li.request(t, "GET", path, "", h); status != http.StatusForbidden {
				t.Errorf("GET %s with %v: %d, want 403", path, h, status)
			}
		}
	}
	if status, h, _ := li.request(t, "OPTIONS", "/api/send", "", map[string]string{"Origin": "http://evil.example",
		"Access-Control-Request-Method": "POST"}); status < 400 || h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS preflight: %d, ACAO %q; want refused, no CORS", status, h.Get("Access-Control-Allow-Origin"))
	}
	if hasBody(alice.history(t, "lobby"), "forged") {
		t.Fatal("a cross-origin or CSRF-less request was sent")
	}
	// every state-changing route of the conversations, receipts, presence,
	// files and delete needs the token and the same origin too
	for _, path := range []string{"/api/send_direct", "/api/room_create", "/api/room_invite", "/api/room_remove",
		"/api/room_leave", "/api/mark_read", "/api/presence", "/api/fetch", "/api/delete"} {
		for name, h := range map[string]map[string]string{
			"no CSRF token":  li.sameOrigin(map[string]string{csrfHeader: ""}),
			"foreign Origin": li.sameOrigin(map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}),
		} {
			if status, _, _ := li.request(t, "POST", path, `{"name":"forged"}`, h); status != http.StatusForbidden {
				t.Errorf("POST %s with %s: %d, want 403", path, name, status)
			}
		}
	}
	if prs, err := alice.node.PrivateRooms(context.Background()); err != nil || len(prs) != 0 {
		t.Errorf("a forged room_create made a room: %v %v", prs, err)
	}
	// the page's own request goes through
	if got := send(li.sameOrigin(nil)); got != http.StatusOK {
		t.Fatalf("same-origin send with the CSRF token: %d, want 200", got)
	}
	if !hasBody(alice.history(t, "lobby"), "forged") {
		t.Fatal("the same-origin send is not in the history")
	}
}

func TestWebSecurityHeadersOnEveryResponse(t *testing.T) {
	alice := startNode(t, "alice", freeUDPPort(t), "127.0.0.1:0")
	li := alice.login(t)
	anon := &loggedIn{c: &http.Client{}, base: li.base}
	for _, tt := range []struct {
		c          *loggedIn
		method     string
		path       string
		h          map[string]string
		wantStatus int
	}{
		{li, "GET", "/", nil, 200},
		{li, "GET", "/app.js", nil, 200},
		{li, "GET", "/app.css", nil, 200},
		{li, "GET", "/api/rooms", nil, 200},
		{anon, "GET", "/api/rooms", nil, 401},
		{anon, "GET", "/login?token=bad", nil, 403},
		{anon, "GET", "/nothing", nil, 404},
		{li, "GET", "/", map[string]string{"Host": "evil.example"}, 403},
		{li, "POST", "/api/send", map[string]string{"Origin": "http://evil.example"}, 403},
	} {
		status, h, _ := tt.c.request(t, tt.method, tt.path, "", tt.h)
		if status != tt.wantStatus {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, status, tt.wantStatus)
		}
		csp := h.Get("Content-Security-Policy")
		for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*"} {
			if strings.Contains(csp, bad) {
				t.Errorf("%s: CSP %q has %s", tt.path, csp, bad)
			}
		}
		for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", tt.path, csp, want)
			}
		}
		for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
			"Referrer-Policy": "no-referrer", "Access-Control-Allow-Origin": ""} {
			if got := h.Get(k); got != want {
				t.Errorf("%s %s: %s %q, want %q", tt.method, tt.path, k, got, want)
			}
		}
	}
}

func TestWebAssetsHaveNoThirdPartyOrInlineCode(t *testing.T) {
	entries, err := assets.ReadDir("assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := assets.ReadFile("assets/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, bad := range []string{"http://", "https://", "//cdn", "innerHTML", "outerHTML", "insertAdjacentHTML",
			"document.write", "eval(", "new Function", " onclick=", " onerror=", " onload=", "style=\""} {
			if strings.Contains(s, bad) && !(bad == "http://" && strings.HasSuffix(e.Name(), ".svg")) {
				t.Errorf("%s contains %q", e.Name(), bad)
			}
		}
		if strings.HasSuffix(e.Name(), ".html") && strings.Contains(s, "<script>") {
			t.Errorf("%s has an inline script", e.Name())
		}
	}
}

func TestWebKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, KeyFileName)
	k1, err := loadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	k2, err := loadKey(path)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("reloaded key differs (%v): sessions would not survive a restart", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadKey(path); !errors.Is(err, ErrKeyExposed) {
		t.Errorf("a key readable by others: %v, want ErrKeyExposed", err)
	}
	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadKey(short); !errors.Is(err, ErrKeyDamaged) {
		t.Errorf("a 3-byte key: %v, want ErrKeyDamaged", err)
	}
	if b, _ := os.ReadFile(short); string(b) != "abc" {
		t.Error("a damaged key file was overwritten")
	}
}

func TestCheckAddr(t *testing.T) {
	for _, tt := range []struct {
		addr   string
		remote bool
		want   string
		err    error
	}{
		{"127.0.0.1:47180", false, "127.0.0.1:47180", nil},
		{"localhost:0", false, "127.0.0.1:0", nil},
		{"[::1]:8080", false, "[::1]:8080", nil},
		{"0.0.0.0:47180", false, "", ErrRemote},
		{"192.168.1.2:47180", false, "", ErrRemote},
		{"0.0.0.0:47180", true, "0.0.0.0:47180", nil},
		{"example.com:80", true, "", errors.New("host")},
		{"127.0.0.1", false, "", errors.New("HOST:PORT")},
		{"127.0.0.1:http", false, "", errors.New("port")},
		{"127.0.0.1:70000", false, "", errors.New("port")},
	} {
		got, _, err := CheckAddr(tt.addr, tt.remote)
		switch {
		case tt.err == nil && err != nil:
			t.Errorf("%q: %v", tt.addr, err)
		case tt.err == ErrRemote && !errors.Is(err, ErrRemote):
			t.Errorf("%q: %v, want ErrRemote", tt.addr, err)
		case tt.err != nil && err == nil:
			t.Errorf("%q: accepted as %q", tt.addr, got)
		case got != tt.want:
			t.Errorf("%q: %q, want %q", tt.addr, got, tt.want)
		}
	}
	if _, err := Listen(Config{Addr: "0.0.0.0:0", KeyFile: filepath.Join(t.TempDir(), "k")}); !errors.Is(err, ErrRemote) {
		t.Errorf("Listen on 0.0.0.0 without AllowRemote: %v, want ErrRemote", err)
	}
}

func TestWebAPIThroughControl(t *testing.T) {
	port := freeUDPPort(t)
	alice := startNode(t, "alice", port, "127.0.0.1:0")
	bob := startNode(t, "bob", port, "")
	trustEachOther(t, alice, bob, "bob")
	li := alice.login(t)
	var rooms []string
	if err := li.getJSON("/api/rooms", &rooms); err != nil || len(rooms) != 1 || rooms[0] != "lobby" {
		t.Fatalf("rooms: %v %v", rooms, err)
	}
	if status, _, body := li.request(t, "POST", "/api/join", `{"room":"ops"}`, li.sameOrigin(nil)); status != 200 {
		t.Fatalf("join: %d %s", status, body)
	}
	if status, _, body := li.request(t, "POST", "/api/send", `{"room":"nowhere","body":"x"}`, li.sameOrigin(nil)); status != http.StatusConflict || !strings.Contains(body, "join it first") {
		t.Errorf("send to a room not joined: %d %s, want 409 with a hint", status, body)
	}
	if status, _, body := li.request(t, "POST", "/api/trust", `{"fingerprint":"AAAA"}`, li.sameOrigin(nil)); status != http.StatusBadRequest || !strings.Contains(body, "bad_fingerprint") {
		t.Errorf("trust of a bad fingerprint: %d %s, want 400 bad_fingerprint", status, body)
	}
	if status, _, body := li.request(t, "POST", "/api/send", `{"room":"lobby","body":"x","extra":1}`, li.sameOrigin(nil)); status != http.StatusBadRequest {
		t.Errorf("unknown field: %d %s, want 400", status, body)
	}
	big := `{"room":"lobby","body":"` + strings.Repeat("x", int(DefaultConfig().MaxRequestBody)) + `"}`
	if status, _, _ := li.request(t, "POST", "/api/send", big, li.sameOrigin(nil)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the limit: %d, want 413", status)
	}
	if _, err := bob.node.Send(context.Background(), control.SendParams{Room: "lobby", Body: "from bob"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob's message at alice", func() bool { return hasBody(alice.history(t, "lobby"), "from bob") })
	var found []*control.MessageView
	if err := li.getJSON("/api/history?grep=FROM+BOB", &found); err != nil || len(found) != 1 || found[0].Body != "from bob" {
		t.Fatalf("search: %v %v, want bob's message (case-insensitive, as history --grep)", found, err)
	}
}

func TestWebNeverServesSecrets(t *testing.T) {
	alice := startNode(t, "alice", freeUDPPort(t), "127.0.0.1:0")
	li := alice.login(t)
	secret := alice.id.MarshalSecret()
	key, err := os.ReadFile(filepath.Join(alice.dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	var needles []string
	for _, half := range [][]byte{secret[:32], secret[32:], key} {
		needles = append(needles, hex.EncodeToString(half), base64.StdEncoding.EncodeToString(half)[:40],
			base64.RawURLEncoding.EncodeToString(half)[:40])
	}
	for _, path := range []string{"/", "/app.js", "/api/session", "/api/peers", "/api/trusted", "/api/rooms", "/api/history"} {
		status, _, body := li.request(t, "GET", path, "", nil)
		if status != http.StatusOK {
			t.Fatalf("%s: %d", path, status)
		}
		for _, n := range needles {
			if strings.Contains(body, n) {
				t.Fatalf("%s serves secret key material", path)
			}
		}
	}
}

func TestWebLogout(t *testing.T) {
	alice := startNode(t, "alice", freeUDPPort(t), "127.0.0.1:0")
	li := alice.login(t)
	if status, _, body := li.request(t, "POST", "/api/logout", "{}", li.sameOrigin(nil)); status != 200 {
		t.Fatalf("logout: %d %s", status, body)
	}
	// the browser forgets the cookie; a request without it is refused again
	li.c.Jar.SetCookies(mustURL(t, li.base), []*http.Cookie{{Name: li.cookie(t).Name, MaxAge: -1}})
	if status, _, _ := li.request(t, "GET", "/api/rooms", "", nil); status != http.StatusUnauthorized {
		t.Errorf("after logout: %d, want 401", status)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
