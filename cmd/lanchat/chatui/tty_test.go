//go:build unix

package chatui

import (
	"context"
	"crypto/rand"
	"fmt"
	"github.com/lanchat/lanchat/internal/tmuxtest"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lanchat/lanchat/chat"
	"github.com/lanchat/lanchat/control"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// helperEnv makes the test binary run a terminal chat instead of the
// tests: its value is the data dir, then the beacon port.
const helperEnv = "LANCHAT_CHATUI_TTY_HELPER"

func TestMain(m *testing.M) {
	if v := os.Getenv(helperEnv); v != "" {
		os.Exit(ttyHelper(v))
	}
	os.Exit(m.Run())
}

// ttyHelper runs a node on loopback and the terminal chat on this
// process's terminal; it returns the exit code.
func ttyHelper(v string) int {
	dir, port, _ := strings.Cut(v, ",")
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "helper:", err); return 1 }
	id, err := lcrypto.NewIdentity(rand.Reader)
	if err != nil {
		return fail(err)
	}
	db, err := storage.Open(filepath.Join(dir, "lanchat.db"), storage.DefaultOptions())
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	cfg := chat.DefaultConfig()
	cfg.Identity, cfg.Store, cfg.Nickname, cfg.ListenAddr = id, db, "alice", "127.0.0.1:0"
	cfg.Rooms = []string{"lobby", "dev"}
	cfg.Discovery.Addr = "127.255.255.255"
	cfg.Discovery.Port, _ = strconv.Atoi(port)
	node, err := chat.New(cfg)
	if err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	nodeCtx, stopNode := context.WithCancel(context.Background())
	defer stopNode()
	ran := make(chan error, 1)
	go func() { ran <- node.Run(nodeCtx) }()
	if _, err := node.Addr(ctx); err != nil {
		return fail(err)
	}
	logs := NewLogSwitch(os.Stderr)
	err = Run(ctx, control.NewService(node, db, dir), Options{Mode: Terminal, Rooms: []string{"lobby", "dev"},
		TTYIn: os.Stdin, TTYOut: os.Stdout, Logs: logs, NoColor: os.Getenv("NO_COLOR") != ""})
	stopNode()
	if rerr := <-ran; err == nil {
		err = rerr
	}
	if err != nil {
		return fail(err)
	}
	return 0
}

func lastLine(scr string) string {
	lines := strings.Split(scr, "\n")
	return strings.TrimRight(lines[len(lines)-1], " ")
}

// On a real terminal: the first room named is in the prompt; wide text
// and emoji put the cursor where tmux draws it; Ctrl-U clears them; a sent
// line becomes a message; /quit puts the terminal back as it was.
func TestTerminalOnATTY(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	stty := filepath.Join(t.TempDir(), "stty")
	shell := fmt.Sprintf("%q; echo \"EXITED $?\"; stty -a > %q; sleep 60", exe, stty)
	s := tmuxtest.New(t, append(os.Environ(), helperEnv+"="+t.TempDir()+","+strconv.Itoa(freeUDPPort(t)), "NO_COLOR=1"), 60, 12, shell)
	s.WaitFor("the prompt", func(scr string) bool { return lastLine(scr) == "#lobby>" })
	s.Type("日本語🎉")
	s.WaitFor("the wide text", func(scr string) bool { return lastLine(scr) == "#lobby> 日本語🎉" })
	if x := s.CursorX(); x != 16 { // "#lobby> " 8 + 日本語 6 + 🎉 2
		t.Errorf("cursor at column %d after wide text, want 16", x)
	}
	s.Keys("C-u")
	s.WaitFor("the line cleared", func(scr string) bool { return lastLine(scr) == "#lobby>" })
	if x := s.CursorX(); x != 8 {
		t.Errorf("cursor at column %d after Ctrl-U, want 8", x)
	}
	s.Type("hello 🎉")
	s.Keys("Enter")
	s.WaitFor("the message", func(scr string) bool {
		return strings.Contains(scr, "alice(") && strings.Contains(scr, "): hello 🎉") && lastLine(scr) == "#lobby>"
	})
	s.Type("/quit")
	s.Keys("Enter")
	s.WaitFor("the exit", func(scr string) bool { return strings.Contains(scr, "EXITED 0") })
	var b []byte
	deadline := time.Now().Add(30 * time.Second)
	for len(b) == 0 && time.Now().Before(deadline) {
		b, _ = os.ReadFile(stty)
		time.Sleep(20 * time.Millisecond)
	}
	for _, flag := range []string{" icanon", " echo ", " isig", " icrnl"} {
		if !strings.Contains(" "+strings.ReplaceAll(string(b), "\n", " ")+" ", flag) {
			t.Errorf("after the chat the terminal lacks %q (left raw):\n%s", strings.TrimSpace(flag), b)
		}
	}
}
