package chatui

import (
	"context"
	"strconv"
	"strings"

	"github.com/lanchat/lanchat/control"
)

// deleteMessage runs "/delete SEQ|ID": one of this node's messages in the
// current room, named by its sequence number or (a prefix of) its id, is
// deleted for everyone (control's delete).
func (s *interp) deleteMessage(ctx context.Context, arg string) {
	arg = strings.TrimSpace(arg)
	if arg == "" || strings.ContainsAny(arg, " \t") {
		s.notice("usage: /delete SEQ or /delete ID (a message of yours in this room)")
		return
	}
	if s.room == "" {
		s.notice("you are in no room; /join ROOM first")
		return
	}
	seq, err := strconv.ParseUint(arg, 10, 64)
	if err != nil || seq == 0 {
		if seq, err = s.ownSeqByID(ctx, arg); err != nil {
			s.notice("not deleted: %s", errText(err))
			return
		}
		if seq == 0 {
			s.notice("not deleted: no message of yours in %s has an id starting %q", roomName(s.room), SanitizeLine(arg))
			return
		}
	}
	res, err := s.api.Delete(ctx, control.DeleteParams{Room: s.room, Seq: seq})
	if err != nil {
		s.notice("not deleted: %s", errText(err))
		return
	}
	s.notice("deleted your message %d in %s for everyone (sent to %d linked peers now, the others get it when they link; a peer can keep a copy)", res.Seq, roomName(s.room), res.HandedTo)
}

// ownSeqByID returns the sequence number of this node's message in the
// current room whose id starts with prefix; 0 if none.
func (s *interp) ownSeqByID(ctx context.Context, prefix string) (uint64, error) {
	views, err := s.historyOf(ctx, control.HistoryParams{Rooms: []string{s.room}})
	if err != nil {
		return 0, err
	}
	for i := len(views) - 1; i >= 0; i-- {
		if v := views[i]; v.Own && strings.HasPrefix(v.ID, strings.ToLower(prefix)) {
			return v.Seq, nil
		}
	}
	return 0, nil
}
