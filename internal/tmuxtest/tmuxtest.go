// Package tmuxtest drives a terminal program through tmux for tests: a
// private tmux server with one pane, keys typed into it and the screen read
// back. Tests that use it skip where tmux is not installed.
package tmuxtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Screen is one tmux pane running a shell command.
type Screen struct {
	t    testing.TB
	sock string
}

// New runs shellCmd in a width×height terminal (TERM=xterm-256color) with
// env as its whole environment, until the end of the test.
func New(t testing.TB, env []string, width, height int, shellCmd string) *Screen {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (make tools installs it)")
	}
	dir, err := os.MkdirTemp("", "lct") // short: tmux's socket path is bounded
	if err != nil {
		t.Fatal(err)
	}
	s := &Screen{t: t, sock: filepath.Join(dir, "tmux")}
	t.Cleanup(func() {
		_ = s.tmux("kill-server")
		os.RemoveAll(dir)
	})
	cmd := exec.Command("tmux", "-f", "/dev/null", "-S", s.sock, "new-session", "-d", "-s", "main",
		"-x", strconv.Itoa(width), "-y", strconv.Itoa(height), shellCmd)
	cmd.Env = append(append([]string{}, env...), "TERM=xterm-256color")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	return s
}

func (s *Screen) tmux(args ...string) error {
	return exec.Command("tmux", append([]string{"-S", s.sock}, args...)...).Run()
}

// Type types text literally.
func (s *Screen) Type(text string) {
	s.t.Helper()
	if err := s.tmux("send-keys", "-t", "main", "-l", text); err != nil {
		s.t.Fatalf("typing %q: %v", text, err)
	}
}

// Keys sends tmux key names (Enter, C-c, Up).
func (s *Screen) Keys(keys ...string) {
	s.t.Helper()
	if err := s.tmux(append([]string{"send-keys", "-t", "main"}, keys...)...); err != nil {
		s.t.Fatalf("keys %v: %v", keys, err)
	}
}

// Text is what the screen shows now, trailing blank lines dropped.
func (s *Screen) Text() string {
	s.t.Helper()
	out, err := exec.Command("tmux", "-S", s.sock, "capture-pane", "-p", "-t", "main").Output()
	if err != nil {
		s.t.Fatalf("capture-pane: %v", err)
	}
	return strings.TrimRight(string(out), "\n ")
}

// CursorX is the cursor's column.
func (s *Screen) CursorX() int {
	s.t.Helper()
	out, err := exec.Command("tmux", "-S", s.sock, "display", "-p", "-t", "main", "#{cursor_x}").Output()
	if err != nil {
		s.t.Fatalf("display: %v", err)
	}
	x, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return x
}

// WaitFor waits until the screen satisfies cond and returns it.
func (s *Screen) WaitFor(what string, cond func(string) bool) string {
	s.t.Helper()
	var last string
	deadline := time.Now().Add(60 * time.Second)
	for {
		if last = s.Text(); cond(last) {
			return last
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s; the screen shows:\n%s", what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitShows waits until the screen contains every one of wants.
func (s *Screen) WaitShows(wants ...string) string {
	s.t.Helper()
	return s.WaitFor(strings.Join(wants, " and "), func(scr string) bool {
		for _, w := range wants {
			if !strings.Contains(scr, w) {
				return false
			}
		}
		return true
	})
}
