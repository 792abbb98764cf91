//go:build linux

package lab

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds on the lanchat processes a lab runs.
const (
	cliTimeout  = 30 * time.Second // one lanchat init/trust/id/history
	stopTimeout = 15 * time.Second // SIGTERM to exit
	stderrTail  = 4000             // bytes of a node's stderr logged when a test fails
)

// A Node is the real lanchat binary on a lab host, with a data directory of
// its own. Start runs "lanchat chat --json" and records its events; the
// other methods run one-shot lanchat commands on the same data directory.
// Call its methods from the test's goroutine.
type Node struct {
	t    testing.TB
	Host *Host
	Nick string
	Dir  string // --data-dir
	bin  string
	fp   string

	mu      sync.Mutex
	events  []Event
	runs    []*process // every start, in order
	current *process   // the running chat, nil when stopped
}

// NewNode makes a fresh identity ("lanchat init --no-passphrase") on host h
// and returns the node, not yet running. It is stopped when the test ends.
func NewNode(t testing.TB, h *Host, nick string) *Node {
	t.Helper()
	n := &Node{t: t, Host: h, Nick: nick, Dir: t.TempDir(), bin: Lanchat(t)}
	t.Cleanup(n.cleanup)
	if _, err := n.CLI("init", "--name", nick, "--no-passphrase"); err != nil {
		t.Fatal(err)
	}
	fp, err := n.readFingerprint()
	if err != nil {
		t.Fatal(err)
	}
	n.fp = fp
	return n
}

// Fingerprint returns the node's fingerprint as "lanchat id --json" shows it.
func (n *Node) Fingerprint() string { return n.fp }

// Start runs "lanchat chat --json --verbose args..." on the node's host.
func (n *Node) Start(args ...string) {
	n.t.Helper()
	if err := n.start(args); err != nil {
		n.t.Fatal(err)
	}
}

func (n *Node) start(args []string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.current != nil {
		return fmt.Errorf("%s: already running", n.Nick)
	}
	run := len(n.runs) + 1
	full := append([]string{"--data-dir", n.Dir, "chat", "--json", "--verbose"}, args...)
	cmd := n.Host.Command(context.Background(), n.bin, full...)
	cmd.Env = n.env()
	p := &process{run: run, cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout = &lineWriter{fn: func(line string) { n.addEvent(parseEvent(line, run)) }}
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("%s: %w", n.Nick, err)
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: starting lanchat chat: %w", n.Nick, err)
	}
	go func() { // ends when the process has exited
		p.err = cmd.Wait()
		close(p.done)
	}()
	n.runs = append(n.runs, p)
	n.current = p
	return nil
}

func (n *Node) addEvent(ev Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = append(n.events, ev)
}

// running returns the current process or an error.
func (n *Node) running() (*process, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.current == nil {
		return nil, fmt.Errorf("%s: not running", n.Nick)
	}
	return n.current, nil
}

// Send types a line into the running chat: it is sent to its first room.
func (n *Node) Send(body string) error {
	p, err := n.running()
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(p.stdin, body); err != nil {
		return fmt.Errorf("%s: sending %q: %w", n.Nick, body, err)
	}
	return nil
}

// Stop sends SIGTERM and waits for the chat to exit; it must exit with
// status 0, cleanly, and without a data race report.
func (n *Node) Stop() error {
	p, err := n.running()
	if err != nil {
		return err
	}
	defer n.stopped()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s: no exit within %v of SIGTERM; killed", n.Nick, stopTimeout)
	}
	if p.err != nil {
		return fmt.Errorf("%s: lanchat chat after SIGTERM: %w\n%s", n.Nick, p.err, tail(p.stderr.String()))
	}
	return n.checkRun(p)
}

// Kill SIGKILLs the chat, as a crash or a power cut would end it.
func (n *Node) Kill() error {
	p, err := n.running()
	if err != nil {
		return err
	}
	defer n.stopped()
	_ = p.cmd.Process.Kill()
	<-p.done
	return n.checkRun(p)
}

func (n *Node) stopped() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.current = nil
}

// Running reports whether the chat runs (it may have exited by itself).
func (n *Node) Running() bool {
	p, err := n.running()
	return err == nil && !p.exited()
}

// checkRun fails on what a run must never print: a data race report, a
// panic, or (with --json) a line on stdout that is not a JSON event.
func (n *Node) checkRun(p *process) error {
	stderr := p.stderr.String()
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
		if strings.Contains(stderr, bad) {
			return fmt.Errorf("%s: %q in its stderr:\n%s", n.Nick, bad, tail(stderr))
		}
	}
	for _, ev := range n.Events() {
		if ev.Run == p.run && ev.Type == "" {
			return fmt.Errorf("%s: chat --json printed a line that is not a JSON event: %q", n.Nick, ev.Raw)
		}
	}
	return nil
}

// cleanup stops the node at the end of the test (a chat that exited by
// itself fails the test) and, if the test failed, logs what each run
// printed on stderr.
func (n *Node) cleanup() {
	if n.Running() {
		if err := n.Stop(); err != nil {
			n.t.Errorf("cleanup: %v", err)
		}
	} else if p, err := n.running(); err == nil {
		<-p.done
		n.stopped()
		n.t.Errorf("%s: lanchat chat (run %d) exited by itself: %v", n.Nick, p.run, p.err)
	}
	if !n.t.Failed() {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, p := range n.runs {
		n.t.Logf("%s (run %d) stderr:\n%s", n.Nick, i+1, tail(p.stderr.String()))
	}
}

func tail(s string) string {
	if len(s) > stderrTail {
		return "..." + s[len(s)-stderrTail:]
	}
	return s
}

// Events returns every event the node printed so far, over all its runs.
func (n *Node) Events() []Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.events)
}

// Stderr returns what the node's runs printed on stderr.
func (n *Node) Stderr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var b strings.Builder
	for _, p := range n.runs {
		b.WriteString(p.stderr.String())
	}
	return b.String()
}
