//go:build linux

package lab

import (
	"encoding/json"
	"time"
)

// Event kinds of "lanchat chat --json".
const (
	EventMessage   = "message"
	EventPeerUp    = "peer_up"
	EventPeerDown  = "peer_down"
	EventUntrusted = "untrusted_peer"
)

// Event is one line of "lanchat chat --json", as a script reads it.
type Event struct {
	Type    string    `json:"type"`
	Time    time.Time `json:"time"`
	Room    string    `json:"room,omitempty"`
	Message *Message  `json:"message,omitempty"`
	Peer    *Peer     `json:"peer,omitempty"`
	Reason  string    `json:"reason,omitempty"`

	Run int    `json:"-"` // which start of the node printed it (1, 2, ...)
	Raw string `json:"-"` // the line as printed
}

// Message is a chat message as "lanchat chat --json" and
// "lanchat history --json" print it.
type Message struct {
	ID      string `json:"id"`
	Room    string `json:"room"`
	Author  string `json:"author"` // full fingerprint
	Nick    string `json:"nick,omitempty"`
	Seq     uint64 `json:"seq"`
	Clock   uint64 `json:"clock"`
	Body    string `json:"body"`
	Own     bool   `json:"own,omitempty"`
	Trusted bool   `json:"trusted"`
	CatchUp bool   `json:"catch_up,omitempty"`
	// Equivocator: the author was found signing two different messages
	// with one sequence number in this room.
	Equivocator bool `json:"equivocator,omitempty"`
}

// Peer is a peer as the events describe it.
type Peer struct {
	Fingerprint string `json:"fingerprint"`
	Nick        string `json:"nick,omitempty"`
	Addr        string `json:"addr,omitempty"`
	Trusted     bool   `json:"trusted"`
	Linked      bool   `json:"linked"`
}

// parseEvent reads one output line; a line that is not an event comes back
// with an empty Type.
func parseEvent(line string, run int) Event {
	var ev Event
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		ev = Event{}
	}
	ev.Run, ev.Raw = run, line
	return ev
}
