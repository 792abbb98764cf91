package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// screen is a terminal driven through tmux: a private server, one pane.
type screen struct {
	t    *testing.T
	sock string
}

// newScreen runs shellCmd in a width×height terminal with env.
func newScreen(t *testing.T, env []string, width, height int, shellCmd string) *screen {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (make tools installs it)")
	}
	dir, err := os.MkdirTemp("", "lct") // short: tmux's socket path is bounded
	if err != nil {
		t.Fatal(err)
	}
	s := &screen{t: t, sock: filepath.Join(dir, "tmux")}
	t.Cleanup(func() {
		_ = s.tmux("kill-server")
		os.RemoveAll(dir)
	})
	cmd := exec.Command("tmux", "-f", "/dev/null", "-S", s.sock, "new-session", "-d", "-s", "main",
		"-x", strconv.Itoa(width), "-y", strconv.Itoa(height), shellCmd)
	cmd.Env = slices.Concat(env, []string{"TERM=xterm-256color"})
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	return s
}

func (s *screen) tmux(args ...string) error {
	return exec.Command("tmux", append([]string{"-S", s.sock}, args...)...).Run()
}

// typeText types text literally; keys sends key names (Enter, C-c).
func (s *screen) typeText(text string) {
	s.t.Helper()
	if err := s.tmux("send-keys", "-t", "main", "-l", text); err != nil {
		s.t.Fatalf("typing %q: %v", text, err)
	}
}

func (s *screen) keys(keys ...string) {
	s.t.Helper()
	if err := s.tmux(append([]string{"send-keys", "-t", "main"}, keys...)...); err != nil {
		s.t.Fatalf("keys %v: %v", keys, err)
	}
}

// text is what the screen shows now, trailing blank lines dropped.
func (s *screen) text() string {
	s.t.Helper()
	out, err := exec.Command("tmux", "-S", s.sock, "capture-pane", "-p", "-t", "main").Output()
	if err != nil {
		s.t.Fatalf("capture-pane: %v", err)
	}
	return strings.TrimRight(string(out), "\n ")
}

// waitFor waits until the screen satisfies cond and returns it.
func (s *screen) waitFor(what string, cond func(string) bool) string {
	s.t.Helper()
	var last string
	deadline := time.Now().Add(20 * time.Second)
	for {
		if last = s.text(); cond(last) {
			return last
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s; the screen shows:\n%s", what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *screen) waitShows(wants ...string) string {
	s.t.Helper()
	return s.waitFor(strings.Join(wants, " and "), func(scr string) bool {
		for _, w := range wants {
			if !strings.Contains(scr, w) {
				return false
			}
		}
		return true
	})
}

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
func chatInScreen(t *testing.T, c *cli, sttyFile string, args ...string) *screen {
	t.Helper()
	cmd := shellQuote(append([]string{lanchatBin, "chat"}, args...)) +
		"; echo \"EXITED $?\"; stty -a > " + shellQuote([]string{sttyFile}) + "; sleep 60"
	return newScreen(t, c.env, 100, 24, cmd)
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
	scr.waitShows("("+fB.Short()+") linked", "#lobby>")

	scr.typeText("hello wor")
	scr.waitFor("the half line", func(s string) bool { return lastLine(s) == "#lobby> hello wor" })
	bob.say("first from bob")
	bob.say("evil \x1b[2J\x1b[31mred")
	got := scr.waitShows("first from bob", "evil \uFFFD[2J\uFFFD[31mred")
	if lastLine(got) != "#lobby> hello wor" {
		t.Errorf("the half-typed line did not survive the messages; last line %q, screen:\n%s", lastLine(got), got)
	}
	if strings.Index(got, "first from bob") > strings.Index(got, "hello wor") {
		t.Errorf("messages are not above the line being typed:\n%s", got)
	}

	scr.typeText("ld")
	scr.keys("Enter")
	eventually(t, "bob to get the finished line", func() bool { return containsAll(bob.shown(), "hello world") })
	got = scr.waitFor("our line shown as a message and the prompt cleared", func(s string) bool {
		return strings.Contains(s, "alice("+fA.Short()+"): hello world") && lastLine(s) == "#lobby>"
	})
	if strings.Contains(got, "#lobby> hello world") {
		t.Errorf("the sent line was left on screen as typed:\n%s", got)
	}

	scr.keys("Up") // input history
	scr.waitFor("the last line back from history", func(s string) bool { return lastLine(s) == "#lobby> hello world" })
	scr.keys("C-u")
	scr.typeText("/quit")
	scr.keys("Enter")
	scr.waitShows("EXITED 0")
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
	scr.waitShows("no identity in "+dir, "Create one now? [Y/n]")
	scr.keys("Enter")
	scr.waitShows("Your name")
	scr.typeText("carol")
	scr.keys("Enter")
	scr.waitShows("Passphrase:")
	scr.typeText("secret words")
	scr.keys("Enter")
	scr.waitShows("Passphrase again:")
	scr.typeText("secret words")
	scr.keys("Enter")
	got := scr.waitShows("Created identity for carol", "Fingerprint: ", "#lobby>")
	if strings.Contains(got, "secret words") {
		t.Errorf("the passphrase was echoed:\n%s", got)
	}
	scr.keys("C-c")
	scr.waitShows("EXITED 0")
	wantTerminalRestored(t, sttyFile)
	r := c.must(0, "id", "--data-dir", dir)
	wantContains(t, "id", r.stdout, "Nickname:    carol", "sealed with a passphrase")
	pass := passFile(t, "secret words")
	c.must(0, "id", "--data-dir", dir, "--check-passphrase", "--passphrase-file", pass)
}
