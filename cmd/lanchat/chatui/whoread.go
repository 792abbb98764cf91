package chatui

import (
	"context"
	"strconv"
	"strings"

	"github.com/lanchat/lanchat/control"
)

// whoRead runs "/who-read [N|=SEQ]": who stored and who read an own
// message of the current conversation: the last one (no argument), the
// Nth last (N, 1 being the last), or the one numbered SEQ, as its mark
// shows it (=SEQ).
func (s *interp) whoRead(ctx context.Context, arg string) {
	nth, seq, ok := parseWhoRead(arg)
	if !ok {
		s.notice("usage: /who-read [N|=SEQ]: N counts your messages here from the last (1), SEQ is the number in a message's mark")
		return
	}
	v := s.att.lastOwn[s.current()]
	if nth != 1 || seq != 0 || v == nil {
		v = s.ownMessage(ctx, nth, seq)
	}
	if v == nil {
		switch {
		case seq != 0:
			s.notice("no message of yours numbered %d in %s", seq, convoName(s.room))
		case nth > 1:
			s.notice("you have written fewer than %d messages in %s", nth, convoName(s.room))
		default:
			s.notice("you have written nothing in %s yet", convoName(s.room))
		}
		return
	}
	r, err := s.receipt(ctx, control.ReceiptParams{Room: v.Room, Seq: v.Seq})
	if err != nil {
		s.notice("cannot tell: %s", errText(err))
		return
	}
	names := map[string]string{}
	if trusted, err := s.api.Trusted(ctx); err == nil {
		for _, p := range trusted {
			names[p.Fingerprint] = p.Name
		}
	}
	s.notice("your message %d %q: %s", v.Seq, SanitizeLine(shorten(v.Body, 40)), receiptMark(r, s.r.ascii()))
	s.notice("stored by: %s", s.namesOf(r.StoredBy, names))
	s.notice("not yet: %s", s.namesOf(r.Waiting, names))
	s.notice("read by: %s", s.namesOf(r.ReadBy, names))
}

// parseWhoRead reads /who-read's argument: "" is the last message, "N"
// the Nth last, "=SEQ" the one numbered SEQ.
func parseWhoRead(arg string) (nth int, seq uint64, ok bool) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return 1, 0, true
	}
	if rest, isSeq := strings.CutPrefix(arg, "="); isSeq {
		n, err := strconv.ParseUint(strings.TrimSpace(rest), 10, 64)
		return 0, n, err == nil && n > 0
	}
	n, err := strconv.Atoi(arg)
	return n, 0, err == nil && n > 0
}

// ownMessage finds an own message of the current conversation in its
// history: the one numbered seq, else the nth last; nil if there is none.
func (s *interp) ownMessage(ctx context.Context, nth int, seq uint64) *control.MessageView {
	q := control.HistoryParams{Rooms: []string{s.room}}
	if peer := directTarget(s.room); peer != "" {
		q = control.HistoryParams{With: peer}
	}
	views, err := s.historyOf(ctx, q)
	if err != nil {
		return nil
	}
	for i := len(views) - 1; i >= 0; i-- {
		v := views[i]
		if !v.Own || v.Op != nil {
			continue
		}
		if seq != 0 {
			if v.Seq == seq {
				return v
			}
			continue
		}
		if nth--; nth == 0 {
			return v
		}
	}
	return nil
}
