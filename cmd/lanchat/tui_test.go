package main

import (
	"github.com/lanchat/lanchat/internal/tmuxtest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func lastLine(scr string) string {
	lines := strings.Split(scr, "\n")
	return strings.TrimRight(lines[len(lines)-1], " ")
}

// shellQuote quotes args for sh.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// chatInScreen runs lanchat chat on a terminal; when it exits, the shell
// saves the terminal's settings to sttyFile and prints EXITED.
func chatInScreen(t *testing.T, c *cli, sttyFile string, args ...string) *tmuxtest.Screen {
	t.Helper()
	cmd := shellQuote(append([]string{lanchatBin, "chat"}, args...)) +
		"; echo \"EXITED $?\"; stty -a > " + shellQuote([]string{sttyFile}) + "; sleep 60"
	return tmuxtest.New(t, c.env, 100, 24, cmd)
}

// wantTerminalRestored checks the settings saved after lanchat exited.
func wantTerminalRestored(t *testing.T, sttyFile string) {
	t.Helper()
	var b []byte
	eventually(t, "the terminal settings after exit", func() bool {
		var err error
		b, err = os.ReadFile(sttyFile)
		return err == nil && len(b) > 0
	})
	for _, flag := range []string{" icanon", " echo ", " isig", " icrnl"} {
		if !strings.Contains(" "+strings.ReplaceAll(string(b), "\n", " ")+" ", flag) {
			t.Errorf("after lanchat exited the terminal lacks %q (left raw):\n%s", strings.TrimSpace(flag), b)
		}
	}
}

// A half-typed line survives messages arriving; the finished line reaches
// the peer; peer text cannot drive the terminal; the terminal is restored.
func TestTUITypingWhileMessagesArrive(t *testing.T) {
	c := newCLI(t, envPassphrase+"=")
	port := freePort(t, "udp")
	dA, fA := c.initNode("alice", "--no-passphrase")
	dB, fB := c.initNode("bob", "--no-passphrase")
	c.trustEachOther([]string{dA, dB}, []string{fA.String(), fB.String()})
	bob := c.startChat("bob", dB, loopbackFlags(port)...)
	sttyFile := filepath.Join(t.TempDir(), "stty")
	scr := chatInScreen(t, c, sttyFile, append([]string{"--data-dir", dA}, loopbackFlags(port)...)...)
	scr.WaitShows("("+fB.Short()+") linked", "#lobby>")

	scr.Type("hello wor")
	scr.WaitFor("the half line", func(s string) bool { return lastLine(s) == "#lobby> hello wor" })
	bob.say("first from bob")
	bob.say("evil \x1b[2J\x1b[31mred")
	got := scr.WaitShows("first from bob", "evil \uFFFD[2J\uFFFD[31mred")
	if lastLine(got) != "#lobby> hello wor" {
		t.Errorf("the half-typed line did not survive the messages; last line %q, screen:\n%s", lastLine(got), got)
	}
	if strings.Index(got, "first from bob") > strings.Index(got, "hello wor") {
		t.Errorf("messages are not above the line being typed:\n%s", got)
	}

	scr.Type("ld")
	scr.Keys("Enter")
	eventually(t, "bob to get the finished line", func() bool { return containsAll(bob.shown(), "hello world") })
	got = scr.WaitFor("our line shown as a message and the prompt cleared", func(s string) bool {
		return strings.Contains(s, "alice("+fA.Short()+"): hello world") && lastLine(s) == "#lobby>"
	})
	if strings.Contains(got, "#lobby> hello world") {
		t.Errorf("the sent line was left on screen as typed:\n%s", got)
	}
	// No UTF-8 locale here (no LANG): the line's mark is ASCII, and says
	// bob stored it.
	scr.WaitShows("alice(" + fA.Short() + "): hello world [1 ++ ]")

	scr.Keys("Up") // input history
	scr.WaitFor("the last line back from history", func(s string) bool { return lastLine(s) == "#lobby> hello world" })
	scr.Keys("C-u")
	scr.Type("/quit")
	scr.Keys("Enter")
	scr.WaitShows("EXITED 0")
	wantTerminalRestored(t, sttyFile)
	bob.stop()
}

// A first-time user who types lanchat chat is walked through making an
// identity, then chats.
func TestTUIFirstRun(t *testing.T) {
	c := newCLI(t)
	dir := filepath.Join(t.TempDir(), "lanchat")
	sttyFile := filepath.Join(t.TempDir(), "stty")
	scr := chatInScreen(t, c, sttyFile, append([]string{"--data-dir", dir}, loopbackFlags(freePort(t, "udp"))...)...)
	scr.WaitShows("no identity in "+dir, "Create one now? [Y/n]")
	scr.Keys("Enter")
	scr.WaitShows("Your name")
	scr.Type("carol")
	scr.Keys("Enter")
	scr.WaitShows("Passphrase:")
	scr.Type("secret words")
	scr.Keys("Enter")
	scr.WaitShows("Passphrase again:")
	scr.Type("secret words")
	scr.Keys("Enter")
	got := scr.WaitShows("Created identity for carol", "Fingerprint: ", "#lobby>")
	if strings.Contains(got, "secret words") {
		t.Errorf("the passphrase was echoed:\n%s", got)
	}
	scr.Keys("C-c")
	scr.WaitShows("EXITED 0")
	wantTerminalRestored(t, sttyFile)
	r := c.must(0, "id", "--data-dir", dir)
	wantContains(t, "id", r.stdout, "Nickname:    (sealed", "sealed with a passphrase", "History:     sealed, with a key sealed by the passphrase")
	pass := passFile(t, "secret words")
	r = c.must(0, "id", "--data-dir", dir, "--check-passphrase", "--passphrase-file", pass)
	wantContains(t, "id --check-passphrase", r.stdout, "Nickname:    carol")
}
