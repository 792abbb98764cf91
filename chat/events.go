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
	// EventNick: a linked peer changed its nickname (Peer.Nick is how this
	// node now calls it: the trust list's name if you gave one).
	EventNick EventKind = "nick"
	// EventUntrustedMany sums up, once per Config.NoticeInterval, the knocks
	// of untrusted peers that were not reported one by one (Count of them).
	EventUntrustedMany EventKind = "untrusted_peers"
	// EventDropped: Count events before this one were not delivered to this
	// subscriber because it read too slowly. Messages are in the history.
	EventDropped EventKind = "events_dropped"
	// EventRelinkBackoff: links with a peer keep ending soon after they
	// start; Reason says why and that the node now relinks less often.
	// Said once until a link stays up.
	EventRelinkBackoff EventKind = "relink_backoff"
	// EventReceipt: a member of Room (Peer) now holds more of this node's
	// messages (Reason "stored") or read further (Reason "read"); the
	// node's Receipt says how far each message got.
	EventReceipt EventKind = "receipt"
	// EventPresence: a linked peer said it is online, away or busy
	// (Peer.Presence, Peer.Status).
	EventPresence EventKind = "presence"
	// EventTyping: a linked peer is typing in Room (at most one event per
	// peer and room every 2 s; show it for a few seconds).
	EventTyping EventKind = "typing"
	// EventFile: a fetch of a file offer progressed, paused, finished or
	// failed (File says how far it is).
	EventFile EventKind = "file"
	// EventDeleted: the author of a message this node held deleted it for
	// everyone (here too); Message is its "deleted" view (id, author, seq,
	// Deleted set, no body): show it as deleted where it was.
	EventDeleted EventKind = "deleted"
)

// Event is one thing the UI may show.
type Event struct {
	Kind    EventKind    `json:"type"`
	Time    time.Time    `json:"time"`
	Room    string       `json:"room,omitempty"`
	Message *MessageView `json:"message,omitempty"`
	Peer    *PeerView    `json:"peer,omitempty"`
	Reason  string       `json:"reason,omitempty"`
	// Count is how many for EventUntrustedMany and EventDropped.
	Count uint64 `json:"count,omitempty"`
	// File is the fetch an EventFile is about.
	File *FileView `json:"file,omitempty"`
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
	// Deleted marks the place of a message its author deleted for everyone
	// (PROTOCOL.md 5.13): Body is empty and Time zero (neither is kept).
	Deleted bool `json:"deleted,omitempty"`
	// Mention marks a message of someone else that mentions this node
	// (@nick or @SHORT, see Mentions).
	Mention bool `json:"mention,omitempty"`
	// Conversation is the kind of conversation the message is in: "room"
	// (an open room), "direct" or "private" (an invite-only room).
	Conversation string `json:"conversation"`
	// With is the other person of a direct conversation (its fingerprint),
	// WithNick how this node calls it.
	With     string `json:"with,omitempty"`
	WithNick string `json:"with_nick,omitempty"`
	// RoomName is a private room's name (Room is its identifier).
	RoomName string `json:"room_name,omitempty"`
	// Op is set for a private room's membership operation; Body then says
	// what it did, in words.
	Op *OpView `json:"op,omitempty"`
	// File is the file offer the message carries, if it carries one
	// (`lanchat fetch ID` takes it).
	File *FileOfferView `json:"file,omitempty"`
}

// OpView is a membership operation of a private room as the UI shows it.
type OpView struct {
	Kind        string `json:"kind"`                   // create, invite, remove, promote, leave
	Subject     string `json:"subject,omitempty"`      // fingerprint of who was invited, removed or promoted
	SubjectNick string `json:"subject_nick,omitempty"` // how this node calls them
	Name        string `json:"name,omitempty"`         // create: the room's name
	Cut         uint64 `json:"cut,omitempty"`          // remove: their messages up to this sequence number stay
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
	// Presence is what a linked peer said: "online", "away" or "busy";
	// empty if it said nothing (an older node), Status its status line.
	Presence string `json:"presence,omitempty"`
	Status   string `json:"status,omitempty"`
}

func peerView(key lcrypto.IdentityKey) *PeerView {
	fp := key.Fingerprint()
	return &PeerView{Fingerprint: fp.String(), Short: fp.Short()}
}

// NoticeHeadroom is the share of a subscriber's queue kept for messages:
// any other event is queued only while more than this share is free, so a
// flood of notices never makes a real message be dropped.
const NoticeHeadroom = 4 // 1/4 of the queue

// hub fans events out to subscribers without ever blocking the node. A
// subscriber that falls behind loses events, and is told how many by an
// EventDropped before the next event it gets.
type hub struct {
	mu      sync.Mutex
	subs    map[chan Event]*subscriber
	buf     int
	dropped atomic.Uint64
}

// subscriber is one subscription's undelivered count (guarded by hub.mu).
type subscriber struct {
	dropped uint64
}

func (h *hub) subscribe() (<-chan Event, func()) {
	ch := make(chan Event, h.buf)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[chan Event]*subscriber{}
	}
	h.subs[ch] = &subscriber{}
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
	for ch, sub := range h.subs {
		if !offer(ch, &sub.dropped, ev) {
			h.dropped.Add(1)
		}
	}
}

// offer queues ev on ch without waiting, first telling the subscriber of
// the events it lost (*dropped), and reports whether ev was queued. Events
// other than messages keep to their share of the queue (NoticeHeadroom).
func offer(ch chan Event, dropped *uint64, ev Event) bool {
	if *dropped > 0 && tryQueue(ch, Event{Kind: EventDropped, Time: ev.Time, Count: *dropped}) {
		*dropped = 0
	}
	if !tryQueue(ch, ev) {
		*dropped++
		return false
	}
	return true
}

// tryQueue queues ev on ch if there is room for its kind: the whole queue
// for a message, all but NoticeHeadroom for anything else.
func tryQueue(ch chan Event, ev Event) bool {
	if ev.Kind != EventMessage && len(ch) >= cap(ch)-cap(ch)/NoticeHeadroom {
		return false
	}
	select {
	case ch <- ev:
		return true
	default:
		return false
	}
}

// flushDropped tells each subscriber that lost events how many, if its
// queue has room now (publish does so too; this covers a quiet node).
func (h *hub) flushDropped() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	for ch, sub := range h.subs {
		if sub.dropped > 0 && tryQueue(ch, Event{Kind: EventDropped, Time: now, Count: sub.dropped}) {
			sub.dropped = 0
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
