package chat

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// waitTimeout bounds every wait of these tests: far beyond what any
// condition needs on a loaded machine, so only a real hang fails.
const waitTimeout = 45 * time.Second

// poll reports whether cond holds within waitTimeout, checking it every
// 20 ms. It is the one way these tests wait (never a bare sleep).
func poll(cond func() bool) bool {
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// waitFor fails the test unless cond holds within waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll(cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// waitClosed fails the test unless ch is closed within waitTimeout.
func waitClosed(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	waitFor(t, what, func() bool { return isClosed(ch) })
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitEvent waits for an event of kind about peer from tn's stream.
func (tn *testNode) waitEvent(t *testing.T, kind EventKind, about *testNode) Event {
	t.Helper()
	var got Event
	waitFor(t, fmt.Sprintf("%s: a %s event about %s", tn.name, kind, about.name), func() bool {
		for {
			select {
			case ev := <-tn.events:
				if ev.Kind == kind && ev.Peer != nil && ev.Peer.Fingerprint == about.id.Fingerprint().String() {
					got = ev
					return true
				}
			default:
				return false
			}
		}
	})
	return got
}

// lanchatGoroutines returns the stacks of the goroutines, other than the
// caller's, that run or were started by lanchat code, by goroutine id.
func lanchatGoroutines() map[uint64]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[uint64]string{}
	for i, g := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 { // the caller's own goroutine comes first
			continue
		}
		if !bytes.Contains(g, []byte("github.com/lanchat/lanchat/")) {
			continue
		}
		head, _, _ := strings.Cut(string(g), " [")
		id, err := strconv.ParseUint(strings.TrimPrefix(head, "goroutine "), 10, 64)
		if err != nil {
			continue
		}
		out[id] = string(g)
	}
	return out
}

// checkNoLeaks fails t if, within waitTimeout, goroutines of lanchat code
// remain that were not there before (the ids in before): a node that
// returned from Run, and the links a test opened, leave nothing running.
func checkNoLeaks(t *testing.T, before map[uint64]string) {
	t.Helper()
	var leaked []string
	if poll(func() bool {
		leaked = leaked[:0]
		for id, stack := range lanchatGoroutines() {
			if _, ok := before[id]; !ok {
				leaked = append(leaked, stack)
			}
		}
		return len(leaked) == 0
	}) {
		return
	}
	t.Errorf("%d goroutines of lanchat code still run after the nodes stopped:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
}
