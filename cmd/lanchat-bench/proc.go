//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// makeDataDir creates a lanchat data dir (what `lanchat init` makes) for id,
// unsealed so the binary needs no passphrase, trusting the given keys, and
// returns the open store.
func makeDataDir(dir string, id *lcrypto.Identity, trusted ...lcrypto.IdentityKey) (*storage.DB, error) {
	db, err := openStore(dir, "lanchat", trusted...)
	if err != nil {
		return nil, err
	}
	_, static := id.NoiseStatic()
	rec := storage.IdentityRecord{Key: id.Public(), NoiseStatic: static, Secret: id.MarshalSecret(), Nickname: "bench"}
	if err := db.PutIdentity(rec); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// childEnv is the environment of a lanchat child: its own data dir and
// home, nothing from the user's.
func childEnv(home string) []string {
	return []string{"LANCHAT_HOME=" + home, "HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"LANCHAT_WEB_ADDR=off"} // no web UI: many children, one fixed port
}

// child is a running `lanchat chat` process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string   // stderr lines; dropped when nobody reads them
	done  chan struct{} // closed when the process has exited
	err   error         // cmd.Wait's, once done is closed
}

// startChat runs `lanchat chat` on home's data dir with args; stdin stays
// open until stop.
func startChat(binary, home string, args ...string) (*child, error) {
	cmd := exec.Command(binary, append([]string{"chat"}, args...)...)
	cmd.Env = childEnv(home)
	cmd.Stdout = io.Discard
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting lanchat chat: %w", err)
	}
	c := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 256), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case c.lines <- sc.Text():
			default:
			}
		}
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// waitLine waits for a stderr line containing s.
func (c *child) waitLine(ctx context.Context, s string, within time.Duration) error {
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case line := <-c.lines:
			if strings.Contains(line, s) {
				return nil
			}
		case <-timer.C:
			return fmt.Errorf("lanchat chat did not say %q within %v", s, within)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// stop closes stdin (lanchat chat then says bye and exits) and waits; a
// child that does not exit within the limit is killed.
func (c *child) stop(within time.Duration) error {
	c.stdin.Close()
	select {
	case <-c.done:
		return c.err
	case <-time.After(within):
		c.kill()
		return fmt.Errorf("lanchat chat did not exit within %v after end of input", within)
	}
}

// kill ends the child at once (also a stopped one) and waits for it.
func (c *child) kill() {
	select {
	case <-c.done:
		return
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return
	}
	<-c.done
}

func (c *child) signal(sig syscall.Signal) error { return c.cmd.Process.Signal(sig) }

// procStatusKiB reads a "VmRSS"-style field of /proc/<pid>/status, in KiB.
func procStatusKiB(pid int, field string) (int, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("reading memory of process %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("process %d: no %s in /proc status", pid, field)
}
