package chat

import (
	"context"

	"github.com/lanchat/lanchat/session"
)

// maxChatRun bounds the chat frames a link's reader takes from its receive
// queue at once (the frames that arrived while it was busy): their
// signatures are checked as one batch, and they go to the store as one
// delivery. A batch has a fixed cost (crypto.VerifyBatch's torsion checks,
// about 64 single verifications), so on a busy link larger runs cost less
// per message: 1024 measured about 4% cheaper per core than 256 in the
// chat-receive benchmark, and keeps a run's check to about 15 ms.
const maxChatRun = 1024

// handleChatRun handles first, a chat message frame, together with the chat
// frames queued right behind it. It returns the first queued frame of
// another type, if it took one, for the caller to handle next: frames are
// handled in arrival order. A malformed message ends the run: the messages
// before it are handled as they would have been one by one, then its error
// is returned (and the link closed), as for a single frame.
func (l *link) handleChatRun(ctx context.Context, first session.Frame, out chan<- delivery) (*session.Frame, error) {
	n := l.node
	var next *session.Frame
	msgs := make([]Message, 0, 1)
	keep := make([][]byte, 0, 1)
	var bad error
	for f, more := first, true; more; {
		m, err := DecodeMessage(f.Body)
		if err != nil {
			bad = err
			break
		}
		if n.wanted(&m) {
			msgs, keep = append(msgs, m), append(keep, f.Body)
		}
		if len(msgs) == maxChatRun {
			break
		}
		if f, more = l.sess.TryRecv(); more && f.Type != frameChat {
			next, more = &f, false
		}
	}
	msgs, keep, err := n.screenDecoded(ctx, l, msgs, keep)
	if err == nil && len(msgs) > 0 {
		err = n.submit(ctx, out, delivery{msgs: msgs, raws: keep})
	}
	if err != nil {
		return nil, err
	}
	return next, bad
}
