package control

import (
	"context"
	"errors"

	"github.com/lanchat/lanchat/chat"
)

// API is what every front end asks of lanchat: the CLI's one-shot
// commands, the chat line interpreter and the web UI. Its implementations
// are Service (a node in this process), Client (the node running on a data
// dir, over its control socket) and Local (the database itself, when no
// node runs). The results are the --json schema.
type API interface {
	Identity(ctx context.Context) (*Identity, error)
	History(ctx context.Context, p HistoryParams) ([]*chat.MessageView, error)
	Peers(ctx context.Context) ([]chat.PeerEntry, error)
	Trust(ctx context.Context, p FingerprintParams) (*TrustResult, error)
	Untrust(ctx context.Context, fingerprint string) (*TrustedPeer, error)
	Trusted(ctx context.Context) ([]TrustedPeer, error)
	// CheckPassphrase reports (nil) whether passphrase unlocks the stored
	// secret key (nil passphrase: an unsealed key), which must match the
	// stored public key.
	CheckPassphrase(ctx context.Context, passphrase []byte) error
	// ChangePassphrase re-seals the secret key and the history's key
	// (the history itself is not rewritten); a wrong Old changes nothing.
	ChangePassphrase(ctx context.Context, p ChangePassphraseParams) (*PassphraseResult, error)
	// Forget deletes a room's history from this node's store (not from
	// the other members'), for good: the file is compacted.
	Forget(ctx context.Context, p ForgetParams) (*ForgetResult, error)
	// Export writes the identity, and what p asks for, to a new file
	// sealed with p.FilePassphrase.
	Export(ctx context.Context, p ExportParams) (*ExportResult, error)
	// Retention returns how long messages are kept; SetRetention changes
	// that for a room (or every room) and applies it at once. A running
	// node applies it again every RetentionInterval.
	Retention(ctx context.Context) (*RetentionResult, error)
	SetRetention(ctx context.Context, p RetentionParams) (*RetentionResult, error)
	// Delete deletes one of this node's messages here and asks every
	// member to wipe it too (a signed tombstone). It needs a running node:
	// Local returns ErrNoNode.
	Delete(ctx context.Context, p DeleteParams) (*DeleteResult, error)
	// The methods below need a running node: Local returns ErrNoNode.
	Send(ctx context.Context, p SendParams) (*SendResult, error)
	Rooms(ctx context.Context) ([]string, error)
	Join(ctx context.Context, room string) (*RoomResult, error)
	Leave(ctx context.Context, room string) (*RoomResult, error)
	SetNick(ctx context.Context, nick string) (*NickResult, error)
	// Diagnose returns what the node knows about why peers may not link
	// (lanchat doctor), after probing p.Probe if it is set.
	Diagnose(ctx context.Context, p DiagnoseParams) (*Diagnosis, error)
	// SendFile offers a file or folder (an absolute path) in a room: a
	// signed message carrying the offer, then the node serves its chunks.
	SendFile(ctx context.Context, p SendFileParams) (*chat.FileView, error)
	// Fetch accepts a file offer: the node fetches it into p.Out (an
	// absolute path) and returns at once; EventFile events follow.
	Fetch(ctx context.Context, p FetchParams) (*chat.FileView, error)
	// Files lists the file offers in the history and what became of each
	// (Local answers it from the records too).
	Files(ctx context.Context) ([]*chat.FileView, error)
	// Subscribe streams the node's events until ctx ends or the node
	// stops; the channel is then closed.
	Subscribe(ctx context.Context) (<-chan chat.Event, error)
	// WebLogin mints a one-time login URL of the node's web UI
	// (CodeNoWeb: the node serves none).
	WebLogin(ctx context.Context) (*WebLoginResult, error)
	// Direct conversations and private rooms (convo.go). SendDirect and
	// the room operations need a running node; Members and PrivateRooms
	// are answered from the database too.
	SendDirect(ctx context.Context, p DirectParams) (*SendResult, error)
	CreateRoom(ctx context.Context, p CreateRoomParams) (*PrivateRoom, error)
	Invite(ctx context.Context, p MemberParams) (*MemberResult, error)
	RemoveMember(ctx context.Context, p MemberParams) (*MemberResult, error)
	Promote(ctx context.Context, p MemberParams) (*MemberResult, error)
	LeaveRoom(ctx context.Context, room string) (*MemberResult, error)
	Members(ctx context.Context, room string) (*PrivateRoom, error)
	PrivateRooms(ctx context.Context) ([]PrivateRoom, error)
	// Close releases what the implementation holds (a connection, the
	// database); a Service's node keeps running.
	Close() error

	// Receipts, unread state and presence (PROTOCOL.md 5.11). Receipt,
	// RoomStatus and MarkRead work without a node too (from the database).

	// Receipt says how far a message got: stored by k of n members, read by r.
	Receipt(ctx context.Context, p ReceiptParams) (*chat.ReceiptView, error)
	// RoomStatus returns every room's unread and mention counts.
	RoomStatus(ctx context.Context) ([]chat.RoomStatus, error)
	// MarkRead moves the read position of a room (to a message, or its
	// end); peers are told unless the node runs with NoReadReceipts.
	MarkRead(ctx context.Context, p MarkReadParams) (*chat.RoomStatus, error)
	// SetPresence says online, away or busy, with a status line, to the
	// linked peers.
	SetPresence(ctx context.Context, p PresenceParams) (*PresenceResult, error)
	// Typing tells the peers in a room that the user is typing there
	// (rate-limited by the node).
	Typing(ctx context.Context, room string) error
}

// ErrNoNode is returned by Local for what only a running node can do.
var ErrNoNode = errors.New("no lanchat node runs on this data dir")
