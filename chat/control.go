package chat

import (
	"encoding/json"
	"errors"
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

// ControlSocketName is the control socket's file name in the data directory.
const ControlSocketName = "lanchat.sock"

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
)

// Control error codes. ONLY APPEND TO THIS LIST.
const (
	CodeBadRequest     = "bad_request"     // not a JSON request object
	CodeTooLarge       = "too_large"       // request line over the limit; the connection is closed
	CodeUnknownMethod  = "unknown_method"  // no such method
	CodeInvalidParams  = "invalid_params"  // params missing or of the wrong shape
	CodeBusy           = "busy"            // too many clients; the connection is closed
	CodeBadFingerprint = "bad_fingerprint" // a fingerprint that does not parse
	CodeBadRoom        = "bad_room"        // a room name that breaks the rules
	CodeNotJoined      = "not_joined"      // the node is not in that room
	CodeNotTrusted     = "not_trusted"     // untrust of a fingerprint not on the list
	CodeSelf           = "self"            // the node's own fingerprint
	CodeCorrupt        = "corrupt"         // the database is damaged
	CodeFailed         = "failed"          // anything else
)

// controlRequest is one request line.
type controlRequest struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// controlResponse is one response line; exactly one of Result and Error is set.
type controlResponse struct {
	ID     json.RawMessage `json:"id"`
	Result any             `json:"result,omitempty"`
	Error  *ControlError   `json:"error,omitempty"`
}

// controlEvent is one event line of a subscription.
type controlEvent struct {
	ID    json.RawMessage `json:"id"`
	Event Event           `json:"event"`
}

// ControlError is an error answered by the control socket. errors.Is maps
// its code back to the package error it stands for (storage.ErrNotTrusted,
// ErrNotJoined, ...), so a client can branch as if it had called the node.
type ControlError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *ControlError) Error() string { return e.Message }

// Is reports whether the error's code stands for target.
func (e *ControlError) Is(target error) bool {
	for _, c := range controlCodes {
		if c.code == e.Code && errors.Is(c.err, target) {
			return true
		}
	}
	return false
}

// controlCodes maps package errors to codes, first match wins.
var controlCodes = []struct {
	err  error
	code string
}{
	{lcrypto.ErrFingerprintEmpty, CodeBadFingerprint},
	{lcrypto.ErrFingerprintLength, CodeBadFingerprint},
	{lcrypto.ErrFingerprintChar, CodeBadFingerprint},
	{lcrypto.ErrFingerprintChecksum, CodeBadFingerprint},
	{lcrypto.ErrFingerprintZero, CodeBadFingerprint},
	{ErrRoomName, CodeBadRoom},
	{ErrNotJoined, CodeNotJoined},
	{storage.ErrNotTrusted, CodeNotTrusted},
	{storage.ErrSelf, CodeSelf},
	{storage.ErrCorrupt, CodeCorrupt},
}

// toControlError turns a method's error into what the client is told.
func toControlError(err error) *ControlError {
	var ce *ControlError
	if errors.As(err, &ce) {
		return ce
	}
	for _, c := range controlCodes {
		if errors.Is(err, c.err) {
			return &ControlError{Code: c.code, Message: err.Error()}
		}
	}
	return &ControlError{Code: CodeFailed, Message: err.Error()}
}

// HistoryParams are the params of "history" (all optional).
type HistoryParams struct {
	Rooms []string  `json:"rooms,omitempty"` // none: every room
	Limit int       `json:"limit,omitempty"` // newest N; 0: all
	Since time.Time `json:"since,omitzero"`  // zero: no bound
	Grep  string    `json:"grep,omitempty"`  // case-insensitive substring
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

// TrustedPeerView is one entry of "trusted" (and the result of "untrust").
type TrustedPeerView struct {
	Fingerprint string     `json:"fingerprint"`
	Name        string     `json:"name"`
	AddedAt     *time.Time `json:"added_at"`
	LastSeen    *time.Time `json:"last_seen"` // null: never linked
}

// SendParams are the params of "send".
type SendParams struct {
	Room string `json:"room"`
	Body string `json:"body"`
	// Join makes the node join Room first if it is not in it (it stays).
	Join bool `json:"join,omitempty"`
}

// SendResult is the result of "send".
type SendResult struct {
	Message  *MessageView `json:"message"`
	HandedTo int          `json:"handed_to"` // links the message was handed to
	Linked   []string     `json:"linked"`    // fingerprints of every linked peer
}

// RoomParams are the params of "join" and "leave".
type RoomParams struct {
	Room string `json:"room"`
}

// RoomResult is the result of "join" and "leave": the room's normal name.
type RoomResult struct {
	Room string `json:"room"`
}

// IdentityInfo is the result of "id": the stored identity's public parts
// and what the running node is doing.
type IdentityInfo struct {
	Fingerprint    string     `json:"fingerprint"`
	Short          string     `json:"short"`
	IdentityKey    string     `json:"identity_key"`     // hex, Ed25519
	NoiseStaticKey string     `json:"noise_static_key"` // hex, X25519
	Nickname       string     `json:"nickname"`         // as stored at init
	Created        time.Time  `json:"created"`
	Sealed         bool       `json:"sealed"`
	KDF            *KDFInfo   `json:"kdf,omitempty"` // sealing parameters, if sealed
	DataDir        string     `json:"data_dir"`
	Node           NodeStatus `json:"node"`
}

// KDFInfo are the argon2id parameters a sealed key was sealed with.
type KDFInfo struct {
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

// NodeStatus describes the running node.
type NodeStatus struct {
	PID      int      `json:"pid"`
	Nickname string   `json:"nickname"` // what peers see (--nick or the stored one)
	Addr     string   `json:"addr"`     // link listener
	Rooms    []string `json:"rooms"`
	Linked   int      `json:"linked"` // live links
}

// SubscribeResult is the result of "subscribe"; events follow.
type SubscribeResult struct {
	Subscribed bool `json:"subscribed"`
}
