package web

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/control"
	"github.com/lanchat/lanchat/internal/webdriver"
)

// The page works in Firefox too: log in, type a message (Enter sends),
// see a peer's message live, peer HTML inert. Firefox is driven over
// WebDriver BiDi, started for this test only.
func TestFirefoxChat(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no browser tests")
	}
	if err := webdriver.FirefoxAvailable(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %v", err)
		}
		t.Skipf("skipping the Firefox test: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ff, err := webdriver.StartFirefox(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ff.Close()
	port := freeUDPPort(t)
	alice := startNode(t, "alice", port, "127.0.0.1:0")
	bob := startNode(t, "bob", port, "")
	trustEachOther(t, alice, bob, "bob")
	u, err := alice.web.LoginURL(ctx)
	must(t, err)
	must(t, ff.Navigate(ctx, u))
	eval := func(expr string) bool {
		var ok bool
		return ff.Eval(ctx, expr, &ok) == nil && ok
	}
	waitFor(t, "the page in Firefox", func() bool {
		return eval(`document.getElementById("me").textContent.includes("alice") && !location.search.includes("token")`)
	})
	if !eval(`document.querySelector('textarea[aria-label="Message"]') !== null`) {
		t.Fatal("no composer named Message")
	}
	must(t, ff.Eval(ctx, `document.getElementById("message").focus()`, nil))
	keys := strings.Split("hello from firefox", "")
	must(t, ff.Type(ctx, append(keys, webdriver.KeyEnter)...))
	waitFor(t, "the Firefox message in bob's history", func() bool { return hasBody(bob.history(t, "lobby"), "hello from firefox") })
	for _, body := range []string{"hi firefox", `<img src=x onerror="document.title='pwned'">`} {
		if _, err := bob.node.Send(ctx, control.SendParams{Room: "lobby", Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "bob's messages live in Firefox", func() bool {
		return eval(`document.getElementById("messages").innerText.includes("hi firefox") &&
			document.getElementById("messages").innerText.includes("<img src=x onerror=")`)
	})
	if !eval(`!document.title.includes("pwned") && document.querySelectorAll("#messages img").length === 0`) {
		t.Error("peer HTML ran in Firefox")
	}
}
