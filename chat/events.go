package chat

import (
	"sync"
	"sync/atomic"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// EventKind names what happened. The strings appear in `--json` output.
type EventKind string

// Event kinds.
const (
	EventMessage   EventKind = "message"
	EventPeerUp    EventKind = "peer_up"
	EventPeerDown  EventKind = "peer_down"
	EventJoin      EventKind = "join"  // a linked peer joined a room
	EventLeave     EventKind = "leave" // a linked peer left a room
	EventUntrusted EventKind = "untrusted_peer"
	// EventRefused: a peer you trust proved who it is and refused the link:
	// it has not trusted you (yet).
	EventRefused EventKind = "peer_refused"
	// EventEquivocation: an author signed two different messages with one
	// sequence number in a room. Every member keeps the same one of the two;
	// the author's messages in that room are marked from then on.
	EventEquivocation EventKind = "equivocation"
)

// Event is one thing the UI may show.
type Event struct {
	Kind    EventKind    `json:"type"`
	Time    time.Time    `json:"time"`
	Room    string       `json:"room,omitempty"`
	Message *MessageView `json:"message,omitempty"`
	Peer    *PeerView    `json:"peer,omitempty"`
	Reason  string       `json:"reason,omitempty"`
}

// MessageView is a stored message as the UI shows it.
type MessageView struct {
	ID          string    `json:"id"`
	Room        string    `json:"room"`
	Author      string    `json:"author"`       // full fingerprint
	AuthorShort string    `json:"author_short"` // first fingerprint group
	Nick        string    `json:"nick,omitempty"`
	Seq         uint64    `json:"seq"`
	Clock       uint64    `json:"clock"`
	Time        time.Time `json:"time"`
	Body        string    `json:"body"`
	Own         bool      `json:"own,omitempty"`
	// Trusted is false for an author this node has not trusted (the message
	// came through a peer that trusts them).
	Trusted bool `json:"trusted"`
	// CatchUp marks a message that arrived through catch-up sync.
	CatchUp bool `json:"catch_up,omitempty"`
	// Equivocator marks an author found signing two different messages
	// with one sequence number in this room: what they say may not be what
	// everyone else was shown.
	Equivocator bool `json:"equivocator,omitempty"`
	// Damaged marks a stored record that no longer decodes or verifies (it
	// was changed on disk): Body is not what the author wrote, and may be
	// empty.
	Damaged bool `json:"damaged,omitempty"`
}

// PeerView describes a peer.
type PeerView struct {
	Fingerprint string   `json:"fingerprint"`
	Short       string   `json:"short"`
	Nick        string   `json:"nick,omitempty"`
	Addr        string   `json:"addr,omitempty"`
	Rooms       []string `json:"rooms,omitempty"`
	Trusted     bool     `json:"trusted"`
	Linked      bool     `json:"linked"`
}

func peerView(key lcrypto.IdentityKey) *PeerView {
	fp := key.Fingerprint()
	return &PeerView{Fingerprint: fp.String(), Short: fp.Short()}
}

// hub fans events out to subscribers without ever blocking the node.
type hub struct {
	mu      sync.Mutex
	subs    map[chan Event]struct{}
	buf     int
	dropped atomic.Uint64
}

func (h *hub) subscribe() (<-chan Event, func()) {
	ch := make(chan Event, h.buf)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[chan Event]struct{}{}
	}
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}
}

func (h *hub) publish(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- ev:
		default:
			h.dropped.Add(1)
		}
	}
}

// closeAll ends every subscription (the node stopped).
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}
