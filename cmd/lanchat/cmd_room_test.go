package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lanchat/lanchat/chat"
	"github.com/lanchat/lanchat/control"
)

// convoEvents returns "kind:body" of the messages p printed.
func (p *chatProc) convoShown() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, ev := range p.events {
		if ev.Kind == chat.EventMessage && ev.Message != nil {
			out = append(out, ev.Message.Conversation+":"+ev.Message.Body)
		}
	}
	return out
}

// Direct messages and a private room through the real binary: three
// chats linked on loopback; carol, linked to both, is in neither.
func TestDirectAndPrivateRoomCommands(t *testing.T) {
	c := newCLI(t, envPassphrase+"=")
	port := freePort(t, "udp")
	names := []string{"alice", "bob", "carol"}
	dirs := map[string]string{}
	fps := map[string]string{}
	for _, n := range names {
		dir, fp := c.initNode(n, "--no-passphrase")
		dirs[n], fps[n] = dir, fp.String()
	}
	for _, a := range names {
		for _, b := range names {
			if a != b {
				c.must(0, "trust", fps[b], "--name", b, "--data-dir", dirs[a])
			}
		}
	}
	procs := map[string]*chatProc{}
	for _, n := range names {
		procs[n] = c.startChat(n, dirs[n], loopbackFlags(port)...)
		waitForSocket(t, procs[n], dirs[n])
	}
	for _, n := range names {
		eventually(t, n+" to link with both", func() bool { return procs[n].linked() == 2 })
	}
	at := func(who string, args ...string) []string { return append(args, "--data-dir", dirs[who]) }

	// A direct message, and its history on the other side.
	r := c.must(0, at("alice", "send", "--to", "bob", "dm: free at 3?", "--json")...)
	var sent control.SendResult
	if err := json.Unmarshal([]byte(r.stdout), &sent); err != nil || sent.Message.Conversation != control.KindDirect || sent.HandedTo != 1 {
		t.Fatalf("send --to: %s (%v)", r.stdout, err)
	}
	eventually(t, "bob to show the direct message", func() bool { return slices.Contains(procs["bob"].convoShown(), "direct:dm: free at 3?") })
	var hist []control.MessageView
	if err := json.Unmarshal([]byte(c.must(0, at("bob", "history", "--with", "alice", "--json")...).stdout), &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Body != "dm: free at 3?" || hist[0].With != fps["alice"] || hist[0].Conversation != "direct" {
		t.Fatalf("bob's history --with alice: %+v", hist)
	}
	wantContains(t, "history text", c.must(0, at("bob", "history")...).stdout, "@alice(")
	// --wait works with --to: the other person is the one member.
	r = c.must(0, at("alice", "send", "--to", "bob", "--wait", "all", "--timeout", "20s", "--json", "dm: stored?")...)
	if err := json.Unmarshal([]byte(r.stdout), &sent); err != nil || sent.Stored != 1 || sent.Members != 1 {
		t.Fatalf("send --to --wait all: %s (%v), want stored 1 of 1", r.stdout, err)
	}
	wantContains(t, "send --to --wait stored", c.must(0, at("alice", "send", "--to", "bob", "--wait", "stored", "--timeout", "20s", "dm: and this?")...).stdout,
		"sent to @bob", "stored by 1 of 1 members")
	var rooms []control.RoomStatus
	eventually(t, "bob's rooms to list the DM with 3 unread", func() bool {
		rooms = nil
		if json.Unmarshal([]byte(c.must(0, at("bob", "rooms", "--json")...).stdout), &rooms) != nil {
			return false
		}
		return slices.ContainsFunc(rooms, func(r control.RoomStatus) bool {
			return r.Conversation == control.KindDirect && r.With == fps["alice"] && r.Name == "alice" && r.Unread == 3
		})
	})
	wantContains(t, "rooms text", c.must(0, at("bob", "rooms")...).stdout, "@alice", "3")
	if r := c.run("", at("alice", "send", "--to", "zed", "hello")...); r.code != 1 || !strings.Contains(r.stderr, "no trusted peer") {
		t.Errorf("send --to an unknown name: exit %d\n%s", r.code, r.stderr)
	}

	// A private room: create, invite, message.
	var room control.PrivateRoom
	if err := json.Unmarshal([]byte(c.must(0, at("alice", "room", "create", "design", "--json")...).stdout), &room); err != nil || !room.Admin || !strings.HasPrefix(room.ID, "pr.") {
		t.Fatalf("room create: %+v (%v)", room, err)
	}
	wantContains(t, "invite", c.must(0, at("alice", "room", "invite", "design", "bob")...).stdout, "invited bob")
	eventually(t, "bob to be a member", func() bool {
		r := c.run("", at("bob", "room", "members", "design", "--json")...)
		var pr control.PrivateRoom
		return r.code == 0 && json.Unmarshal([]byte(r.stdout), &pr) == nil && pr.Member && len(pr.Members) == 2
	})
	members := c.must(0, at("bob", "room", "members", "design")...).stdout
	wantContains(t, "members", members, "alice(", "admin", "bob(", "member")
	r = c.must(0, at("alice", "send", "--room", "design", "--wait", "all", "--timeout", "20s", "--json", "private: mockups are in")...)
	if err := json.Unmarshal([]byte(r.stdout), &sent); err != nil || sent.Stored != 1 || sent.Members != 1 {
		t.Fatalf("send --room design --wait all: %s (%v), want stored 1 of 1 (bob)", r.stdout, err)
	}
	eventually(t, "bob to show the private message", func() bool {
		return slices.Contains(procs["bob"].convoShown(), "private:private: mockups are in")
	})
	if r := c.run("", at("bob", "room", "remove", "design", "alice")...); r.code != 1 || !strings.Contains(r.stderr, "only admins") {
		t.Errorf("a member's remove: exit %d\n%s", r.code, r.stderr)
	}
	if r := c.run("", at("carol", "room", "members", "design")...); r.code != 1 {
		t.Errorf("carol's room members: exit %d, want 1\n%s", r.code, r.stdout)
	}
	c.must(0, at("alice", "send", "open: marker")...)
	eventually(t, "carol to show the open marker", func() bool { return slices.Contains(procs["carol"].convoShown(), "room:open: marker") })
	for _, s := range procs["carol"].convoShown() {
		if !strings.HasPrefix(s, "room:") {
			t.Errorf("carol was shown %q", s)
		}
	}
	carolHist := c.must(0, at("carol", "history", "--json")...).stdout
	for _, secret := range []string{"dm: free at 3?", "mockups", room.ID} {
		if strings.Contains(carolHist, secret) {
			t.Errorf("carol's history holds %q", secret)
		}
	}
	// A file to bob alone, and one in the private room: bob fetches both;
	// carol, who never got the offers, has nothing to fetch.
	src := t.TempDir()
	for i, args := range [][]string{{"--to", "bob"}, {"--room", "design"}} {
		path := filepath.Join(src, fmt.Sprintf("f%d.txt", i))
		content := strings.Repeat(fmt.Sprintf("file %d ", i), 40000)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		offer := decodeAll[control.FileView](t, c.must(0, at("alice", append([]string{"send-file", "--json", path}, args...)...)...).stdout)[0]
		if kind := control.ConvoKind(offer.Room); kind != map[string]string{"--to": control.KindDirect, "--room": control.KindPrivate}[args[0]] {
			t.Fatalf("send-file %v: offered in %s (%s)", args, offer.Room, kind)
		}
		wantContains(t, "send-file text", c.must(0, at("alice", append([]string{"send-file", path}, args...)...)...).stdout, "offered file f")
		out := t.TempDir()
		eventually(t, "bob to hold the offer", func() bool {
			return strings.Contains(c.must(0, at("bob", "files")...).stdout, offer.ID[:8])
		})
		events := decodeAll[control.FileView](t, c.must(0, at("bob", "fetch", offer.ID[:10], "--out", out, "--json")...).stdout)
		if last := events[len(events)-1]; last.State != "done" {
			t.Fatalf("bob's fetch %v ended %+v", args, last)
		}
		if got, err := os.ReadFile(filepath.Join(out, filepath.Base(path))); err != nil || string(got) != content {
			t.Fatalf("bob fetched %d bytes (%v)", len(got), err)
		}
		// `lanchat files` names the conversation as the chat does, never
		// by its raw id.
		where := map[string][2]string{"--to": {"@alice", "@bob"}, "--room": {"#design[private]", "#design[private]"}}[args[0]]
		for i, who := range []string{"bob", "alice"} {
			var line string
			for _, l := range strings.Split(c.must(0, at(who, "files")...).stdout, "\n") {
				if strings.HasPrefix(l, offer.ID[:12]) {
					line = l
				}
			}
			if !strings.HasSuffix(strings.TrimSpace(line), where[i]) || strings.Contains(line, "dm.") {
				t.Errorf("%s's files shows the offer %v as %q, want it in %s", who, args, line, where[i])
			}
		}
		if r := c.run("", at("carol", "fetch", offer.ID[:10], "--out", out)...); r.code != 1 || !strings.Contains(r.stderr, "no file offer") {
			t.Errorf("carol's fetch of %v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	if r := c.run("", at("alice", "send-file", "--to", "bob", "--room", "design", src)...); r.code != 2 {
		t.Errorf("send-file --to with --room: exit %d, want 2\n%s", r.code, r.stderr)
	}
	for _, n := range names {
		procs[n].stop()
	}
	// Without a node, history --with and room members answer from the file.
	if err := json.Unmarshal([]byte(c.must(0, at("alice", "history", "--with", "bob", "--json")...).stdout), &hist); err != nil || len(hist) != 5 { // three messages, the file offered twice
		t.Fatalf("history --with bob, no node: %+v (%v)", hist, err)
	}
	wantContains(t, "room list", c.must(0, at("bob", "room", "list")...).stdout, "design", room.ID, "member")
	wantContains(t, "bob's rooms, no node", c.must(0, at("bob", "rooms")...).stdout, "@alice", "#design[private]")
	// bob is away: --wait fails, says so, and the message stays stored.
	r = c.must(1, at("alice", append([]string{"send", "--to", "bob", "--wait", "stored", "--timeout", "2s", "dm: are you there?"}, loopbackFlags(port)...)...)...)
	wantContains(t, "send --to --wait, bob away", r.stderr, "not stored by 1 member(s)", "hint:")
	wantContains(t, "send --to --wait, bob away", r.stdout, "only here so far (1 other member(s))")
}

// Every shell's completion offers the room subcommands.
func TestCompletionOffersRoomSubcommands(t *testing.T) {
	c := newCLI(t)
	verbs := strings.Join(roomVerbNames(), " ")
	for _, sh := range []string{"bash", "zsh", "fish"} {
		script := c.must(0, "completion", sh).stdout
		if !strings.Contains(script, verbs) {
			t.Errorf("%s completion does not offer %q", sh, verbs)
		}
	}
}
