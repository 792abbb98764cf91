package chat

import (
	"sync/atomic"

	"github.com/lanchat/lanchat/session"
)

// Chat frame types (PROTOCOL.md 4.2 and 5). The session hands every type
// from session.FirstAppFrame up to the node untouched; these are the ones
// this version knows, and the others are skipped and counted
// (Stats.FramesSkipped). The numbers are on the wire: ONLY APPEND TO THIS
// LIST.
const (
	frameChat         session.FrameType = 0x10 // a signed chat message
	frameSyncRequest  session.FrameType = 0x11 // catch-up sync: what I have
	frameSyncResponse session.FrameType = 0x12 // catch-up sync: what you missed
	frameRoomJoin     session.FrameType = 0x13 // I joined a room
	frameRoomLeave    session.FrameType = 0x14 // I left a room
	frameSyncCheck    session.FrameType = 0x15 // catch-up sync: my chain hashes, to find differing copies (5.6)
	frameNick         session.FrameType = 0x16 // my nickname from now on (5.2)
	frameDelete       session.FrameType = 0x28 // delete my message for everyone (5.13)
)

// maxFrameSize is the largest chat frame body this node sends or accepts:
// room for a sync batch (syncBatchBytes) with headroom for a peer that
// batches differently. The node sets it as its links' session bound
// (session.Config.MaxFrameSize); both sides must use the same value.
const maxFrameSize = 1 << 20

var chatFrameNames = map[session.FrameType]string{
	frameChat:         "chat",
	frameSyncRequest:  "sync-request",
	frameSyncResponse: "sync-response",
	frameRoomJoin:     "room-join",
	frameRoomLeave:    "room-leave",
	frameSyncCheck:    "sync-check",
	frameNick:         "nick",
	frameDelete:       "delete",
}

// frameName names a frame type, e.g. "chat", "ping" or "type-0x2a".
func frameName(t session.FrameType) string {
	if s, ok := chatFrameNames[t]; ok {
		return s
	}
	return t.String()
}

// Stats are counters of a node, for tests and diagnostics.
type Stats struct {
	// FramesSkipped counts received frames of application types this
	// version does not know (a newer peer's); they are dropped.
	FramesSkipped uint64
}

// nodeStats is what Stats reads.
type nodeStats struct {
	skipped atomic.Uint64
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	return Stats{FramesSkipped: n.stats.skipped.Load()}
}
