package chat

import (
	"context"
	"errors"
	"fmt"

	"github.com/lanchat/lanchat/chat/files"
	"github.com/lanchat/lanchat/session"
)

// serve reads the link's frames until it ends. Messages are verified,
// submitted to the store at once (many in flight share one commit), and
// shown and relayed in arrival order once durable (deliver.go).
func (l *link) serve() {
	n := l.node
	defer n.wg.Done()
	defer n.removeLink(l)
	// The link ends with its reader: on shutdown (the context ends first),
	// a peer's bug, or anything else. Closing a link that already ended
	// does nothing.
	defer l.sess.Close("shutting down")
	defer func() {
		if r := recover(); r != nil { // one peer's input never takes the node down
			n.logf("link with %s: internal error: %v", l.key, r)
			l.sess.Close("internal error")
		}
	}()
	// Recv and SendWait return once the link ends; cancel stops this
	// link's sync senders when its reader returns.
	ctx, cancel := context.WithCancel(n.runCtx)
	defer cancel()
	// The delivery line's goroutine runs only while deliveries wait.
	deliveries := newDeliveryLine(l)
	defer deliveries.wait()
	n.sendRelayCaps(l)
	n.sendRoomsMore(l)
	n.sendPresence(l)
	// The link's file server starts with the peer's first file request:
	// an idle link costs no goroutine or queue for it.
	var filesDone chan struct{}
	l.startFileServer = func() {
		l.fileReqs = make(chan files.Ref, fileRequestQueue)
		filesDone = make(chan struct{})
		go func() {
			defer close(filesDone)
			l.serveFiles(ctx, l.fileReqs)
		}()
	}
	defer func() {
		cancel()
		if filesDone != nil {
			<-filesDone
		}
	}()
	for _, r := range l.sharedRooms() {
		l.requestSync(r)
		n.sendReadMark(r, l, nil)
	}
	l.startConvos()
	var next *session.Frame // taken from the queue by a chat run, not yet handled
	for {
		f, err := l.nextFrame(ctx, &next)
		if err != nil {
			return
		}
		switch f.Type {
		case frameChat, frameConvoMessage:
			next, err = l.handleChatRun(ctx, f, deliveries, f.Type == frameConvoMessage)
		case frameSyncResponse, frameConvoSyncResponse:
			next, err = l.handleSyncRun(ctx, f, deliveries, f.Type == frameConvoSyncResponse)
		default:
			err = l.handleFrame(ctx, f, deliveries)
		}
		if err != nil {
			if ctx.Err() != nil {
				return // shutting down: the deferred Close says so
			}
			n.logf("link with %s: %v", l.key, err)
			closeFor(l.sess, err)
			return
		}
	}
}

// nextFrame returns *next if set (clearing it), else the link's next frame.
func (l *link) nextFrame(ctx context.Context, next **session.Frame) (session.Frame, error) {
	if f := *next; f != nil {
		*next = nil
		return *f, nil
	}
	return l.sess.Recv(ctx)
}

// errRoomLimit: a peer joined more rooms than this node takes from it
// (MaxRooms; helloRooms for a node before rooms-more).
var errRoomLimit = fmt.Errorf("peer is in more than %d rooms", MaxRooms)

// peerFault says whether err is the peer breaking the chat protocol (a
// malformed hello, frame or message, or a limit exceeded) rather than a
// local failure.
func peerFault(err error) bool {
	return errors.Is(err, ErrFrame) || errors.Is(err, ErrMalformed) || errors.Is(err, errRoomLimit)
}

// closeFor closes a link after err: a peer's protocol error with close code
// 2 (session.CloseProtocolError, the code of link-level protocol errors) and
// err as the reason; a local failure with code 0, "local error: ...".
func closeFor(sess *session.Link, err error) {
	if peerFault(err) {
		sess.CloseWith(session.CloseProtocolError, err.Error())
		return
	}
	sess.Close("local error: " + err.Error())
}

func (l *link) handleFrame(ctx context.Context, f session.Frame, out *deliveryLine) error {
	n := l.node
	switch f.Type {
	case frameSyncRequest: // chat messages and sync responses: recvbatch.go
		req, err := decodeSyncRequest(f.Body)
		if err != nil {
			return err
		}
		n.noteHeads(req.Room, l.key, req.Heads)
		l.startSync(ctx, req)
		return nil
	case frameRoomJoin, frameRoomLeave:
		return l.handleRoomFrame(f)
	case frameSyncCheck:
		return l.handleSyncCheck(ctx, f.Body, false)
	case frameNick:
		return l.handleNick(f.Body)
	case frameStored:
		st, err := decodeStoredFrame(f.Body)
		if err != nil {
			return err
		}
		n.noteHeads(st.Room, l.key, st.Heads)
		return nil
	case frameRead:
		rm, err := decodeReadMark(f.Body)
		if err != nil {
			return err
		}
		n.noteRead(rm.Room, l.key, rm.Pos)
		return nil
	case framePresence:
		return l.handlePresence(f.Body)
	case frameTyping:
		return l.handleTyping(f.Body)
	case frameFileRequest:
		return l.handleFileRequest(f.Body)
	case frameFileData:
		return l.handleFileReply(replyData, f.Body)
	case frameFileNone:
		return l.handleFileReply(replyNone, f.Body)
	case frameFileHave:
		return l.handleFileHave(f.Body)
	case frameDelete:
		return l.handleDelete(f.Body)
	case frameRelayCaps:
		return l.handleRelayCaps(f.Body)
	case frameRoomsMore:
		return l.handleRoomsMore(f.Body)
	}
	if handled, err := l.handleConvoFrame(ctx, f, out); handled {
		return err
	}
	n.stats.skipped.Add(1) // a newer peer's frame type: skipped (PROTOCOL.md 4.2)
	return nil
}

// sharedRooms returns the rooms both the peer and this node are in.
func (l *link) sharedRooms() []string {
	var out []string
	for _, r := range l.roomList() {
		if l.node.room(r) != nil {
			out = append(out, r)
		}
	}
	return out
}

func (l *link) handleRoomFrame(f session.Frame) error {
	n := l.node
	r, err := decodeRoomFrame(f.Body)
	if err != nil {
		return err
	}
	join := f.Type == frameRoomJoin
	changed, err := l.setRoom(r, join)
	if err != nil || !changed {
		return err
	}
	kind := EventLeave
	n.memberSeen(r, l.key, join)
	if join {
		kind = EventJoin
		if n.room(r) != nil {
			l.requestSync(r)
			n.sendReadMark(r, l, nil)
		}
	}
	n.events.publish(Event{Kind: kind, Room: r, Peer: n.peerViewOf(l)})
	return nil
}
