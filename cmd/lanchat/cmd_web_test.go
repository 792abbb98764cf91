package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/control"
	"github.com/lanchat/lanchat/internal/webdriver"
)

// webLogin runs lanchat web --json on dir.
func (c *cli) webLogin(dir string) control.WebLoginResult {
	c.t.Helper()
	var res control.WebLoginResult
	r := c.must(0, "web", "--data-dir", dir, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		c.t.Fatalf("web --json: %v\n%s", err, r.stdout)
	}
	if !strings.HasPrefix(res.URL, res.Page+"login?token=") || !strings.HasPrefix(res.Page, "http://127.0.0.1:") {
		c.t.Fatalf("web --json: %+v", res)
	}
	return res
}

// browserLogin trades a login URL for a session, as a browser does, and
// returns the client holding it.
func browserLogin(t *testing.T, url string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	res, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.Path != "/" {
		t.Fatalf("login: %s at %s", res.Status, res.Request.URL)
	}
	return hc
}

func getStatus(t *testing.T, hc *http.Client, url string) int {
	t.Helper()
	res, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestWebCommand(t *testing.T) {
	c := newCLI(t, envPassphrase+"=")
	port := freePort(t, "udp")
	dir, _ := c.initNode("alice", "--no-passphrase")
	at := func(args ...string) []string { return append(args, "--data-dir", dir) }

	r := c.must(1, at("web")...)
	wantContains(t, "web with no node", r.stderr, "no lanchat node runs", "hint: start it first: lanchat up")
	r = c.must(2, at(append([]string{"up", "--web-addr", "0.0.0.0:47180"}, loopbackFlags(port)...)...)...)
	wantContains(t, "up on a non-loopback address", r.stderr, "not a loopback address", "--web-allow-remote")
	r = c.must(2, at(append([]string{"chat", "--web-addr", "nonsense"}, loopbackFlags(port)...)...)...)
	wantContains(t, "chat --web-addr nonsense", r.stderr, "--web-addr", "not HOST:PORT", "hint:")

	off := c.startProc("alice", at(append([]string{"up", "--web-addr", "off"}, loopbackFlags(port)...)...))
	waitForSocket(t, off, dir)
	r = c.must(1, at("web")...)
	wantContains(t, "web with the UI off", r.stderr, "serves no web UI", "hint:", "--web-addr")
	off.stop()

	up := c.startProc("alice", at(append([]string{"up"}, loopbackFlags(port)...)...))
	waitForSocket(t, up, dir)
	r = c.must(0, at("web")...)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+/login\?token=[A-Za-z0-9_-]{43}$`).MatchString(last) {
		t.Fatalf("web: the last line is not the login URL:\n%s", r.stdout)
	}
	hc := browserLogin(t, last)
	if res, _ := hc.Get(last); res != nil {
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("the printed link used twice: %s, want 403", res.Status)
		}
	}
	page := c.webLogin(dir).Page
	if s := getStatus(t, hc, page+"api/rooms"); s != 200 {
		t.Fatalf("api/rooms with the session: %d", s)
	}

	// --open hands the browser a file only this user can read; no token on
	// any command line or on stdout
	argsFile := filepath.Join(t.TempDir(), "browser-args")
	opener := filepath.Join(t.TempDir(), "opener")
	if err := os.WriteFile(opener, []byte("#!/bin/sh\nprintf '%s' \"$*\" > "+argsFile+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	o := &cli{t: t, env: append(append([]string{}, c.env...), "BROWSER="+opener)}
	r = o.must(0, at("web", "--open")...)
	if strings.Contains(r.stdout, "token") {
		t.Errorf("web --open printed the token:\n%s", r.stdout)
	}
	eventually(t, "the opener to run", func() bool { _, err := os.Stat(argsFile); return err == nil })
	var arg []byte
	eventually(t, "the opener's argument", func() bool { arg, _ = os.ReadFile(argsFile); return len(arg) > 0 })
	want := "file://" + filepath.Join(dir, webOpenFile)
	if string(arg) != want {
		t.Fatalf("the browser was given %q, want %q", arg, want)
	}
	info, err := os.Stat(filepath.Join(dir, webOpenFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v; want 0600", webOpenFile, err, info.Mode().Perm())
	}
	html, _ := os.ReadFile(filepath.Join(dir, webOpenFile))
	m := regexp.MustCompile(`url=(http://[^"]+)"`).FindSubmatch(html)
	if m == nil {
		t.Fatalf("%s leads nowhere:\n%s", webOpenFile, html)
	}
	browserLogin(t, string(m[1]))
	if key, err := os.Stat(filepath.Join(dir, "web.key")); err != nil || key.Mode().Perm() != 0o600 {
		t.Errorf("web.key: %v, mode %v; want 0600", err, key.Mode().Perm())
	}

	// a restart on the same address keeps the session
	up.stop()
	wantContains(t, "up's log", up.stderr.String(), "lanchat: web UI on "+page)
	addr := strings.TrimSuffix(strings.TrimPrefix(page, "http://"), "/")
	up = c.startProc("alice", at(append([]string{"up", "--web-addr", addr}, loopbackFlags(port)...)...))
	waitForSocket(t, up, dir)
	eventually(t, "the web UI after the restart", func() bool {
		res, err := hc.Get(page + "api/rooms")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	up.stop()
}

// The user's journey with the real binaries: two nodes by lanchat up, the
// page of one opened from lanchat web, a message typed there reaching the
// other's history, and the other's lanchat send showing up in the page.
func TestWebUIWithRealBinaries(t *testing.T) {
	s := webdriver.Shared(t)
	c := newCLI(t, envPassphrase+"=")
	port := freePort(t, "udp")
	aliceDir, alice := c.initNode("alice", "--no-passphrase")
	bobDir, bob := c.initNode("bob", "--no-passphrase")
	c.must(0, "trust", "--data-dir", aliceDir, bob.String(), "--name", "bob")
	c.must(0, "trust", "--data-dir", bobDir, alice.String(), "--name", "alice")
	a := c.startProc("alice", append([]string{"up", "--data-dir", aliceDir}, loopbackFlags(port)...))
	b := c.startProc("bob", append([]string{"up", "--data-dir", bobDir, "--web-addr", "off"}, loopbackFlags(port)...))
	waitForSocket(t, a, aliceDir)
	waitForSocket(t, b, bobDir)
	eventually(t, "alice and bob to link", func() bool {
		var id control.Identity
		r := c.run("", "id", "--data-dir", aliceDir, "--json")
		return json.Unmarshal([]byte(r.stdout), &id) == nil && id.Node != nil && id.Node.Linked == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Navigate(ctx, c.webLogin(aliceDir).URL); err != nil {
		t.Fatal(err)
	}
	box, err := s.Find(ctx, `textarea[aria-label="Message"]`)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the page to be ready", func() bool {
		var ready bool
		err := s.Execute(ctx, `return document.getElementById("me").textContent.includes("alice")`, &ready)
		return err == nil && ready
	})
	if err := box.SendKeys(ctx, "typed in the web UI"+webdriver.KeyEnter); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the typed message in bob's lanchat history", func() bool {
		var hist []control.MessageView
		r := c.run("", "history", "--data-dir", bobDir, "--json")
		if json.Unmarshal([]byte(r.stdout), &hist) != nil {
			return false
		}
		for _, m := range hist {
			if m.Body == "typed in the web UI" && m.Author == alice.String() {
				return true
			}
		}
		return false
	})
	c.must(0, "send", "--data-dir", bobDir, "sent by lanchat send")
	eventually(t, "bob's lanchat send in the page", func() bool {
		var text string
		err := s.Execute(ctx, `return document.getElementById("messages").innerText`, &text)
		return err == nil && strings.Contains(text, "sent by lanchat send")
	})
	a.stop()
	b.stop()
}

// A chat that started its own node serves the web UI too; one attached to
// a running node does not start another.
func TestWebFromChat(t *testing.T) {
	c := newCLI(t, envPassphrase+"=")
	dir, _ := c.initNode("alice", "--no-passphrase")
	p := c.startChat("alice", dir, loopbackFlags(freePort(t, "udp"))...)
	waitForSocket(t, p, dir)
	hc := browserLogin(t, c.webLogin(dir).URL)
	attached := c.startChat("window 2", dir)
	eventually(t, "the second window to attach", func() bool { return attached.saw("ready") })
	page := c.webLogin(dir).Page
	if s := getStatus(t, hc, page+"api/rooms"); s != 200 {
		t.Errorf("the web UI with a second window attached: %d", s)
	}
	attached.stop()
	p.stop()
}
