//go:build linux

package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
)

// sessionBus is a private D-Bus session bus (a real dbus-daemon, removed
// with the test) with a notification service on it that records what it
// is asked to show, as a desktop's would.
type sessionBus struct {
	addr string
	mu   sync.Mutex
	got  []shownNotification
}

type shownNotification struct{ app, summary, body string }

// Notify is org.freedesktop.Notifications.Notify.
func (b *sessionBus) Notify(app string, _ uint32, _, summary, body string, _ []string, _ map[string]dbus.Variant, _ int32) (uint32, *dbus.Error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = append(b.got, shownNotification{app, summary, body})
	return uint32(len(b.got)), nil
}

func (b *sessionBus) shown() []shownNotification {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]shownNotification(nil), b.got...)
}

func startSessionBus(t *testing.T) *sessionBus {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon is not installed (make tools installs it): no session bus to test --notify on")
	}
	dir, err := os.MkdirTemp("", "lcbus")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cmd := exec.Command(daemon, "--session", "--nofork", "--nopidfile", "--print-address=1",
		"--address=unix:path="+filepath.Join(dir, "bus"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	b := &sessionBus{addr: strings.TrimSpace(line)}
	conn, err := dbus.Connect(b.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.Export(b, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning the notification service: %v (reply %d)", err, reply)
	}
	return b
}

// up --notify shows a desktop notification for a message that mentions
// you, and none for one that mentions someone else; without a session bus
// it says so once and runs on.
func TestNotifyOnlyTheMentioned(t *testing.T) {
	aliceBus, carolBus := startSessionBus(t), startSessionBus(t)
	port := freePort(t, "udp")
	c := newCLI(t, envPassphrase+"=")
	var dirs, fps []string
	for _, n := range []string{"alice", "bob", "carol"} {
		d, fp := c.initNode(n, "--no-passphrase")
		dirs, fps = append(dirs, d), append(fps, fp.String())
	}
	c.trustEachOther(dirs, fps)
	up := func(name, dir, bus string) *chatProc {
		withBus := newCLI(t, envPassphrase+"=", "DBUS_SESSION_BUS_ADDRESS="+bus)
		p := withBus.startProc(name, append([]string{"up", "--notify", "--data-dir", dir}, loopbackFlags(port)...))
		waitForSocket(t, p, dir)
		return p
	}
	alice := up("alice", dirs[0], aliceBus.addr)
	carol := up("carol", dirs[2], carolBus.addr)
	bob := c.startChat("bob", dirs[1], loopbackFlags(port)...)
	eventually(t, "bob linked to both", func() bool { return bob.linked() == 2 })

	bob.say("@alice the build is red <b>now</b>")
	eventually(t, "alice's desktop shows the mention", func() bool { return len(aliceBus.shown()) == 1 })
	got := aliceBus.shown()[0]
	if got.app != "lanchat" || !strings.Contains(got.summary, "mentioned you in #lobby") ||
		got.body != "@alice the build is red &lt;b&gt;now&lt;/b&gt;" {
		t.Fatalf("alice's notification %+v", got)
	}
	bob.say("@carol yours")
	eventually(t, "carol's desktop shows her mention", func() bool { return len(carolBus.shown()) >= 1 })
	if got := carolBus.shown(); len(got) != 1 || got[0].body != "@carol yours" {
		t.Fatalf("carol's notifications %+v: want only her own mention", got)
	}
	if got := aliceBus.shown(); len(got) != 1 {
		t.Fatalf("alice's notifications %+v: want only hers", got)
	}
	alice.stop()
	carol.stop()
	bob.stop()

	noBus := newCLI(t, envPassphrase+"=", "DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(t.TempDir(), "none"))
	p := noBus.startProc("alice", append([]string{"up", "--notify", "--data-dir", dirs[0]}, loopbackFlags(port)...))
	waitForSocket(t, p, dirs[0]) // it runs on
	p.stop()                     // the line is printed before it waits for a signal
	if errs := p.stderr.String(); strings.Count(errs, "--notify: no D-Bus session bus") != 1 {
		t.Fatalf("want the no-bus line once:\n%s", errs)
	}
}
