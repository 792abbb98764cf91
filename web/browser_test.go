package web

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/control"
	"github.com/lanchat/lanchat/internal/webdriver"
)

// PageForTests is the page's PAGE: messages fetched per step of scrolling back.
const PageForTests = 200

var screenshotOut = flag.String("screenshot", "", "run TestBrowserScreenshotForDocs and write its screenshot to this file (make web-screenshot: docs/web-ui.png)")

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	webdriver.CloseShared()
	os.Exit(code)
}

// page is the test binary's one browser session.
func page(t *testing.T) *webdriver.Session { return webdriver.Shared(t) }

// ctxT is a context for one browser step.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventuallyJS polls a script until it returns true.
func eventuallyJS(t *testing.T, s *webdriver.Session, what, script string, args ...any) {
	t.Helper()
	waitFor(t, what+" (in the page)", func() bool {
		var ok bool
		err := s.Execute(ctxT(t), script, &ok, args...)
		return err == nil && ok
	})
}

// jsString runs script and returns its string result.
func jsString(t *testing.T, s *webdriver.Session, script string, args ...any) string {
	t.Helper()
	var v string
	if err := s.Execute(ctxT(t), script, &v, args...); err != nil {
		t.Fatal(err)
	}
	return v
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// open logs the browser in to tn's UI with a fresh login URL and waits for
// the page to show room.
func open(t *testing.T, s *webdriver.Session, tn *testNode, room string) {
	t.Helper()
	u, err := tn.web.LoginURL(context.Background())
	must(t, err)
	must(t, s.Navigate(ctxT(t), u))
	got, err := s.URL(ctxT(t))
	must(t, err)
	if strings.Contains(got, "token") {
		t.Errorf("after login the address bar still shows the token: %s", got)
	}
	eventuallyJS(t, s, "the page to show #"+room, `return document.getElementById("room-title").textContent === arguments[0] && document.getElementById("me").textContent !== ""`, "#"+room)
}

// messagesText is the text of the current room's message list.
const messagesText = `return document.getElementById("messages").innerText`

func TestBrowserChat(t *testing.T) {
	s := page(t)
	port := freeUDPPort(t)
	alice := startNode(t, "alice", port, "127.0.0.1:0")
	bob := startNode(t, "bob", port, "")
	trustEachOther(t, alice, bob, "") // bob's own nickname is shown
	ctx := context.Background()
	open(t, s, alice, "lobby")
	must(t, s.Execute(ctxT(t), `window.lanchatNoReload = 42`, nil))

	// the composer is found by its accessible name; Enter sends
	box, err := s.Find(ctxT(t), "textarea")
	must(t, err)
	label, err := box.Label(ctxT(t))
	must(t, err)
	if label != "Message" {
		t.Errorf("the composer's accessible name is %q, want Message", label)
	}
	must(t, box.SendKeys(ctxT(t), "hello from the page"+webdriver.KeyEnter))
	waitFor(t, "the page's message in bob's history", func() bool { return hasBody(bob.history(t, "lobby"), "hello from the page") })
	// Shift+Enter is a new line, not a send
	must(t, box.SendKeys(ctxT(t), "line one"+webdriver.KeyShift+webdriver.KeyEnter+webdriver.KeyNull+"line two"+webdriver.KeyEnter))
	waitFor(t, "the two-line message at bob", func() bool { return hasBody(bob.history(t, "lobby"), "line one\nline two") })

	// bob's messages appear live, without a reload, and peer HTML stays text
	xss := []string{
		`<img src=x onerror="document.title='pwned-img'">`,
		`<script>document.title='pwned-script'</script>`,
		`<a href="javascript:document.title='pwned-link'">click</a>`,
	}
	if _, err := bob.node.SetNick(ctx, `<img src=y onerror=document.title='pwned-nick'>`); err != nil {
		t.Fatalf("nick: %v", err)
	}
	for _, body := range append([]string{"hi page, bob here"}, xss...) {
		if _, err := bob.node.Send(ctx, control.SendParams{Room: "lobby", Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	eventuallyJS(t, s, "bob's messages in the page", `const t = document.getElementById("messages").innerText; return arguments[0].every(b => t.includes(b))`,
		append([]string{"hi page, bob here"}, xss...))
	var inert struct {
		Title   string `json:"title"`
		Imgs    int    `json:"imgs"`
		Scripts int    `json:"scripts"`
		Links   int    `json:"links"`
		Same    int    `json:"same"`
	}
	must(t, s.Execute(ctxT(t), `const m = document.getElementById("messages");
		return {title: document.title, imgs: m.querySelectorAll("img").length, scripts: document.querySelectorAll("script").length,
			links: m.querySelectorAll("a").length, same: window.lanchatNoReload}`, &inert))
	if strings.Contains(inert.Title, "pwned") || inert.Imgs != 0 || inert.Scripts != 1 || inert.Links != 0 {
		t.Errorf("peer HTML was not inert: %+v", inert)
	}
	if inert.Same != 42 {
		t.Errorf("the page reloaded (marker %d)", inert.Same)
	}
	if text := jsString(t, s, messagesText); !strings.Contains(text, "<img src=y onerror=") {
		t.Errorf("bob's HTML nickname is not shown as text:\n%s", text)
	}

	// the size bound is shown before sending, and nothing is cut or sent
	long := strings.Repeat("é", control.MaxBodyBytes/2+1) // over by 2 bytes
	must(t, s.Execute(ctxT(t), `const b = document.getElementById("message"); b.value = arguments[0]; b.dispatchEvent(new Event("input"))`, nil, long))
	size := jsString(t, s, `return document.getElementById("size").textContent`)
	if !strings.Contains(size, "2 bytes too long") {
		t.Errorf("size notice %q, want how much too long", size)
	}
	must(t, box.SendKeys(ctxT(t), webdriver.KeyEnter))
	if v := jsString(t, s, `return document.getElementById("message").value`); v != long {
		t.Errorf("the composer lost the over-long text (%d bytes left)", len(v))
	}
	must(t, s.Execute(ctxT(t), `const b = document.getElementById("message"); b.value = ""; b.dispatchEvent(new Event("input"))`, nil))

	// join a room: it is current; a message in another room counts as unread
	join, err := s.Find(ctxT(t), `input[aria-label="Room to join"]`)
	must(t, err)
	// a refused request is a notice saying why, not a silent failure
	must(t, join.SendKeys(ctxT(t), "Bad Room!"+webdriver.KeyEnter))
	eventuallyJS(t, s, "a notice for the bad room name", `return document.getElementById("notices").innerText.includes("join: ")`)
	must(t, join.SendKeys(ctxT(t), "ops"+webdriver.KeyEnter))
	eventuallyJS(t, s, "#ops to be current", `return document.getElementById("room-title").textContent === "#ops"`)
	if rooms, _ := alice.node.Rooms(ctx); strings.Join(rooms, ",") != "lobby,ops" {
		t.Errorf("alice's rooms after join in the page: %v", rooms)
	}
	if _, err := bob.node.Send(ctx, control.SendParams{Room: "lobby", Body: "while you are in ops"}); err != nil {
		t.Fatal(err)
	}
	eventuallyJS(t, s, "an unread count on #lobby and in the title",
		`const b = [...document.querySelectorAll("#rooms button")].find(b => b.textContent.startsWith("#lobby"));
		 return b && b.getAttribute("aria-label") === "#lobby, 1 unread" && document.title.startsWith("(1) ")`)
	if msgs := jsString(t, s, messagesText); strings.Contains(msgs, "while you are in ops") {
		t.Errorf("a #lobby message shows in #ops:\n%s", msgs)
	}

	// search finds across rooms, case-insensitively
	search, err := s.Find(ctxT(t), `input[aria-label="Search history"]`)
	must(t, err)
	must(t, search.SendKeys(ctxT(t), "HELLO FROM"+webdriver.KeyEnter))
	eventuallyJS(t, s, "the search result", `const r = document.getElementById("search-results"); return !r.hidden && r.innerText.includes("hello from the page")`)
	close, err := s.Find(ctxT(t), "#search-close")
	must(t, err)
	must(t, close.Click(ctxT(t)))

	// leave it again; back in lobby, the unread count is gone
	leave, err := s.Find(ctxT(t), "#leave")
	must(t, err)
	must(t, leave.Click(ctxT(t)))
	eventuallyJS(t, s, "#ops to be gone, #lobby current", `return document.getElementById("room-title").textContent === "#lobby" &&
		![...document.querySelectorAll("#rooms button")].some(b => b.textContent.startsWith("#ops")) && !document.title.startsWith("(")`)
	if rooms, _ := alice.node.Rooms(ctx); strings.Join(rooms, ",") != "lobby" {
		t.Errorf("alice's rooms after leave in the page: %v", rooms)
	}
	if text := jsString(t, s, messagesText); !strings.Contains(text, "while you are in ops") {
		t.Errorf("#lobby lacks the message that arrived while away:\n%s", text)
	}

	// what the page shows: author, short fingerprint, a date separator
	var shape struct {
		Days     int    `json:"days"`
		FirstFP  string `json:"fp"`
		Composer string `json:"composer"`
	}
	must(t, s.Execute(ctxT(t), `return {days: document.querySelectorAll("#messages .day").length,
		fp: document.querySelector("#messages .msg .fp").textContent, composer: document.activeElement.id}`, &shape))
	aliceID, _ := alice.node.Identity(ctx)
	if shape.Days != 1 || shape.FirstFP != aliceID.Short {
		t.Errorf("page shape %+v; want one date separator and alice's short fingerprint %s first", shape, aliceID.Short)
	}
	shot(t, s, "chat")

	// keyboard, on a fresh load (the session stays): the first Tab reaches
	// the skip link, Enter on it the composer
	must(t, s.Navigate(ctxT(t), alice.web.URL()))
	eventuallyJS(t, s, "the page again", `return document.getElementById("me").textContent !== ""`)
	must(t, s.PressKeys(ctxT(t), webdriver.KeyTab))
	if f := jsString(t, s, `return document.activeElement.textContent`); f != "Skip to the message box" {
		t.Errorf("the first Tab focuses %q, want the skip link", f)
	}
	must(t, s.PressKeys(ctxT(t), webdriver.KeyEnter))
	eventuallyJS(t, s, "the composer focused from the skip link", `return document.activeElement.id === "message"`)

	// 200 % zoom of a 1280-pixel window is 640 CSS pixels: nothing scrolls
	// sideways and the composer stays on screen
	must(t, s.SetWindowSize(ctxT(t), 640, 700))
	var fit struct {
		Overflow bool `json:"overflow"`
		Composer bool `json:"composer"`
	}
	waitFor(t, "the narrow layout", func() bool {
		err := s.Execute(ctxT(t), `const r = document.getElementById("message").getBoundingClientRect();
			return {overflow: document.documentElement.scrollWidth > window.innerWidth,
				composer: r.width > 200 && r.right <= window.innerWidth}`, &fit)
		return err == nil && fit.Composer
	})
	if fit.Overflow {
		t.Error("at 640 CSS pixels (200 % zoom) the page scrolls sideways")
	}
	shot(t, s, "narrow")
	must(t, s.SetWindowSize(ctxT(t), 1280, 860))
}

// shot saves a screenshot of the page for a person to look at (in the
// test's temp dir, or $LANCHAT_WEB_SHOTS; -screenshot FILE for "docs").
func shot(t *testing.T, s *webdriver.Session, name string) {
	t.Helper()
	png, err := s.Screenshot(ctxT(t))
	must(t, err)
	if len(png) < 1000 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot: %d bytes, not a PNG", len(png))
	}
	dir := os.Getenv("LANCHAT_WEB_SHOTS") // to keep them: a directory
	if dir == "" {
		dir = t.TempDir()
	}
	path := dir + "/" + name + ".png"
	if *screenshotOut != "" && name == "docs" {
		path = *screenshotOut
	}
	must(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
}

func TestBrowserTrustFlow(t *testing.T) {
	s := page(t)
	port := freeUDPPort(t)
	alice := startNode(t, "alice", port, "127.0.0.1:0")
	carol := startNode(t, "carol", port, "")
	ctx := context.Background()
	if _, err := carol.node.Trust(ctx, control.FingerprintParams{Fingerprint: alice.fingerprint(t), Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	open(t, s, alice, "lobby")
	fp := carol.fingerprint(t)
	carolID, _ := carol.node.Identity(ctx)
	name := "unnamed (" + carolID.Short + ")" // a peer not linked has told no nickname
	eventuallyJS(t, s, "carol among the peers, not trusted",
		`const li = document.querySelector('#peers li[data-fingerprint="'+arguments[0]+'"]'); return !!li && li.innerText.includes("around, not trusted")`, fp)
	btn, err := s.Find(ctxT(t), `#peers button[aria-label="Trust `+name+`"]`)
	must(t, err)
	must(t, btn.Click(ctxT(t)))
	eventuallyJS(t, s, "the trust dialog", `return document.getElementById("trust-dialog").open`)
	var groups []string
	must(t, s.Execute(ctxT(t), `return [...document.querySelectorAll("#trust-fp .group")].map(g => g.textContent)`, &groups))
	if strings.Join(groups, "-") != fp || len(groups) != 8 {
		t.Fatalf("the dialog shows %v; want carol's fingerprint in 8 groups, %s", groups, fp)
	}
	ok, err := s.Find(ctxT(t), "#trust-ok")
	must(t, err)
	var disabled bool
	must(t, ok.Property(ctxT(t), "disabled", &disabled))
	if !disabled {
		t.Error("Trust is enabled before the user says the groups match")
	}
	same, err := s.Find(ctxT(t), "#trust-same")
	must(t, err)
	if l, _ := same.Label(ctxT(t)); !strings.Contains(l, "same as what they read") {
		t.Errorf("the comparison checkbox's name is %q", l)
	}
	nameBox, err := s.Find(ctxT(t), "#trust-name")
	must(t, err)
	if l, _ := nameBox.Label(ctxT(t)); l != "Name on your trust list" {
		t.Errorf("the name box's accessible name is %q", l)
	}
	must(t, nameBox.SendKeys(ctxT(t), "carol"))
	must(t, same.Click(ctxT(t)))
	must(t, ok.Click(ctxT(t)))
	waitFor(t, "carol on alice's trust list", func() bool {
		tr, err := alice.node.Trusted(ctx)
		return err == nil && len(tr) == 1 && tr[0].Fingerprint == fp && tr[0].Name == "carol"
	})
	eventuallyJS(t, s, "carol linked in the page",
		`const li = document.querySelector('#peers li[data-fingerprint="'+arguments[0]+'"]'); return !!li && li.querySelector(".state").textContent === "linked"`, fp)

	// untrust, after a confirmation
	un, err := s.Find(ctxT(t), `#peers button[aria-label="Untrust carol (`+carolID.Short+`)"]`)
	must(t, err)
	must(t, un.Click(ctxT(t)))
	text, err := s.AlertText(ctxT(t))
	must(t, err)
	if !strings.Contains(text, "Untrust carol") {
		t.Errorf("confirmation %q", text)
	}
	must(t, s.AcceptAlert(ctxT(t)))
	waitFor(t, "carol off alice's trust list", func() bool {
		tr, err := alice.node.Trusted(ctx)
		return err == nil && len(tr) == 0
	})
	eventuallyJS(t, s, "carol untrusted in the page",
		`const li = document.querySelector('#peers li[data-fingerprint="'+arguments[0]+'"]'); return !li || !li.innerText.includes("linked")`, fp)
}

func TestBrowserReconnectsAfterRestart(t *testing.T) {
	s := page(t)
	port := freeUDPPort(t)
	alice := startNode(t, "alice", port, "127.0.0.1:0")
	addr := alice.web.Addr().String()
	open(t, s, alice, "lobby")
	must(t, s.Execute(ctxT(t), `window.lanchatNoReload = 7`, nil))
	alice.stop()
	eventuallyJS(t, s, "the node-down notice", `return !document.getElementById("down").hidden`)
	if txt := jsString(t, s, `return document.getElementById("down").innerText`); !strings.Contains(txt, "lanchat up") {
		t.Errorf("down notice %q does not say what to do", txt)
	}
	alice.start(t, addr) // same database, key file and address
	eventuallyJS(t, s, "the page to reconnect", `return document.getElementById("down").hidden && document.getElementById("login").hidden`)
	if _, err := alice.node.Send(context.Background(), control.SendParams{Room: "lobby", Body: "after the restart"}); err != nil {
		t.Fatal(err)
	}
	eventuallyJS(t, s, "a message after the restart, live", `return document.getElementById("messages").innerText.includes("after the restart") && window.lanchatNoReload === 7`)
}

// evilPage is a page of another origin on this machine (same site: the
// browser sends it the UI's SameSite=Strict cookie's site) that tries to
// read and change the UI. It reports what it managed in document.title.
const evilScript = `
const ui = new URLSearchParams(location.search).get("ui");
const out = {};
async function run() {
  try { const r = await fetch(ui + "api/history?room=lobby", {credentials: "include"}); out.read = "read:" + r.status + ":" + (await r.text()).slice(0, 40); }
  catch (e) { out.read = "blocked"; }
  try { await fetch(ui + "api/send", {method: "POST", mode: "no-cors", credentials: "include", headers: {"Content-Type": "text/plain"},
      body: JSON.stringify({room: "lobby", body: "csrf-fetch"})}); out.post = "sent"; }
  catch (e) { out.post = "blocked"; }
  try { await fetch(ui + "api/send", {method: "POST", credentials: "include", headers: {"Content-Type": "application/json", "X-Lanchat-Csrf": "guess"},
      body: JSON.stringify({room: "lobby", body: "csrf-preflight"})}); out.preflight = "sent"; }
  catch (e) { out.preflight = "blocked"; }
  out.events = await new Promise((res) => {
    const es = new EventSource(ui + "api/events", {withCredentials: true});
    es.onmessage = () => { es.close(); res("read"); };
    es.onerror = () => { es.close(); res("blocked"); };
  });
  const f = document.createElement("form");
  f.method = "POST"; f.action = ui + "api/send"; f.enctype = "text/plain"; f.target = "sink";
  const i = document.createElement("input"); i.name = '{"room":"lobby","body":"csrf-form","x":"'; i.value = '"}';
  f.append(i); document.body.append(f); f.submit();
  out.form = "submitted";
  document.title = "done " + JSON.stringify(out);
}
run();
`

func TestBrowserForeignPageCannotReadOrPost(t *testing.T) {
	s := page(t)
	alice := startNode(t, "alice", freeUDPPort(t), "127.0.0.1:0")
	if _, err := alice.node.Send(context.Background(), control.SendParams{Room: "lobby", Body: "a secret"}); err != nil {
		t.Fatal(err)
	}
	open(t, s, alice, "lobby") // the browser holds a session

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	evil := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/evil.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, evilScript)
		default:
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<!doctype html><title>evil</title><iframe name="sink"></iframe><iframe id="frame" src="`+alice.web.URL()+`"></iframe><script src="/evil.js"></script>`)
		}
	})}
	go evil.Serve(ln)
	t.Cleanup(func() { evil.Close() })
	for _, origin := range []string{"http://" + ln.Addr().String(), "http://localhost:" + strings.Split(ln.Addr().String(), ":")[1]} {
		must(t, s.Navigate(ctxT(t), origin+"/?ui="+alice.web.URL()))
		eventuallyJS(t, s, "the foreign page to finish", `return document.title.startsWith("done ")`)
		var out map[string]string
		must(t, json.Unmarshal([]byte(strings.TrimPrefix(jsString(t, s, `return document.title`), "done ")), &out))
		if out["read"] != "blocked" || out["events"] != "blocked" || out["preflight"] != "blocked" {
			t.Errorf("a page of %s read or posted: %v", origin, out)
		}
		// the frame of the UI inside the foreign page is refused (frame-ancestors 'none')
		var framed bool
		must(t, s.Execute(ctxT(t), `try { return !!document.getElementById("frame").contentDocument.getElementById("composer"); } catch (e) { return false; }`, &framed))
		if framed {
			t.Errorf("the UI rendered inside a page of %s", origin)
		}
	}
	// give the no-cors and form posts the time to arrive: the page only
	// reports having fired them, so ask the node after a round trip of its own
	res, err := http.Get(alice.web.URL() + "app.css")
	must(t, err)
	res.Body.Close()
	for _, body := range []string{"csrf-fetch", "csrf-preflight", "csrf-form"} {
		if hasBody(alice.history(t, "lobby"), body) {
			t.Errorf("a foreign page sent %q", body)
		}
	}
	// and the session itself still works for the real page
	open(t, s, alice, "lobby")
	if !strings.Contains(jsString(t, s, messagesText), "a secret") {
		t.Error("the real page no longer shows the history")
	}
	_ = errors.New
}

// TestBrowserScreenshotForDocs makes the README's screenshot: a few
// messages between three people, an unread room, the peers. It runs with
// -screenshot FILE only (make web-screenshot).
func TestBrowserScreenshotForDocs(t *testing.T) {
	if *screenshotOut == "" {
		t.Skip("only with -screenshot FILE (make web-screenshot)")
	}
	s := page(t)
	port := freeUDPPort(t)
	alice := startNode(t, "alice", port, "127.0.0.1:0")
	bob := startNode(t, "bob", port, "")
	carol := startNode(t, "carol", port, "")
	trustEachOther(t, alice, bob, "bob")
	trustEachOther(t, alice, carol, "carol")
	ctx := context.Background()
	for _, n := range []*testNode{alice, bob, carol} {
		if _, err := n.node.Join(ctx, "ops"); err != nil {
			t.Fatal(err)
		}
	}
	say := func(n *testNode, room, body string) { // each after the one before has reached everyone: a natural order
		t.Helper()
		if _, err := n.node.Send(ctx, control.SendParams{Room: room, Body: body}); err != nil {
			t.Fatal(err)
		}
		for _, m := range []*testNode{alice, bob, carol} {
			waitFor(t, body+" at "+m.name, func() bool { return hasBody(m.history(t, room), body) })
		}
	}
	say(bob, "lobby", "morning! is the build server back?")
	say(alice, "lobby", "yes, since 9:10. I re-ran last night's jobs")
	say(bob, "lobby", "great, thanks!\nlunch at 12:30?")
	open(t, s, alice, "lobby")
	say(carol, "ops", "disk on nas-2 is at 91%")
	say(bob, "ops", "on it")
	eventuallyJS(t, s, "the unread count on #ops", `return document.title.startsWith("(2) ")`)
	box, err := s.Find(ctxT(t), "textarea")
	must(t, err)
	must(t, box.SendKeys(ctxT(t), "sure, 12:30 works"))
	shot(t, s, "docs")
}

// Scrolling up fetches older messages, keeping the order; a peer that
// trusts nobody back shows as refusing; notifications, once allowed, come
// for a room not on screen.
func TestBrowserScrollBackRefusingAndNotifications(t *testing.T) {
	s := page(t)
	port := freeUDPPort(t)
	alice := startNode(t, "alice", port, "127.0.0.1:0")
	dave := startNode(t, "dave", port, "")
	ctx := context.Background()
	const stored = PageForTests + 50
	for i := range stored {
		if _, err := alice.node.Send(ctx, control.SendParams{Room: "lobby", Body: fmt.Sprintf("old message %03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.node.Join(ctx, "ops"); err != nil {
		t.Fatal(err)
	}
	open(t, s, alice, "lobby")
	eventuallyJS(t, s, "one page of messages at first", `return document.querySelectorAll("#messages .msg").length === arguments[0]`, PageForTests)
	eventuallyJS(t, s, "every message after scrolling up", `const m = document.getElementById("messages"); m.scrollTop = 0; m.dispatchEvent(new Event("scroll"));
		const bodies = [...m.querySelectorAll(".msg .body")].map(b => b.textContent);
		return bodies.length === arguments[0] && bodies[0] === "old message 000" && bodies[bodies.length-1] === arguments[1] &&
			m.innerText.includes("start of #lobby")`, stored, fmt.Sprintf("old message %03d", stored-1))

	// dave is trusted here but does not trust alice: he refuses the link
	if _, err := alice.node.Trust(ctx, control.FingerprintParams{Fingerprint: dave.fingerprint(t), Name: "dave"}); err != nil {
		t.Fatal(err)
	}
	eventuallyJS(t, s, "dave shown as refusing, with a notice",
		`const li = document.querySelector('#peers li[data-fingerprint="'+arguments[0]+'"]');
		 return !!li && li.innerText.includes("refuses the link: they have not trusted you yet") &&
			document.getElementById("notices").innerText.includes("they have not trusted you yet")`, dave.fingerprint(t))

	// notifications: allowed in the browser, turned on in the page
	must(t, s.SetPermission(ctxT(t), "notifications", "granted"))
	must(t, s.Execute(ctxT(t), `window.shownNotes = [];
		const Real = window.Notification;
		window.Notification = class extends Real { constructor(title, o) { super(title, o); window.shownNotes.push(title + ": " + o.body); } };
		window.Notification.requestPermission = () => Real.requestPermission();`, nil))
	nb, err := s.Find(ctxT(t), "#notify")
	must(t, err)
	must(t, nb.Click(ctxT(t)))
	eventuallyJS(t, s, "notifications on", `return document.getElementById("notify").textContent === "Notifications on"`)
	bob := startNode(t, "bob", port, "")
	trustEachOther(t, alice, bob, "bob")
	if _, err := bob.node.Join(ctx, "ops"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.node.Send(ctx, control.SendParams{Room: "ops", Body: "deploy at 3"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob's #ops message at alice", func() bool { return hasBody(alice.history(t, "ops"), "deploy at 3") })
	eventuallyJS(t, s, "a notification for #ops", `return window.shownNotes.some(n => n.includes("in #ops: deploy at 3"))`)
}

// A browser that was never logged in gets the page, which says how to log
// in, and nothing of the chat.
func TestBrowserWithoutLogin(t *testing.T) {
	s := page(t)
	alice := startNode(t, "alice", freeUDPPort(t), "127.0.0.1:0")
	if _, err := alice.node.Send(context.Background(), control.SendParams{Room: "lobby", Body: "not for strangers"}); err != nil {
		t.Fatal(err)
	}
	must(t, s.Navigate(ctxT(t), alice.web.URL()))
	eventuallyJS(t, s, "the login notice", `return !document.getElementById("login").hidden &&
		document.getElementById("login").innerText.includes("lanchat web --open")`)
	if text := jsString(t, s, `return document.body.innerText`); strings.Contains(text, "not for strangers") {
		t.Error("the page shows history without a login")
	}
}
