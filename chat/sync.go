package chat

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// requestSync asks the peer for what this node misses in room r.
func (l *link) requestSync(r string) {
	n := l.node
	st, err := n.store.RoomState(r)
	if err != nil {
		n.logf("sync %s: %v", r, err)
		return
	}
	req := syncRequest{Room: r, Heads: map[lcrypto.IdentityKey]uint64{}}
	for k, v := range st.Heads {
		if len(req.Heads) == MaxSyncAuthors {
			break
		}
		req.Heads[lcrypto.IdentityKey(k)] = v
	}
	frame := frameSyncRequest
	if isConvo(r) {
		frame = frameConvoSyncRequest
	}
	if err := l.sess.Send(frame, req.encode()); err != nil {
		n.logf("sync %s with %s: %v", r, l.key, err)
	}
}

// maxLinkSyncs bounds the sync goroutines one link runs at once: a peer
// sharing 1,000 rooms asks for all of them at link-up, and the rooms
// beyond wait their turn (link.syncWait) instead of each holding a
// goroutine.
const maxLinkSyncs = 4

// startSync serves a peer's sync request: at once if no sync for that room
// runs on this link and fewer than maxLinkSyncs do, else after them (only
// the newest waiting request per room is kept). So a peer can hold at most
// maxLinkSyncs sync goroutines, and one request per room.
func (l *link) startSync(ctx context.Context, req syncRequest) {
	if l.node.cfg.silentRelayer {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.syncs == nil {
		l.syncs = map[string]*syncState{}
	}
	if st := l.syncs[req.Room]; st != nil {
		st.next = &req
		return
	}
	if l.syncRunning >= maxLinkSyncs {
		l.syncs[req.Room] = &syncState{next: &req}
		l.syncWait = append(l.syncWait, req.Room)
		return
	}
	l.syncs[req.Room] = &syncState{}
	l.syncRunning++
	l.node.wg.Add(1)
	go l.runSyncs(ctx, req)
}

// runSyncs serves req, then any request that came for its room meanwhile,
// then the rooms waiting their turn.
func (l *link) runSyncs(ctx context.Context, req syncRequest) {
	defer l.node.wg.Done()
	for {
		l.serveSync(ctx, req)
		if req = l.nextSync(ctx, req.Room); req.Room == "" {
			return
		}
	}
}

// nextSync takes the request waiting for room, if any (and ctx is not
// done); else it ends the room's sync and takes the first room waiting
// its turn; else it ends this sync goroutine and returns the zero request.
func (l *link) nextSync(ctx context.Context, room string) syncRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.syncs[room]
	next := st.next
	st.next = nil
	if next != nil && ctx.Err() == nil {
		return *next
	}
	delete(l.syncs, room)
	if len(l.syncWait) > 0 && ctx.Err() == nil {
		r := l.syncWait[0]
		l.syncWait = l.syncWait[1:]
		w := l.syncs[r]
		next, w.next = w.next, nil
		return *next
	}
	l.syncRunning--
	if l.syncRunning == 0 {
		// A map never shrinks: after 1,000 rooms' syncs, give it back.
		l.syncs, l.syncWait = nil, nil
	}
	return syncRequest{}
}

// serveSync streams what the peer misses in a room, in bounded batches; it
// waits for queue space (flow control), so a slow peer slows only itself.
// A room that is not shared (either side not in it) gets an empty answer,
// and of a conversation only what the peer may receive goes (syncPolicy).
func (l *link) serveSync(ctx context.Context, req syncRequest) {
	n := l.node
	resp := syncResponse{Room: req.Room}
	header := syncResponseHeader(req.Room)
	size := header // the encoded body so far
	frame, keep := l.syncPolicy(req.Room)
	flush := func(done bool) bool {
		resp.Done = done
		// A fresh encoding, never touched again: the link seals it
		// without the copy (a batch is up to syncBatchBytes).
		err := l.sess.SendWaitOwned(ctx, frame, resp.encode())
		resp.Msgs, size = nil, header
		return err == nil
	}
	if keep == nil {
		flush(true)
		return
	}
	if req.only == nil {
		l.sendTombstones(req.Room) // before the messages: what was deleted is not stored again
	}
	st, err := n.store.RoomState(req.Room)
	if err != nil {
		n.logf("sync %s: %v", req.Room, err)
		return
	}
	authors := make([][32]byte, 0, len(st.Heads))
	for a := range st.Heads {
		if req.only == nil || req.only[lcrypto.IdentityKey(a)] {
			authors = append(authors, a)
		}
	}
	slices.SortFunc(authors, func(a, b [32]byte) int { return slices.Compare(a[:], b[:]) })
	damaged := 0
	for _, a := range authors {
		after := req.Heads[lcrypto.IdentityKey(a)]
		for {
			msgs, err := n.store.MessagesAfter(req.Room, a, after, syncBatchMessages)
			if err != nil {
				n.logf("sync %s: %v", req.Room, err)
				return
			}
			for i := range msgs {
				m := &msgs[i]
				after = m.Seq
				// Never serve what this node would refuse: a record
				// damaged on disk would close the peer's link on every
				// batch. It is skipped (and reported below); the rest of
				// the room goes through.
				dm, err := decodeStored(m)
				if err != nil {
					damaged++
					continue
				}
				if !keep(&dm) {
					continue
				}
				entry := 2 + len(m.Raw) // length u16 | message
				if len(resp.Msgs) == syncBatchMessages || size+entry > syncBatchBytes {
					if !flush(false) {
						return
					}
				}
				resp.Msgs = append(resp.Msgs, m.Raw)
				size += entry
			}
			if len(msgs) < syncBatchMessages {
				break
			}
		}
	}
	if damaged > 0 {
		n.logf("sync %s with %s: skipped %d damaged stored messages (lanchat history marks them)", req.Room, l.key, damaged)
	}
	flush(true)
}

// decodeSyncBatch decodes a sync response, brought by an open room's frame
// (0x12) or, convo set, a conversation's (0x19), and returns its messages
// that pass the cheap checks (wanted, or wantedConvo), with their
// encodings (handleSyncRun screens and stores them). Each message is decoded once: a message of another room
// refuses the batch, else the first malformed one does.
func (l *link) decodeSyncBatch(body []byte, convo bool) (syncResponse, []Message, [][]byte, error) {
	n := l.node
	resp, err := decodeSyncResponse(body)
	if err != nil {
		return resp, nil, nil, err
	}
	decoded := make([]Message, 0, len(resp.Msgs))
	var malformed error
	for _, raw := range resp.Msgs {
		m, err := DecodeMessage(raw)
		if err != nil {
			malformed = cmp.Or(malformed, err)
			decoded = append(decoded, Message{})
			continue
		}
		if m.Room != resp.Room {
			return resp, nil, nil, fmt.Errorf("%w: a message of room %s in a sync batch of %s", ErrFrame, m.Room, resp.Room)
		}
		decoded = append(decoded, m)
	}
	if isConvo(resp.Room) != convo {
		return resp, nil, nil, fmt.Errorf("%w: a sync response for %s in the wrong frame type", ErrFrame, resp.Room)
	}
	if malformed != nil {
		return resp, nil, nil, malformed
	}
	want := n.wanted
	if convo {
		want = func(m *Message) bool { return n.wantedConvo(l, m) }
	}
	msgs, raws := decoded[:0], make([][]byte, 0, len(resp.Msgs))
	for i := range decoded {
		if want(&decoded[i]) {
			msgs, raws = append(msgs, decoded[i]), append(raws, resp.Msgs[i])
		}
	}
	return resp, msgs, raws, nil
}

// submitSync screens the messages of one or more sync responses (one
// signature batch) and submits them as one write; then, for each room in
// done (whose last response was among them), an empty delivery that
// compares chains once the write is durable (converge.go).
func (l *link) submitSync(ctx context.Context, out *deliveryLine, msgs []Message, raws [][]byte, done []string) error {
	n := l.node
	msgs, raws, err := n.screenDecoded(ctx, l, msgs, raws)
	if err != nil {
		return err
	}
	if len(msgs) > 0 {
		if err := n.submit(ctx, out, delivery{msgs: msgs, raws: raws, catchUp: true}); err != nil {
			return err
		}
	}
	for _, room := range done {
		if err := out.push(ctx, delivery{catchUp: true, checkRoom: room}); err != nil {
			return err
		}
	}
	return nil
}
