package chat

import (
	"context"

	"github.com/lanchat/lanchat/session"
)

// maxRun and maxRunBytes bound what a link's reader takes from its receive
// queue at once (chat frames, or sync responses, that arrived while it was
// busy): their signatures are checked as one batch, and they go to the
// store as one write. A batch has a fixed cost (crypto.VerifyBatch's
// torsion checks, about 45 single verifications), so on a busy link larger
// runs cost less per message: 1024 measured about 4% cheaper per core than
// 256 in the chat-receive benchmark, and keeps a run's check to about 15 ms.
// The byte bound keeps one delivery (the link queues up to deliveryQueue
// of them) as small as a sync batch: a run takes a queued frame only if
// its body still fits (the first frame always goes).
const (
	maxRun      = 1024
	maxRunBytes = syncBatchBytes
)

// takeRun passes first, then each frame of first's type queued right
// behind it, to take, until take reports the run full (maxRun) or fails,
// the next frame would pass maxRunBytes, or no such frame is queued. It
// returns the first queued frame it took but did not pass to take, if any,
// for the caller to handle next (frames are handled in arrival order), and
// take's error.
func (l *link) takeRun(first session.Frame, take func(session.Frame) (full bool, err error)) (*session.Frame, error) {
	size := 0
	for f := first; ; {
		size += len(f.Body)
		full, err := take(f)
		if err != nil || full {
			return nil, err
		}
		var ok bool
		if f, ok = l.sess.TryRecv(); !ok {
			return nil, nil
		}
		if f.Type != first.Type || size+len(f.Body) > maxRunBytes {
			return &f, nil
		}
	}
}

// handleChatRun handles first, a chat message frame (an open room's, or a
// conversation's when convo is set), together with the frames of its type
// queued right behind it, and returns the frame it took but did not handle,
// if any (takeRun). A malformed message ends the run: the messages before
// it are handled as they would have been one by one, then its error is
// returned (and the link closed), as for a single frame.
func (l *link) handleChatRun(ctx context.Context, first session.Frame, out *deliveryLine, convo bool) (*session.Frame, error) {
	n := l.node
	want := n.wanted
	if convo {
		want = func(m *Message) bool { return n.wantedConvo(l, m) }
	}
	msgs := make([]Message, 0, 1)
	keep := make([][]byte, 0, 1)
	next, bad := l.takeRun(first, func(f session.Frame) (bool, error) {
		if n.recent.has(f.Body) { // another member's relayed copy
			n.stats.duplicates.Add(1)
			return false, nil
		}
		m, err := DecodeMessage(f.Body)
		if err != nil {
			return false, err
		}
		if want(&m) {
			msgs, keep = append(msgs, m), append(keep, f.Body)
		}
		return len(msgs) >= maxRun, nil
	})
	msgs, keep, err := n.screenDecoded(ctx, l, msgs, keep)
	if err == nil && len(msgs) > 0 {
		d := delivery{msgs: msgs, raws: keep}
		if !convo {
			d.relayEarly = l // relayed as soon as its commit is queued; shown once durable
		}
		err = n.submit(ctx, out, d)
	}
	if err != nil {
		return nil, err
	}
	return next, bad
}

// handleSyncRun is handleChatRun for sync responses (a catch-up sends them
// back to back; convo: a conversation's): the messages of the responses
// queued together are screened as one signature batch and stored as one
// write, then each room whose last response was among them compares
// chains. A malformed response ends the run as a malformed message does.
func (l *link) handleSyncRun(ctx context.Context, first session.Frame, out *deliveryLine, convo bool) (*session.Frame, error) {
	var msgs []Message
	var raws [][]byte
	var done []string
	next, bad := l.takeRun(first, func(f session.Frame) (bool, error) {
		resp, m, r, err := l.decodeSyncBatch(f.Body, convo)
		if err != nil {
			return false, err
		}
		msgs, raws = append(msgs, m...), append(raws, r...)
		if resp.Done {
			done = append(done, resp.Room)
		}
		return len(msgs) >= maxRun, nil
	})
	if err := l.submitSync(ctx, out, msgs, raws, done); err != nil {
		return nil, err
	}
	return next, bad
}
