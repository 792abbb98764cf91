package chat

import (
	"context"
	"errors"
	"fmt"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
	"github.com/lanchat/lanchat/storage"
)

// deliveryQueue bounds the deliveries (a live message, or a catch-up batch)
// of one link that wait for their commit; a full queue stops reading from
// that link (TCP pushes back). Small: each slot costs memory on every link.
const deliveryQueue = 64

// delivery is a batch of verified messages from one link, submitted to the
// store and waiting for its commit before being shown and relayed.
type delivery struct {
	msgs    []Message
	raws    [][]byte
	pending storage.Pending
	catchUp bool
	// checkRoom, when set, is the room whose catch-up this delivery ends:
	// once it is durable the node sends its sync check (converge.go).
	checkRoom string
}

// serveLink reads one link's frames until it ends. Messages are verified,
// submitted to the store at once (many in flight share one commit), and
// shown and relayed in arrival order once durable.
func (n *Node) serveLink(p *peer) {
	defer n.wg.Done()
	defer n.removeLink(p)
	// The link ends with its reader: on shutdown (the context ends first),
	// a peer's bug, or anything else. Closing a link that already ended
	// does nothing.
	defer p.link.Close("shutting down")
	defer func() {
		if r := recover(); r != nil { // one peer's input never takes the node down
			n.logf("link with %s: internal error: %v", p.key, r)
			p.link.Close("internal error")
		}
	}()
	// Recv and SendWait return once the link ends; cancel stops this
	// link's sync senders when its reader returns.
	ctx, cancel := context.WithCancel(n.runCtx)
	defer cancel()
	deliveries := make(chan delivery, deliveryQueue)
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		n.deliver(p, deliveries)
	}()
	defer func() { close(deliveries); <-delivered }()
	for _, r := range n.sharedRooms(p) {
		n.requestSync(p, r)
	}
	for {
		f, err := p.link.Recv(ctx)
		if err != nil {
			return
		}
		if err := n.handleFrame(ctx, p, f, deliveries); err != nil {
			if ctx.Err() != nil {
				return // shutting down: the deferred Close says so
			}
			n.logf("link with %s: %v", p.key, err)
			closeFor(p.link, err)
			return
		}
	}
}

// errRoomLimit: a peer joined more rooms than a hello may name.
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
func closeFor(link *session.Link, err error) {
	if peerFault(err) {
		link.CloseWith(session.CloseProtocolError, err.Error())
		return
	}
	link.Close("local error: " + err.Error())
}

func (n *Node) handleFrame(ctx context.Context, p *peer, f session.Frame, out chan<- delivery) error {
	switch f.Type {
	case frameChat:
		msgs, raws, err := n.screen(ctx, p, [][]byte{f.Body})
		if err != nil || len(msgs) == 0 {
			return err
		}
		return n.submit(ctx, out, delivery{msgs: msgs, raws: raws})
	case frameSyncResponse:
		return n.handleSyncResponse(ctx, p, f.Body, out)
	case frameSyncRequest:
		req, err := decodeSyncRequest(f.Body)
		if err != nil {
			return err
		}
		n.startSync(ctx, p, req)
		return nil
	case frameRoomJoin, frameRoomLeave:
		return n.handleRoomFrame(p, f)
	case frameSyncCheck:
		return n.handleSyncCheck(ctx, p, f.Body)
	}
	n.stats.skipped.Add(1) // a newer peer's frame type: skipped (PROTOCOL.md 4.2)
	return nil
}

func (n *Node) submit(ctx context.Context, out chan<- delivery, d delivery) error {
	stored := make([]storage.StoredMessage, len(d.msgs))
	for i := range d.msgs {
		stored[i] = toStored(&d.msgs[i], d.raws[i])
	}
	pend, err := n.committer().Submit(ctx, stored...)
	if err != nil {
		n.inflight.release(d.msgs)
		return err
	}
	d.pending = pend
	select {
	case out <- d:
		return nil
	case <-ctx.Done():
		_, _ = pend.Wait()
		n.inflight.release(d.msgs)
		return ctx.Err()
	}
}

func toStored(m *Message, raw []byte) storage.StoredMessage {
	return storage.StoredMessage{Room: m.Room, Author: m.Author, Seq: m.Seq, Clock: m.Clock, Raw: raw}
}

// deliver waits for each delivery's commit, then shows and relays the
// messages that were new.
func (n *Node) deliver(from *peer, in <-chan delivery) {
	for d := range in {
		if len(d.msgs) == 0 {
			if d.checkRoom != "" {
				n.sendSyncCheck(from, d.checkRoom)
			}
			continue
		}
		added, err := d.pending.Wait()
		n.inflight.release(d.msgs)
		if err != nil {
			n.logf("storing messages from %s: %v", from.key, err)
			n.mu.Lock()
			from.storeErr = err
			n.mu.Unlock()
			n.closeAsync(from, "local storage error")
			continue
		}
		for i, isNew := range added {
			if !isNew {
				continue
			}
			m := &d.msgs[i]
			if rs := n.room(m.Room); rs != nil {
				storeMax(&rs.maxClock, m.Clock)
				if m.Author == n.id.Public() { // our own, back from a peer
					storeMax(&rs.nextSeq, m.Seq+1)
				}
			}
			n.events.publish(Event{Kind: EventMessage, Room: m.Room, Message: n.view(m, d.catchUp)})
			n.relay(from, m.Room, m.Author, d.raws[i])
		}
		if d.checkRoom != "" {
			n.sendSyncCheck(from, d.checkRoom)
		}
	}
}

// relay forwards a new message to every other link in its room. A link whose
// queue is full is closed: it catches up by sync when it links again, so a
// slow peer neither stalls the others nor loses messages.
func (n *Node) relay(from *peer, room string, author lcrypto.IdentityKey, raw []byte) int {
	sent := 0
	for _, p := range n.linksInRoom(room) {
		if p == from || p.key == author {
			continue
		}
		if err := p.link.Send(frameChat, raw); err != nil {
			if errors.Is(err, session.ErrQueueFull) {
				n.logf("link with %s is too slow; closing it (it will catch up)", p.key)
				n.closeAsync(p, "send queue full")
			}
			continue
		}
		sent++
	}
	return sent
}

func (n *Node) linksInRoom(room string) []*peer {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []*peer
	for _, p := range n.links {
		if p.rooms[room] {
			out = append(out, p)
		}
	}
	return out
}

func (n *Node) sharedRooms(p *peer) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for r := range p.rooms {
		if n.rooms[r] != nil {
			out = append(out, r)
		}
	}
	return out
}

func (n *Node) room(name string) *room {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rooms[name]
}

func (n *Node) handleRoomFrame(p *peer, f session.Frame) error {
	r, err := decodeRoomFrame(f.Body)
	if err != nil {
		return err
	}
	join := f.Type == frameRoomJoin
	n.mu.Lock()
	if join && !p.rooms[r] && len(p.rooms) >= MaxRooms {
		n.mu.Unlock()
		return errRoomLimit
	}
	changed := p.rooms[r] != join
	if join {
		p.rooms[r] = true
	} else {
		delete(p.rooms, r)
	}
	ours := n.rooms[r] != nil
	n.mu.Unlock()
	if !changed {
		return nil
	}
	kind := EventLeave
	if join {
		kind = EventJoin
		if ours {
			n.requestSync(p, r)
		}
	}
	n.events.publish(Event{Kind: kind, Room: r, Peer: n.peerViewOf(p)})
	return nil
}

// view turns a message into what the UI shows.
func (n *Node) view(m *Message, catchUp bool) *MessageView {
	fp := m.Author.Fingerprint()
	v := &MessageView{
		ID: m.ID(), Room: m.Room, Author: fp.String(), AuthorShort: fp.Short(),
		Seq: m.Seq, Clock: m.Clock, Time: m.Time, Body: m.Body, CatchUp: catchUp,
	}
	v.Own = m.Author == n.id.Public()
	v.Nick, v.Trusted = n.authorName(m.Author)
	if rs := n.room(m.Room); rs != nil {
		v.Equivocator = rs.isEquivocator(m.Author)
	}
	return v
}

// authorName returns how to call an author and whether it is trusted (or us).
func (n *Node) authorName(key lcrypto.IdentityKey) (string, bool) {
	if key == n.id.Public() {
		return n.cfg.Nickname, true
	}
	tp, ok, err := n.store.IsTrusted(key.Fingerprint())
	if err == nil && ok && tp.Name != "" {
		return tp.Name, true
	}
	n.mu.Lock()
	nick := n.nicks[key]
	n.mu.Unlock()
	return nick, err == nil && ok
}

func storeMax(a interface {
	Load() uint64
	CompareAndSwap(old, new uint64) bool
}, v uint64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}
