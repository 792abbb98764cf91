package control

import (
	"errors"

	"github.com/lanchat/lanchat/chat"
)

// resolveRoom is the one rule by which every method that takes a room
// (send, history, receipt, mark_read) reads it: kind "room" names the open
// room, kind "private" the private room of that name or id; with no kind,
// a private room's id names it, and a name names the private room or the
// open room that has it, but a name that both an open room this node is
// in and a private room have is ambiguous (never a guess: a line meant
// for the private room must not reach the open one). An id of a direct
// conversation, or a name no private room has, is returned normalized.
func resolveRoom(room, kind string, inOpen func(string) bool, private func(string) (string, error)) (string, error) {
	switch kind {
	case KindRoom:
		return chat.NormalizeOpenRoom(room)
	case KindPrivate:
		return private(room)
	case "":
	default:
		return "", &Error{Code: CodeInvalidParams, Message: "kind: \"room\" or \"private\""}
	}
	name, nerr := chat.NormalizeRoom(room)
	id, perr := private(room)
	switch {
	case perr == nil && nerr == nil && id != name && inOpen(name):
		return "", withHint(&Error{Code: CodeAmbiguous, Message: "both an open room you are in and a private room are called " + name},
			"name the private room by its id ("+id+"), or say which with kind \"room\" or \"private\" (in chat: make it the current room)")
	case perr == nil:
		return id, nil
	case errors.Is(perr, chat.ErrAmbiguous) && !(nerr == nil && inOpen(name)):
		return "", perr
	}
	return name, nerr
}
