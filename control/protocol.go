package control

import (
	"encoding/json"
	"errors"
	"github.com/lanchat/lanchat/chat"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// The control socket lets the other commands of the same user reach a
// running node: a unix socket in the data directory speaking JSON lines
// (PROTOCOL.md, section 6). A request is one line
//
//	{"id":1,"method":"history","params":{"rooms":["lobby"],"limit":50}}
//
// and gets one line back, with the same id:
//
//	{"id":1,"result":[...]}   or   {"id":1,"error":{"code":"not_trusted","message":"..."}}
//
// After "subscribe", event lines {"id":<the subscribe id>,"event":{...}}
// follow on the same connection, interleaved with further responses.

// SocketName is the control socket's file name in the data directory.
const SocketName = "lanchat.sock"

// Control methods. ONLY APPEND TO THIS LIST: scripts name them.
const (
	MethodID        = "id"
	MethodHistory   = "history"
	MethodPeers     = "peers"
	MethodTrust     = "trust"
	MethodUntrust   = "untrust"
	MethodTrusted   = "trusted"
	MethodSend      = "send"
	MethodRooms     = "rooms"
	MethodJoin      = "join"
	MethodLeave     = "leave"
	MethodSubscribe = "subscribe"
	MethodNick      = "nick"
	// The file transfer methods (PROTOCOL.md 5.12).
	MethodSendFile = "send_file"
	MethodFetch    = "fetch"
	MethodFiles    = "files"
	// MethodCheckPassphrase answers {} when the passphrase unlocks the key.
	MethodCheckPassphrase = "check_passphrase"
	MethodReceipt         = "receipt"
	MethodRoomStatus      = "room_status"
	MethodMarkRead        = "mark_read"
	MethodPresence        = "presence"
	MethodTyping          = "typing"
	// MethodDiagnose answers what the node knows for lanchat doctor.
	MethodDiagnose = "diagnose"
	// MethodWebLogin answers a one-time login URL of the web UI.
	MethodWebLogin = "web_login"
	// Direct conversations and private rooms (convo.go).
	MethodSendDirect   = "send_direct"
	MethodRoomCreate   = "room_create"
	MethodRoomInvite   = "room_invite"
	MethodRoomRemove   = "room_remove"
	MethodRoomPromote  = "room_promote"
	MethodRoomLeave    = "room_leave"
	MethodRoomMembers  = "room_members"
	MethodPrivateRooms = "private_rooms"
	// MethodChangePassphrase re-seals the keys (ChangePassphraseParams).
	MethodChangePassphrase = "change_passphrase"
	// MethodForget deletes a room's local history (ForgetParams).
	MethodForget = "forget"
	// MethodExport writes an export file (ExportParams).
	MethodExport = "export"
	// MethodRetention answers the retention settings (RetentionResult).
	MethodRetention = "retention"
	// MethodSetRetention changes one and applies them (RetentionParams).
	MethodSetRetention = "set_retention"
	// MethodDelete deletes one of this node's messages for everyone
	// (DeleteParams).
	MethodDelete = "delete"
)

// Control error codes. ONLY APPEND TO THIS LIST.
const (
	CodeBadRequest      = "bad_request"      // not a JSON request object
	CodeTooLarge        = "too_large"        // request line over the limit; the connection is closed
	CodeUnknownMethod   = "unknown_method"   // no such method
	CodeInvalidParams   = "invalid_params"   // params missing or of the wrong shape
	CodeBusy            = "busy"             // too many clients; the connection is closed
	CodeBadFingerprint  = "bad_fingerprint"  // a fingerprint that does not parse
	CodeBadRoom         = "bad_room"         // a room name that breaks the rules
	CodeNotJoined       = "not_joined"       // the node is not in that room
	CodeNotTrusted      = "not_trusted"      // untrust of a fingerprint not on the list
	CodeSelf            = "self"             // the node's own fingerprint
	CodeCorrupt         = "corrupt"          // the database is damaged
	CodeFailed          = "failed"           // anything else
	CodeNoNode          = "no_node"          // the method needs a running node
	CodeWrongPassphrase = "wrong_passphrase" // the passphrase does not unlock the key
	CodeNoMessage       = "no_message"       // no such message is stored
	CodeBadPresence     = "bad_presence"     // not online, away or busy, or a bad status line
	CodeNoWeb           = "no_web"           // the node serves no web UI
	CodeNotMember       = "not_member"       // not a member of that private room, or the room's rules refuse the operation
	CodeNoPeer          = "no_peer"          // no trusted peer by that name or fingerprint (or its key is not known yet)
	CodeAmbiguous       = "ambiguous"        // a name several rooms or peers have: give the id or fingerprint
	CodeSealed          = "sealed"           // the history is sealed and no passphrase was given
	CodeNotYours        = "not_yours"        // delete of a message this node did not write
)

// request is one request line.
type request struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// response is one response line; exactly one of Result and Error is set.
type response struct {
	ID     json.RawMessage `json:"id"`
	Result any             `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// eventLine is one event line of a subscription.
type eventLine struct {
	ID    json.RawMessage `json:"id"`
	Event chat.Event      `json:"event"`
}

// Error is an error answered by the control socket. errors.Is maps
// its code back to the package error it stands for (storage.ErrNotTrusted,
// chat.ErrNotJoined, ...), so a client can branch as if it had called the node.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"` // what the user can do about it
}

func (e *Error) Error() string { return e.Message }

// withHint sets e's hint and returns e.
func withHint(e *Error, hint string) *Error {
	e.Hint = hint
	return e
}

// Is reports whether the error's code stands for target.
func (e *Error) Is(target error) bool {
	for _, c := range errorCodes {
		if c.code == e.Code && errors.Is(c.err, target) {
			return true
		}
	}
	return false
}

// errorCodes maps package errors to codes, first match wins.
var errorCodes = []struct {
	err  error
	code string
}{
	{lcrypto.ErrFingerprintEmpty, CodeBadFingerprint},
	{lcrypto.ErrFingerprintLength, CodeBadFingerprint},
	{lcrypto.ErrFingerprintChar, CodeBadFingerprint},
	{lcrypto.ErrFingerprintChecksum, CodeBadFingerprint},
	{lcrypto.ErrFingerprintZero, CodeBadFingerprint},
	{chat.ErrRoomName, CodeBadRoom},
	{chat.ErrNotJoined, CodeNotJoined},
	{storage.ErrNotTrusted, CodeNotTrusted},
	{storage.ErrSelf, CodeSelf},
	{storage.ErrCorrupt, CodeCorrupt},
	{ErrNoNode, CodeNoNode},
	{lcrypto.ErrWrongPassphrase, CodeWrongPassphrase},
	{chat.ErrNoMessage, CodeNoMessage},
	{chat.ErrPresence, CodeBadPresence},
	{chat.ErrNotMember, CodeNotMember},
	{chat.ErrNoPeer, CodeNoPeer},
	{chat.ErrAmbiguous, CodeAmbiguous},
	{storage.ErrSealed, CodeSealed},
	{chat.ErrNotYours, CodeNotYours},
}

// toError turns a method's error into what the client is told.
func toError(err error) *Error {
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return &Error{Code: c.code, Message: err.Error()}
		}
	}
	return &Error{Code: CodeFailed, Message: err.Error()}
}

// The schema: params and results of the methods, the same objects that
// the CLI's --json prints (PROTOCOL.md section 6). SchemaVersion counts its
// incompatible changes; fields are only ever added within a version.
// Times are RFC 3339 in UTC, at most millisecond precision.

// SchemaVersion is the version of the control schema, in "id"'s result.
const SchemaVersion = 2

// HistoryParams are the params of "history" (all optional).
type HistoryParams struct {
	Rooms []string  `json:"rooms,omitempty"` // none: every room
	Limit int       `json:"limit,omitempty"` // newest N; 0: all
	Since time.Time `json:"since,omitzero"`  // zero: no bound
	Grep  string    `json:"grep,omitempty"`  // case-insensitive substring
	// Unread keeps only others' messages after the read position.
	Unread bool `json:"unread,omitempty"`
	// With adds the direct conversation with this trusted peer (name or
	// fingerprint) to Rooms. Rooms may name private rooms by name or id.
	With string `json:"with,omitempty"`
	// Kind, when set, says which kind of room Rooms name: "room" (open)
	// or "private". Unset, a name that both an open room the node is in
	// and a private room have is ambiguous (as for send).
	Kind string `json:"kind,omitempty"`
	// Deleted adds a line (a message with deleted: true, no body) where
	// each message this node held was deleted for everyone by its author.
	// Not with Grep, Since or Unread. A member that never held a deleted
	// message has no line for it (it never knew its place).
	Deleted bool `json:"deleted,omitempty"`
}

// FingerprintParams are the params of "trust" and "untrust".
type FingerprintParams struct {
	Fingerprint string `json:"fingerprint"`
	Name        string `json:"name,omitempty"` // trust only
}

// TrustResult is the result of "trust".
type TrustResult struct {
	Fingerprint  string `json:"fingerprint"`
	Added        bool   `json:"added"`         // false: it was already trusted
	Name         string `json:"name"`          // the name now on the list
	PreviousName string `json:"previous_name"` // the name before, if it was trusted
}

// TrustedPeer is one entry of "trusted" (and the result of "untrust").
type TrustedPeer struct {
	Fingerprint string     `json:"fingerprint"`
	Name        string     `json:"name"`
	AddedAt     *time.Time `json:"added_at"`
	LastSeen    *time.Time `json:"last_seen"` // null: never linked
	// NameSealed: the name is sealed and no passphrase was given (Name is "").
	NameSealed bool `json:"name_sealed,omitempty"`
}

// SendParams are the params of "send".
type SendParams struct {
	Room string `json:"room"`
	Body string `json:"body"`
	// Join makes the node join Room first if it is not in it (it stays).
	// Without it, sending to a room the node is not in is not_joined.
	Join bool `json:"join,omitempty"`
	// Kind, when set, says which kind of room Room names: "room" (open)
	// or "private". Unset, a name that both an open room the node is in
	// and a private room have is ambiguous.
	Kind string `json:"kind,omitempty"`
}

// SendResult is the result of "send".
type SendResult struct {
	Message  *chat.MessageView `json:"message"`
	HandedTo int               `json:"handed_to"` // links the message was handed to
	Linked   []string          `json:"linked"`    // fingerprints of every linked peer
	// TimedOut: a node started for this one send gave up waiting for
	// every trusted peer it heard to link.
	TimedOut bool `json:"timed_out"`
	// Stored counts the room's other current members that hold the
	// message durably, of Members; Read those that read it (receipts,
	// PROTOCOL.md 5.11). lanchat send --wait fills them in as they were
	// when it stopped waiting.
	Stored  int `json:"stored"`
	Members int `json:"members"`
	Read    int `json:"read"`
}

// ReceiptParams are the params of "receipt": a message by room, author
// (a fingerprint; default this node) and sequence number.
type ReceiptParams struct {
	Room   string `json:"room"` // a room, a private room's name or id, or a conversation id
	Author string `json:"author,omitempty"`
	Seq    uint64 `json:"seq"`
	With   string `json:"with,omitempty"` // instead of room: the direct conversation with this trusted peer
	Kind   string `json:"kind,omitempty"` // "room" or "private": which room a name shared by both means (as for send)
}

// MarkReadParams are the params of "mark_read": the room, and the id of
// the last message read ("" or absent: the room's last message).
type MarkReadParams struct {
	Room string `json:"room"` // a room, a private room's name or id, or a conversation id
	ID   string `json:"id,omitempty"`
	With string `json:"with,omitempty"` // instead of room: the direct conversation with this trusted peer
	Kind string `json:"kind,omitempty"` // "room" or "private": which room a name shared by both means (as for send)
}

// PresenceParams are the params of "presence": state "online", "away" or
// "busy", and a status line (at most 128 bytes).
type PresenceParams struct {
	State  string `json:"state"`
	Status string `json:"status,omitempty"`
}

// PresenceResult is the result of "presence": what the peers are told now.
type PresenceResult struct {
	State  string `json:"state"`
	Status string `json:"status"`
}

// RoomParams are the params of "join" and "leave".
type RoomParams struct {
	Room string `json:"room"`
}

// RoomResult is the result of "join" and "leave": the room's normal name.
type RoomResult struct {
	Room string `json:"room"`
}

// Identity is the result of "id": the stored identity's public parts and,
// when a node runs, what it is doing.
type Identity struct {
	Schema         int        `json:"schema"` // SchemaVersion
	Fingerprint    string     `json:"fingerprint"`
	Short          string     `json:"short"`
	IdentityKey    string     `json:"identity_key"`     // hex, Ed25519
	NoiseStaticKey string     `json:"noise_static_key"` // hex, X25519
	Nick           string     `json:"nick"`             // as stored at init
	CreatedAt      *time.Time `json:"created_at"`
	Sealed         bool       `json:"sealed"`
	KDF            *KDF       `json:"kdf,omitempty"` // sealing parameters, if sealed
	DataDir        string     `json:"data_dir"`
	Node           *NodeState `json:"node"` // null: no node runs
	// PassphraseOK is set by `lanchat id --check-passphrase`.
	PassphraseOK *bool `json:"passphrase_ok,omitempty"`
	// HistoryKey says how the key that seals the history in the database
	// is kept: "passphrase" (sealed with it), "unsealed" (in the clear:
	// init --no-passphrase) or "none" (nothing stored yet).
	HistoryKey string `json:"history_key"`
	// NickSealed: the nickname is sealed and was not read (no node runs
	// and no passphrase was given); Nick is then "".
	NickSealed bool `json:"nick_sealed,omitempty"`
}

// How the history's key is kept (Identity.HistoryKey).
const (
	HistoryKeyPassphrase = "passphrase"
	HistoryKeyUnsealed   = "unsealed"
	HistoryKeyNone       = "none"
)

// KDF are the parameters a sealed key was sealed with.
type KDF struct {
	Algorithm string `json:"algorithm"` // "argon2id"
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

// NodeState describes the running node.
type NodeState struct {
	PID    int      `json:"pid"`
	Nick   string   `json:"nick"` // what peers see (--nick or the stored one)
	Addr   string   `json:"addr"` // link listener
	Rooms  []string `json:"rooms"`
	Linked int      `json:"linked"` // live links

	// Presence is what the node tells its peers (online, away, busy),
	// Status its status line (PROTOCOL.md 5.11).
	Presence string `json:"presence"`
	Status   string `json:"status,omitempty"`
}

// SubscribeResult is the result of "subscribe"; events follow.
type SubscribeResult struct {
	Subscribed bool `json:"subscribed"`
}

// PassphraseParams are the params of "check_passphrase".
type PassphraseParams struct {
	Passphrase string `json:"passphrase"`
}

// NickParams are the params of "nick".
type NickParams struct {
	Nick string `json:"nick"`
}

// DiagnoseParams are the params of diagnose: Probe, if set, is a
// HOST:PORT the node dials and handshakes with first (lanchat doctor --peer).
type DiagnoseParams struct {
	Probe string `json:"probe,omitempty"`
}

// Diagnosis is the result of diagnose, with its parts.
type (
	Diagnosis          = chat.Diagnosis
	DiscoveryDiagnosis = chat.DiscoveryDiagnosis
	PeerIssue          = chat.PeerIssue
	PeerSkew           = chat.PeerSkew
	ProbeResult        = chat.ProbeResult
)

// Probe outcomes (ProbeResult.Handshake).
const (
	ProbeLinked    = chat.ProbeLinked
	ProbeRefused   = chat.ProbeRefused
	ProbeUntrusted = chat.ProbeUntrusted
	ProbeFailed    = chat.ProbeFailed
)

// NickResult is the result of "nick".
type NickResult struct {
	Nick string `json:"nick"`
}

// WebLoginResult is the result of "web_login".
type WebLoginResult struct {
	// URL works once, for a few minutes: it logs a browser in to the web
	// UI and leads it to the page.
	URL string `json:"url"`
	// Page is the UI's address without a login (a browser already logged
	// in goes there).
	Page string `json:"page"`
}

// timeOrNil is t in the schema's form, or nil for the zero time.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := schemaTime(t)
	return &u
}

// schemaTime is t in UTC at millisecond precision.
func schemaTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// ErrorOf is err as the control error a client is told: its code,
// message and hint (code "failed" for an error of no known kind).
func ErrorOf(err error) *Error { return toError(err) }

// SendFileParams are the params of "send_file".
type SendFileParams struct {
	Room string `json:"room"` // "": the default room; a private room by name or id
	Path string `json:"path"` // absolute: the node may run in another folder
	Join bool   `json:"join,omitempty"`
	// To offers it to one trusted peer (a name or fingerprint) in the
	// direct conversation with it, instead of a room (Room and Join then
	// must be empty).
	To string `json:"to,omitempty"`
}

// FetchParams are the params of "fetch".
type FetchParams struct {
	ID  string `json:"id"`  // the offer message's id, or at least 4 characters of its start
	Out string `json:"out"` // absolute folder to fetch into (created if needed)
}

// ChangePassphraseParams are the params of change_passphrase: the current
// passphrase ("" for keys kept in the clear) and the new one; NoPassphrase
// keeps the keys in the clear from now on (New must be "").
type ChangePassphraseParams struct {
	Old          string `json:"old"`
	New          string `json:"new"`
	NoPassphrase bool   `json:"no_passphrase,omitempty"`
	KDF          *KDF   `json:"kdf,omitempty"` // argon2id parameters; null: the defaults
}

// PassphraseResult is the result of change_passphrase.
type PassphraseResult struct {
	Sealed bool `json:"sealed"` // the keys are sealed with the new passphrase
}

// ForgetParams are the params of forget: the room, and the time before
// which its messages go (null: all of them).
type ForgetParams struct {
	Room   string     `json:"room"`
	Before *time.Time `json:"before,omitempty"`
}

// ForgetResult is the result of forget.
type ForgetResult struct {
	Room    string     `json:"room"`
	Before  *time.Time `json:"before"`
	Deleted int        `json:"deleted"` // messages deleted from this node's store
}

// ExportParams are the params of export: the file to create (an absolute
// path; it must not exist), the passphrase of the stored key, the one that
// seals the file, and what goes in beside the identity.
type ExportParams struct {
	Path           string `json:"path"`
	Passphrase     string `json:"passphrase"`
	FilePassphrase string `json:"file_passphrase"`
	KDF            *KDF   `json:"kdf,omitempty"`
	Trust          bool   `json:"trust"`
	History        bool   `json:"history"`
}

// ExportResult is the result of export (and of lanchat import).
type ExportResult struct {
	Path        string `json:"path"`
	Fingerprint string `json:"fingerprint"`
	Trusted     int    `json:"trusted"`
	Rooms       int    `json:"rooms"`
	Messages    int    `json:"messages"`
}

// RetentionParams are the params of set_retention: keep Room's messages
// (Room "*": every room without its own setting) for KeepSeconds (0:
// forever); Clear drops the room's own setting instead.
type RetentionParams struct {
	Room        string `json:"room"`
	KeepSeconds int64  `json:"keep_seconds"`
	Clear       bool   `json:"clear,omitempty"`
}

// RetentionResult is the result of retention and set_retention: the
// settings (seconds; 0: forever) and, for set_retention, how many messages
// applying them deleted at once.
type RetentionResult struct {
	DefaultSeconds int64            `json:"default_seconds"`
	Rooms          map[string]int64 `json:"rooms"`
	Deleted        int              `json:"deleted"`
}

// DeleteParams are the params of delete: one of this node's own messages,
// by room and sequence number (a message's "seq" in history).
type DeleteParams struct {
	Room string `json:"room"`
	Seq  uint64 `json:"seq"`
}

// DeleteResult is the result of delete.
type DeleteResult struct {
	Room     string `json:"room"`
	Seq      uint64 `json:"seq"`
	HandedTo int    `json:"handed_to"` // links the request went to now; the others get it at their next catch-up
}
