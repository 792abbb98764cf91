//go:build linux

package lab

import (
	"context"
	"fmt"
	"time"
)

// Linked returns the fingerprints the running chat has a link with, from
// its peer_up and peer_down events since it last started.
func (n *Node) Linked() map[string]bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	run := len(n.runs)
	linked := map[string]bool{}
	for _, ev := range n.events {
		if ev.Run != run || ev.Peer == nil {
			continue
		}
		switch ev.Type {
		case EventPeerUp:
			linked[ev.Peer.Fingerprint] = true
		case EventPeerDown:
			delete(linked, ev.Peer.Fingerprint)
		}
	}
	return linked
}

// LinkedTo reports whether the node has a link with each of the others.
func (n *Node) LinkedTo(others ...*Node) bool {
	linked := n.Linked()
	for _, o := range others {
		if !linked[o.fp] {
			return false
		}
	}
	return true
}

// Bodies returns how often each message body appeared in the node's
// message events, over all its runs.
func (n *Node) Bodies() map[string]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]int{}
	for _, ev := range n.events {
		if ev.Type == EventMessage && ev.Message != nil {
			out[ev.Message.Body]++
		}
	}
	return out
}

// HasBodies reports whether every body appeared in a message event.
func (n *Node) HasBodies(bodies ...string) bool {
	got := n.Bodies()
	for _, b := range bodies {
		if got[b] == 0 {
			return false
		}
	}
	return true
}

// Acked reports whether the node showed its own message with that body:
// lanchat shows a message only once it is stored durably.
func (n *Node) Acked(body string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ev := range n.events {
		if ev.Type == EventMessage && ev.Message != nil && ev.Message.Own && ev.Message.Body == body {
			return true
		}
	}
	return false
}

// Saw reports whether the node printed an event of that type about the
// peer with that fingerprint.
func (n *Node) Saw(typ, fingerprint string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ev := range n.events {
		if ev.Type == typ && ev.Peer != nil && ev.Peer.Fingerprint == fingerprint {
			return true
		}
	}
	return false
}

// WaitFor polls cond until it holds or limit passes.
func (n *Node) WaitFor(what string, limit time.Duration, cond func() bool) error {
	if err := Poll(context.Background(), limit, cond); err != nil {
		return fmt.Errorf("%s: waiting for %s: %w", n.Nick, what, err)
	}
	return nil
}
