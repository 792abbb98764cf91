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
	// Direct conversations and private rooms (5.9, 5.10): only ever sent
	// to the conversation's members.
	frameConvoMessage      session.FrameType = 0x17 // a signed message of a direct conversation or private room
	frameConvoSyncRequest  session.FrameType = 0x18 // conversation catch-up: what I have (5.4's layout)
	frameConvoSyncResponse session.FrameType = 0x19 // conversation catch-up: what you missed (5.4's layout)
	frameConvoWelcome      session.FrameType = 0x1a // a private room's operations, to one of its members
	// 0x1b: frameConvoSyncCheck, below.
	frameStored      session.FrameType = 0x1c // receipts: what I hold without gaps, by author (5.11)
	frameRead        session.FrameType = 0x1d // receipts: the last message I read in a room (5.11)
	framePresence    session.FrameType = 0x1e // online, away or busy, with a status line (5.11)
	frameTyping      session.FrameType = 0x1f // I am typing in a room (5.11)
	frameFileRequest session.FrameType = 0x20 // send me a chunk (or manifest piece) of a file offer (5.12)
	frameFileData    session.FrameType = 0x21 // the chunk asked for (5.12)
	frameFileNone    session.FrameType = 0x22 // I cannot send the chunk asked for, and why (5.12)
	frameDelete      session.FrameType = 0x28 // delete my message for everyone (5.13)
	frameRelayCaps   session.FrameType = 0x29 // I repair gaps myself: a bounded relay may leave me to its tree (5.14)
	frameRoomsMore   session.FrameType = 0x2a // the rooms I am in beyond my hello's; I take more than 64 from you (5.15)
	frameFileHave    session.FrameType = 0x2b // the chunks of a file I hold verified (5.12)
)

// frameConvoSyncCheck is the sync-check frame of conversations (5.6's
// layout, PROTOCOL.md 5.9): my chain hashes, sent to a member only.
const frameConvoSyncCheck session.FrameType = 0x1b

// maxFrameSize is the largest chat frame body this node sends or accepts:
// room for a sync batch (syncBatchBytes) with headroom for a peer that
// batches differently. The node sets it as its links' session bound
// (session.Config.MaxFrameSize); both sides must use the same value.
const maxFrameSize = 1 << 20

var chatFrameNames = map[session.FrameType]string{
	frameChat:              "chat",
	frameSyncRequest:       "sync-request",
	frameSyncResponse:      "sync-response",
	frameRoomJoin:          "room-join",
	frameRoomLeave:         "room-leave",
	frameSyncCheck:         "sync-check",
	frameNick:              "nick",
	frameConvoMessage:      "convo-message",
	frameConvoSyncRequest:  "convo-sync-request",
	frameConvoSyncResponse: "convo-sync-response",
	frameConvoWelcome:      "convo-welcome",
	frameConvoSyncCheck:    "convo-sync-check",
	frameStored:            "stored",
	frameRead:              "read",
	framePresence:          "presence",
	frameTyping:            "typing",
	frameFileRequest:       "file-request",
	frameFileData:          "file-data",
	frameFileNone:          "file-none",
	frameDelete:            "delete",
	frameRelayCaps:         "relay-caps",
	frameRoomsMore:         "rooms-more",
	frameFileHave:          "file-have",
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
	// StoredFramesSent and ReadFramesSent count the stored and read
	// frames sent (5.11), StoredBytesSent and ReadBytesSent their bytes
	// on the wire (framing and tag included).
	StoredFramesSent uint64
	StoredBytesSent  uint64
	ReadFramesSent   uint64
	ReadBytesSent    uint64
	// FileBytesServed counts the chunk bytes this node sent to peers.
	FileBytesServed uint64
	// FileBytesFetched counts the chunk bytes this node received for its
	// fetches, rejected ones included.
	FileBytesFetched uint64
	// FileChunksRejected counts received chunks that did not match their
	// hash (each is fetched again, from another member if there is one).
	FileChunksRejected uint64
	// FileRequestsStalled counts chunk requests asked again of another
	// member because the one asked answered nothing for 2 s (it may be
	// gone, or claim chunks and sit on its requests).
	FileRequestsStalled uint64
	// DuplicatesDropped counts received copies of messages this node
	// had stored or was storing, dropped before decoding (recent.go).
	DuplicatesDropped uint64
	// ChatFramesSent and ChatBytesSent count the chat frames (0x10) this
	// node sent live (its own messages and relayed ones, not sync
	// batches) and their bytes on the wire (framing and tag included).
	ChatFramesSent uint64
	ChatBytesSent  uint64
	// RepairSyncs counts the sync requests the bounded relay sent to
	// repair gaps (5.14).
	RepairSyncs uint64
	// LinkFramesSent counts the application frames of every type sent on
	// every link since the node started (session.Stats.FramesSent summed).
	LinkFramesSent uint64
}

// nodeStats is what Stats reads.
type nodeStats struct {
	skipped                               atomic.Uint64
	storedFrames                          atomic.Uint64
	storedBytes                           atomic.Uint64
	readFrames                            atomic.Uint64
	readBytes                             atomic.Uint64
	fileServed, fileFetched, fileRejected atomic.Uint64
	fileStalled                           atomic.Uint64
	duplicates                            atomic.Uint64
	chatFrames, chatBytes, repairSyncs    atomic.Uint64
	endedLinkFrames                       atomic.Uint64 // frames sent on links that ended
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	s := Stats{FramesSkipped: n.stats.skipped.Load(),
		StoredFramesSent: n.stats.storedFrames.Load(), StoredBytesSent: n.stats.storedBytes.Load(),
		ReadFramesSent: n.stats.readFrames.Load(), ReadBytesSent: n.stats.readBytes.Load(),
		FileBytesServed: n.stats.fileServed.Load(), FileBytesFetched: n.stats.fileFetched.Load(),
		FileChunksRejected: n.stats.fileRejected.Load(), FileRequestsStalled: n.stats.fileStalled.Load(),
		DuplicatesDropped: n.stats.duplicates.Load()}
	n.relayStats(&s)
	return s
}
