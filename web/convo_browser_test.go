package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanchat/lanchat/control"
	"github.com/lanchat/lanchat/internal/webdriver"
)

// click waits for css in the page and clicks it.
func click(t *testing.T, s *webdriver.Session, css string) {
	t.Helper()
	var e *webdriver.Element
	waitFor(t, css+" in the page", func() bool {
		var err error
		e, err = s.Find(ctxT(t), css)
		return err == nil
	})
	must(t, e.Click(ctxT(t)))
}

// typeInto finds css in the page and types keys into it.
func typeInto(t *testing.T, s *webdriver.Session, css, keys string) {
	t.Helper()
	e, err := s.Find(ctxT(t), css)
	must(t, err)
	must(t, e.SendKeys(ctxT(t), keys))
}

// sideButton is a script that finds the sidebar button of a conversation
// in list (rooms, private, direct) by its accessible name, or by the
// name's start before the counts when arguments[2] is set.
const sideButton = `[...document.querySelectorAll("#" + arguments[0] + " button")].find(b => b.getAttribute("aria-label") === arguments[1] ||
	arguments[2] && b.getAttribute("aria-label").startsWith(arguments[1] + ","))`

func TestBrowserDirectMessagesAndPrivateRooms(t *testing.T) {
	s := page(t)
	port := freeUDPPort(t)
	alice := startNode(t, "alice", port, "127.0.0.1:0")
	bob := startNode(t, "bob", port, "")
	trustEachOther(t, alice, bob, "bob")
	ctx := context.Background()
	bobFP, aliceFP := bob.fingerprint(t), alice.fingerprint(t)
	bobID, _ := bob.node.Identity(ctx)
	open(t, s, alice, "lobby")

	// a direct conversation is started from the peers list
	click(t, s, `#peers button[aria-label="Message bob (`+bobID.Short+`)"]`)
	eventuallyJS(t, s, "the conversation with bob", `return document.getElementById("room-title").textContent === "@bob"`)
	typeInto(t, s, "#message", "psst, bob"+webdriver.KeyEnter)
	waitFor(t, "the direct message at bob", func() bool {
		h, err := bob.node.History(ctx, control.HistoryParams{With: "alice"})
		return err == nil && hasBody(h, "psst, bob") && h[0].Conversation == control.KindDirect && h[0].With == aliceFP
	})
	if hasBody(bob.history(t, "lobby"), "psst, bob") {
		t.Error("the direct message landed in #lobby")
	}
	eventuallyJS(t, s, "@bob in the Direct group, current", `const b = `+sideButton+`; return !!b && b.getAttribute("aria-current") === "true"`, "direct", "@bob")

	// bob answers: live in the open conversation; unread when elsewhere
	if _, err := bob.node.SendDirect(ctx, control.DirectParams{To: "alice", Body: "hi alice, just us"}); err != nil {
		t.Fatal(err)
	}
	eventuallyJS(t, s, "bob's answer, live", `return document.getElementById("messages").innerText.includes("hi alice, just us")`)
	must(t, s.Execute(ctxT(t), sideButton+`.click()`, nil, "rooms", "#lobby"))
	eventuallyJS(t, s, "#lobby current", `return document.getElementById("room-title").textContent === "#lobby"`)
	if _, err := bob.node.SendDirect(ctx, control.DirectParams{To: "alice", Body: "one more"}); err != nil {
		t.Fatal(err)
	}
	eventuallyJS(t, s, "an unread count on @bob", `const b = `+sideButton+`; return !!b`, "direct", "@bob, 1 unread")
	if text := jsString(t, s, messagesText); strings.Contains(text, "one more") {
		t.Errorf("a direct message shows in #lobby:\n%s", text)
	}
	// viewing it marks it read at the node
	must(t, s.Execute(ctxT(t), sideButton+`.click()`, nil, "direct", "@bob", true))
	eventuallyJS(t, s, "the count gone", `return !!`+sideButton, "direct", "@bob")
	waitFor(t, "the direct conversation read at alice's node", func() bool {
		sts, err := alice.node.RoomStatus(ctx)
		if err != nil {
			return false
		}
		for _, st := range sts {
			if strings.HasPrefix(st.Room, "dm.") {
				return st.Unread == 0 && st.LastRead != ""
			}
		}
		return false
	})

	// a private room: created, a trusted peer invited, listed apart
	typeInto(t, s, `input[aria-label="New private room"]`, "secret"+webdriver.KeyEnter)
	eventuallyJS(t, s, "#secret[private] current", `return document.getElementById("room-title").textContent === "#secret[private]" &&
		!!`+sideButton, "private", "#secret[private]")
	eventuallyJS(t, s, "the members: you, an admin", `const p = document.getElementById("members-panel"); return !p.hidden && p.innerText.includes("you admin")`)
	sel, err := s.Find(ctxT(t), "#invite-peer")
	must(t, err)
	if l, _ := sel.Label(ctxT(t)); l != "Trusted peer to invite" {
		t.Errorf("the invite list's accessible name is %q", l)
	}
	must(t, s.Execute(ctxT(t), `document.getElementById("invite-peer").value = arguments[0]`, nil, bobFP))
	click(t, s, "#invite-ok")
	waitFor(t, "bob a member at bob", func() bool {
		prs, err := bob.node.PrivateRooms(ctx)
		return err == nil && len(prs) == 1 && prs[0].Name == "secret" && prs[0].Member
	})
	eventuallyJS(t, s, "bob in the members list, with Remove", `return !!document.querySelector('#members li[data-fingerprint="'+arguments[0]+'"] button')`, bobFP)
	// the operation is a notice line, not a chat message
	var op struct {
		Ops  []string `json:"ops"`
		Msgs int      `json:"msgs"`
	}
	must(t, s.Execute(ctxT(t), `return {ops: [...document.querySelectorAll("#messages .op")].map(o => o.textContent),
		msgs: document.querySelectorAll("#messages .msg").length}`, &op))
	if len(op.Ops) != 2 || !strings.Contains(op.Ops[1], "invited bob") || op.Msgs != 0 {
		t.Errorf("operations shown as %+v; want create and invite notices and no chat lines", op)
	}
	typeInto(t, s, "#message", "for members only"+webdriver.KeyEnter)
	prs, _ := bob.node.PrivateRooms(ctx)
	room := prs[0].ID
	waitFor(t, "the private message at bob", func() bool { return hasBody(bob.history(t, room), "for members only") })
	if _, err := bob.node.Send(ctx, control.SendParams{Room: room, Body: "got it", Kind: control.KindPrivate}); err != nil {
		t.Fatal(err)
	}
	eventuallyJS(t, s, "bob's private message, live", `return document.getElementById("messages").innerText.includes("got it")`)
	shot(t, s, "private-room")

	// an admin removes: after a confirmation, bob is out
	click(t, s, `#members li[data-fingerprint="`+bobFP+`"] button`)
	text, err := s.AlertText(ctxT(t))
	must(t, err)
	if !strings.Contains(text, "Remove bob") {
		t.Errorf("confirmation %q", text)
	}
	must(t, s.AcceptAlert(ctxT(t)))
	waitFor(t, "bob removed at alice", func() bool {
		pr, err := alice.node.Members(ctx, room)
		return err == nil && len(pr.Members) == 1
	})
	eventuallyJS(t, s, "bob gone from the members, a removal notice", `return !document.querySelector('#members li[data-fingerprint="'+arguments[0]+'"]') &&
		[...document.querySelectorAll("#messages .op")].some(o => o.textContent.includes("removed bob"))`, bobFP)

	// an invitation shows up live; a member who is not an admin gets no Remove
	pr, err := bob.node.CreateRoom(ctx, control.CreateRoomParams{Name: "team"})
	must(t, err)
	if _, err := bob.node.Invite(ctx, control.MemberParams{Room: pr.ID, Peer: "alice"}); err != nil {
		t.Fatal(err)
	}
	eventuallyJS(t, s, "#team[private] listed", `return !!`+sideButton, "private", "#team[private]", true)
	must(t, s.Execute(ctxT(t), sideButton+`.click()`, nil, "private", "#team[private]", true))
	eventuallyJS(t, s, "team's members: bob an admin", `const li = document.querySelector('#members li[data-fingerprint="'+arguments[0]+'"]');
		return !!li && li.innerText.includes("admin") && document.querySelectorAll("#members button").length === 0`, bobFP)

	// leave it, after a confirmation
	click(t, s, "#leave")
	must(t, s.AcceptAlert(ctxT(t)))
	waitFor(t, "alice out of team", func() bool {
		pr, err := alice.node.Members(ctx, pr.ID)
		return err == nil && !pr.Member
	})
	eventuallyJS(t, s, "team off the list", `return !`+sideButton, "private", "#team[private]", true)
}

func TestBrowserReceiptsPresenceFilesDelete(t *testing.T) {
	s := page(t)
	port := freeUDPPort(t)
	alice := startNode(t, "alice", port, "127.0.0.1:0")
	bob := startNode(t, "bob", port, "")
	trustEachOther(t, alice, bob, "bob")
	ctx := context.Background()
	bobFP, aliceFP := bob.fingerprint(t), alice.fingerprint(t)
	for _, n := range []*testNode{alice, bob} {
		if _, err := n.node.Join(ctx, "ops"); err != nil {
			t.Fatal(err)
		}
	}
	open(t, s, alice, "lobby")

	// receipts: stored by bob, then read by him; the mark says who
	typeInto(t, s, "#message", "are you there?"+webdriver.KeyEnter)
	const mark = `const m = [...document.querySelectorAll("#messages .msg")].find(m => m.innerText.includes(arguments[0]));
		const r = m && m.querySelector(".receipt summary"); return !!r && r.textContent === arguments[1]`
	eventuallyJS(t, s, "the mark: stored by bob", mark, "are you there?", "stored by all 1")
	if _, err := bob.node.MarkRead(ctx, control.MarkReadParams{Room: "lobby"}); err != nil {
		t.Fatal(err)
	}
	eventuallyJS(t, s, "the mark: read by bob", mark, "are you there?", "stored by all 1, read by 1")
	must(t, s.Execute(ctxT(t), `document.querySelector("#messages .receipt summary").click()`, nil))
	if who := jsString(t, s, `return document.querySelector("#messages .receipt").innerText`); !strings.Contains(who, "Read by: bob") {
		t.Errorf("the receipt does not say who read it: %q", who)
	}

	// a mention in another room: counted apart, highlighted, marked read when viewed
	if _, err := bob.node.Send(ctx, control.SendParams{Room: "ops", Body: "@alice can you look?"}); err != nil {
		t.Fatal(err)
	}
	eventuallyJS(t, s, "the mention count on #ops", `return !!`+sideButton, "rooms", "#ops, 1 unread, 1 mentioning you")
	must(t, s.Execute(ctxT(t), sideButton+`.click()`, nil, "rooms", "#ops, 1 unread, 1 mentioning you"))
	eventuallyJS(t, s, "the mention highlighted", `const m = document.querySelector("#messages .msg.mention"); return !!m && m.innerText.includes("can you look")`)
	waitFor(t, "#ops read at alice's node", func() bool {
		sts, err := alice.node.RoomStatus(ctx)
		if err != nil {
			return false
		}
		for _, st := range sts {
			if st.Room == "ops" {
				return st.Unread == 0 && st.LastRead != ""
			}
		}
		return false
	})

	// presence both ways
	if _, err := bob.node.SetPresence(ctx, control.PresenceParams{State: "away", Status: "lunch"}); err != nil {
		t.Fatal(err)
	}
	eventuallyJS(t, s, "bob away", `const li = document.querySelector('#peers li[data-fingerprint="'+arguments[0]+'"]'); return !!li && li.innerText.includes("away: lunch")`, bobFP)
	must(t, s.Execute(ctxT(t), `document.getElementById("presence-state").value = "busy"`, nil))
	typeInto(t, s, `input[aria-label="Your status line"]`, "in a meeting"+webdriver.KeyEnter)
	waitFor(t, "alice busy at bob", func() bool {
		peers, err := bob.node.Peers(ctx)
		return err == nil && len(peers) > 0 && peers[0].Fingerprint == aliceFP && peers[0].Presence == "busy" && peers[0].Status == "in a meeting"
	})

	// a file offer: name and size, Fetch into the folder given, done
	src := filepath.Join(t.TempDir(), "report.txt")
	content := strings.Repeat("lanchat file body\n", 4000)
	must(t, os.WriteFile(src, []byte(content), 0o600))
	if _, err := bob.node.SendFile(ctx, control.SendFileParams{Room: "ops", Path: src}); err != nil {
		t.Fatal(err)
	}
	eventuallyJS(t, s, "the offer", `const f = document.querySelector("#messages .file"); return !!f && f.innerText.includes("report.txt") && f.innerText.includes("70.3 KiB")`)
	// a folder that is not absolute is refused in the page, and nothing is fetched
	must(t, s.Execute(ctxT(t), `document.getElementById("download-dir").value = "Downloads"`, nil))
	click(t, s, `#messages button[aria-label="Fetch report.txt"]`)
	eventuallyJS(t, s, "the notice about the folder", `return document.getElementById("notices").innerText.includes("must be an absolute path")`)
	if fs, err := alice.node.Files(ctx); err != nil || len(fs) != 1 || fs[0].State != "offered" {
		t.Errorf("after a refused folder the offer is %+v (%v); want it untouched", fs, err)
	}
	out := t.TempDir()
	must(t, s.Execute(ctxT(t), `document.getElementById("download-dir").value = arguments[0]`, nil, out))
	click(t, s, `#messages button[aria-label="Fetch report.txt"]`)
	eventuallyJS(t, s, "the fetch done", `const f = document.querySelector("#messages .file .fstate"); return !!f && f.textContent.startsWith("done: ")`)
	shot(t, s, "file-and-mention")
	got, err := os.ReadFile(filepath.Join(out, "report.txt"))
	must(t, err)
	if string(got) != content {
		t.Errorf("the fetched file has %d bytes, want %d", len(got), len(content))
	}

	// delete for everyone, after a confirmation
	must(t, s.Execute(ctxT(t), sideButton+`.click()`, nil, "rooms", "#lobby"))
	eventuallyJS(t, s, "#lobby current", `return document.getElementById("room-title").textContent === "#lobby"`)
	click(t, s, `#messages button[aria-label="Delete your message are you there?"]`)
	must(t, s.AcceptAlert(ctxT(t)))
	waitFor(t, "the message gone at bob", func() bool { return !hasBody(bob.history(t, "lobby"), "are you there?") })
	eventuallyJS(t, s, "the message gone from the page, and a notice", `return !document.getElementById("messages").innerText.includes("are you there?") &&
		document.getElementById("notices").innerText.includes("deleted for everyone")`)
}
