package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lanchat/lanchat/control"
)

// send --wait all succeeds while every member is linked and fails, saying
// who it waits for, when one is away; away reaches the peers; rooms and
// history --unread --mark-read count and show what is new.
func TestSendWaitPresenceAndUnread(t *testing.T) {
	c := newCLI(t, envPassphrase+"=")
	port := freePort(t, "udp")
	var dirs, fps []string
	for _, n := range []string{"alice", "bob", "carol"} {
		d, fp := c.initNode(n, "--no-passphrase")
		dirs, fps = append(dirs, d), append(fps, fp.String())
	}
	c.trustEachOther(dirs, fps)
	alice := c.startProc("alice", append([]string{"up", "--data-dir", dirs[0]}, loopbackFlags(port)...))
	waitForSocket(t, alice, dirs[0])
	bob := c.startChat("bob", dirs[1], loopbackFlags(port)...)
	carol := c.startChat("carol", dirs[2], loopbackFlags(port)...)
	eventually(t, "everyone linked", func() bool { return bob.linked() == 2 && carol.linked() == 2 })

	at := func(dir string, args ...string) []string { return append(args, "--data-dir", dir) }
	r := c.must(0, at(dirs[0], "send", "--wait", "all", "--timeout", "20s", "--json", "to all of you")...)
	var res control.SendResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("send --json: %v\n%s", err, r.stdout)
	}
	if res.Stored != 2 || res.Members != 2 {
		t.Fatalf("send --wait all: stored %d of %d, want 2 of 2\n%s", res.Stored, res.Members, r.stdout)
	}

	carol.stop()
	eventually(t, "carol gone", func() bool { return bob.linked() == 1 })
	r = c.must(1, at(dirs[0], "send", "--wait", "all", "--timeout", "2s", "carol is away")...)
	wantContains(t, "send --wait all without carol", r.stdout, "stored by 1 of 2 members")
	wantContains(t, "send --wait all without carol", r.stderr, "not stored by every member", "waiting for "+strings.SplitN(fps[2], "-", 2)[0], "hint:")
	r = c.must(0, at(dirs[0], "send", "--wait", "stored", "--timeout", "20s", "one is enough")...)
	wantContains(t, "send --wait stored", r.stdout, "stored by 1 of 2 members")
	c.must(2, at(dirs[0], "send", "--wait", "most", "x")...)

	// Presence from a script reaches bob's node.
	r = c.must(0, at(dirs[0], "away", "lunch", "till", "2")...)
	wantContains(t, "away", r.stdout, "you are away: lunch till 2")
	eventually(t, "bob's peers show alice away", func() bool {
		var peers []peerJSON
		out := c.must(0, at(dirs[1], "peers", "--json")...).stdout
		if json.Unmarshal([]byte(out), &peers) != nil {
			return false
		}
		for _, p := range peers {
			if p.Fingerprint == fps[0] {
				return p.Presence == "away" && p.Status == "lunch till 2"
			}
		}
		return false
	})
	wantContains(t, "peers", c.must(0, at(dirs[1], "peers")...).stdout, `away "lunch till 2"`)
	c.must(1, at(dirs[2], "away")...) // no node runs for carol

	// A mention of alice is unread for her until she reads it.
	bob.say("@alice lunch?")
	var rooms []control.RoomStatus
	eventually(t, "alice has bob's mention unread", func() bool {
		rooms = nil
		return json.Unmarshal([]byte(c.must(0, at(dirs[0], "rooms", "--json")...).stdout), &rooms) == nil &&
			len(rooms) == 1 && rooms[0].Unread == 1 && rooms[0].Mentions == 1
	})
	wantContains(t, "rooms", c.must(0, at(dirs[0], "rooms")...).stdout, "#lobby", "1")
	r = c.must(0, at(dirs[0], "history", "--unread", "--mark-read")...)
	if got := strings.Count(r.stdout, "\n"); got != 1 || !strings.Contains(r.stdout, "@alice lunch?") {
		t.Fatalf("history --unread: %d lines, want bob's one:\n%s", got, r.stdout)
	}
	if r := c.must(0, at(dirs[0], "history", "--unread")...); r.stdout != "" {
		t.Fatalf("history --unread after --mark-read: %q, want nothing", r.stdout)
	}
	alice.stop()
	bob.stop()
	// Without a node the database answers: still read.
	rooms = nil
	if err := json.Unmarshal([]byte(c.must(0, at(dirs[0], "rooms", "--json")...).stdout), &rooms); err != nil || len(rooms) != 1 || rooms[0].Unread != 0 {
		t.Fatalf("rooms without a node: %+v, %v", rooms, err)
	}
}
