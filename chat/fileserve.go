package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/lanchat/lanchat/chat/files"
)

// fileRequestQueue bounds the file requests of one link waiting to be
// served; a request beyond it is answered busy at once. The requester's
// window (fetchWindowPerPeer) stays below it.
const fileRequestQueue = 64

// handleFileRequest queues a peer's request for its link's file server.
func (l *link) handleFileRequest(body []byte) error {
	ref, err := files.DecodeRequest(body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFrame, err)
	}
	if l.fileReqs == nil {
		l.startFileServer()
	}
	select {
	case l.fileReqs <- ref:
	default:
		_ = l.sess.Send(frameFileNone, files.EncodeNone(ref, files.ReasonBusy))
	}
	return nil
}

// serveFiles answers the link's file requests in order until ctx ends:
// chunks go out as bulk frames, which the link writes only when no chat
// frame waits, and one at a time, so a slow receiver slows only itself.
func (l *link) serveFiles(ctx context.Context, reqs <-chan files.Ref) {
	n := l.node
	for {
		var ref files.Ref
		select {
		case <-ctx.Done():
			return
		case ref = <-reqs:
		}
		body, why, done := l.fileAnswer(ref)
		var err error
		if body == nil {
			err = l.sess.SendBulk(ctx, frameFileNone, files.EncodeNone(ref, why))
		} else {
			err = l.sess.SendBulkDone(ctx, frameFileData, body, done)
			if ref.Kind == files.KindChunk {
				n.stats.fileServed.Add(uint64(len(body) - files.DataHeaderSize))
			}
		}
		if err != nil {
			return // the link is ending
		}
	}
}

// fileAnswer returns the file-data body to send for ref, or why not. A
// member is served only what was offered in a room it shares with this
// node: an open room both are in, the direct conversation between the two,
// or a private room it is a current member of.
func (l *link) fileAnswer(ref files.Ref) (body []byte, why files.Reason, done func()) {
	s := l.node.servableFor(ref.Root)
	if s == nil || !slices.ContainsFunc(s.rooms, l.node.sharesFunc(l)) {
		return nil, files.ReasonUnknown, nil
	}
	i := int(ref.Index)
	switch ref.Kind {
	case files.KindManifest:
		if i >= files.ManifestPieces(uint32(len(s.manifest))) {
			return nil, files.ReasonMissing, nil
		}
		end := min(len(s.manifest), (i+1)*files.ManifestPiece)
		return files.EncodeData(ref, s.manifest[i*files.ManifestPiece:end]), 0, nil
	default:
		if i >= s.m.Chunks() {
			return nil, files.ReasonMissing, nil
		}
		// The chunk is read into the frame's body (no copy), a pooled
		// one that the link gives back once it is sealed.
		frame, done := chunkFrame(int(s.m.ChunkSize))
		data, err := s.read(i, frame[files.DataHeaderSize:])
		switch {
		case err == nil:
			return files.PutData(frame, ref, data), 0, done
		case errors.Is(err, files.ErrChanged):
			done()
			l.node.noteChanged(ref.Root, err)
			return nil, files.ReasonMissing, nil
		default:
			done()
			return nil, files.ReasonMissing, nil
		}
	}
}

// chunkFrames holds the bodies of chunk frames of the default chunk size
// that links have sealed: a transfer allocates none per chunk.
var chunkFrames = sync.Pool{New: func() any {
	b := make([]byte, files.DataHeaderSize+files.DefaultChunkSize)
	return &b
}}

// chunkFrame returns a body for a chunk frame of chunk bytes, and what
// gives it back once nothing uses it any more.
func chunkFrame(chunk int) ([]byte, func()) {
	n := files.DataHeaderSize + chunk
	if chunk != files.DefaultChunkSize {
		return make([]byte, n), func() {}
	}
	bp := chunkFrames.Get().(*[]byte)
	return (*bp)[:n], func() { chunkFrames.Put(bp) }
}

// sharesFunc returns whether l's peer and this node share a room: an open
// room both are in, their direct conversation, a private room the peer is
// a current member of.
func (n *Node) sharesFunc(l *link) func(string) bool {
	return func(room string) bool {
		if isConvo(room) {
			return n.receiptPeer(l.key, room)
		}
		return l.inRoom(room) && n.room(room) != nil
	}
}

// handleFileReply routes a file-data or file-none frame to the fetch that
// asked for it; anything not asked for is dropped.
func (l *link) handleFileReply(ftype frameKind, body []byte) error {
	var r reply
	var err error
	if ftype == replyData {
		r.ref, r.data, err = files.DecodeData(body)
	} else {
		r.ref, r.why, err = files.DecodeNone(body)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFrame, err)
	}
	r.kind, r.from = ftype, l
	if t := l.node.transferFor(r.ref.Root); t != nil {
		t.post(r)
	}
	return nil
}
