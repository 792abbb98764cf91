package chat

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// labels is where the author labels of a MessageView come from. Live
// events (the node's labels) and history (ReadHistory's, from the store
// alone) use the same rules, so one message is labelled alike in both.
type labels struct {
	self     lcrypto.IdentityKey
	selfNick string
	// trusted returns the trust list's name for a peer and whether it is
	// on the list.
	trusted func(lcrypto.Fingerprint) (name string, ok bool)
	// hello returns the nickname a peer announced in its hello, "" if
	// none; nil: none known (no node runs).
	hello func(lcrypto.IdentityKey) string
	// marked reports whether author is found signing twice in room.
	marked func(room string, author lcrypto.IdentityKey) bool
	// direct returns the other person of a direct conversation, if known.
	direct func(room string) (lcrypto.Fingerprint, bool)
	// private returns a private room's membership, nil if unknown.
	private func(room string) *Membership
}

// author returns how to call key and whether it is trusted (or us): our
// own nickname, else the name we gave them, else the nickname they
// announced.
func (lb *labels) author(key lcrypto.IdentityKey) (string, bool) {
	if key == lb.self {
		return lb.selfNick, true
	}
	name, ok := lb.trusted(key.Fingerprint())
	if ok && name != "" {
		return name, true
	}
	if lb.hello == nil {
		return "", ok
	}
	return lb.hello(key), ok
}

// fingerprint returns key's fingerprint in full and short (their text is
// remembered by package crypto: formatting is what costs).
func (lb *labels) fingerprint(key lcrypto.IdentityKey) (full, short string) {
	fp := key.Fingerprint()
	return fp.String(), fp.Short()
}

func (lb *labels) selfShort() string {
	_, short := lb.fingerprint(lb.self)
	return short
}

// view is the one MessageView builder. m is the message; damaged, when
// not nil, is a stored record that does not decode or verify (m unused):
// it is shown with what its storage key says (room, author, sequence,
// clock) and no text that could pass for the author's.
func (lb *labels) view(m *Message, damaged *storage.StoredMessage, catchUp bool) *MessageView {
	v := &MessageView{CatchUp: catchUp}
	var author lcrypto.IdentityKey
	if damaged != nil {
		author = lcrypto.IdentityKey(damaged.Author)
		sum := sha256.Sum256(damaged.Raw)
		v.Room, v.Seq, v.Clock = damaged.Room, damaged.Seq, damaged.Clock
		v.ID, v.Damaged = hex.EncodeToString(sum[:]), true
		v.Time = time.UnixMilli(messageTimeMs(damaged.Raw))
	} else {
		author = m.Author
		v.Room, v.Seq, v.Clock = m.Room, m.Seq, m.Clock
		v.ID, v.Time, v.Body = m.ID(), m.Time, m.Body
		if o := fileOfferOf(m.Body); o != nil {
			v.File = offerView(o)
		}
	}
	v.Author, v.AuthorShort = lb.fingerprint(author)
	v.Own = author == lb.self
	v.Nick, v.Trusted = lb.author(author)
	v.Equivocator = lb.marked(v.Room, author)
	v.Mention = !v.Own && !v.Damaged && Mentions(v.Body, lb.selfNick, lb.selfShort())
	lb.convoView(v, m, damaged == nil)
	return v
}

// convoView fills in what a view says of its conversation.
func (lb *labels) convoView(v *MessageView, m *Message, decoded bool) {
	v.Conversation = ConvoKind(v.Room)
	switch v.Conversation {
	case KindDirect:
		if lb.direct == nil {
			return
		}
		if fp, ok := lb.direct(v.Room); ok {
			v.With = fp.String()
			v.WithNick, _ = lb.trusted(fp)
		}
	case KindPrivate:
		if lb.private != nil {
			if ms := lb.private(v.Room); ms != nil {
				v.RoomName = ms.Name
			}
		}
		if decoded && isOpBody(m.Body) {
			v.Op, v.Body = lb.opView(m)
		}
	}
}

// opView describes an operation message, in a view and in words.
func (lb *labels) opView(m *Message) (*OpView, string) {
	op, err := DecodeOp(m.Body)
	if err != nil {
		return &OpView{Kind: "invalid"}, "(an invalid membership operation)"
	}
	ov := &OpView{Kind: op.Kind, Name: op.Name, Cut: op.Cut}
	who := ""
	if op.Kind != OpCreate && op.Kind != OpLeave {
		ov.Subject = op.Subject.Fingerprint().String()
		ov.SubjectNick, _ = lb.author(op.Subject)
		who = ov.SubjectNick
		if who == "" {
			who = op.Subject.Fingerprint().Short()
		}
	}
	switch op.Kind {
	case OpCreate:
		return ov, "created the private room " + op.Name
	case OpInvite:
		return ov, "invited " + who + " (who sees the room from here on)"
	case OpRemove:
		return ov, "removed " + who
	case OpPromote:
		return ov, "made " + who + " an admin"
	}
	return ov, "left the room"
}

// labels returns the running node's labels: its trust list, the nicknames
// of its peers' hellos, its rooms' equivocators (the store's for a room it
// left).
func (n *Node) labels() *labels {
	return &labels{
		self:     n.id.Public(),
		selfNick: n.Nickname(),
		trusted: func(fp lcrypto.Fingerprint) (string, bool) {
			tp, ok, err := n.store.IsTrusted(fp)
			return tp.Name, err == nil && ok
		},
		hello: n.helloNick,
		marked: func(room string, author lcrypto.IdentityKey) bool {
			if rs := n.room(room); rs != nil {
				return rs.isEquivocator(author)
			}
			eq, err := n.store.Equivocators(room)
			_, ok := eq[author]
			return err == nil && ok
		},
		direct: func(room string) (lcrypto.Fingerprint, bool) {
			if c := n.convo(room); c != nil && c.kind == KindDirect {
				return c.peer, true
			}
			fp, ok := directPeers(n.store, n.id.Public())[room]
			return fp, ok
		},
		private: func(room string) *Membership {
			if c := n.convo(room); c != nil && c.kind == KindPrivate {
				return c.membership()
			}
			return nil
		},
	}
}

// directPeers maps the direct conversation id with each trusted peer to
// its fingerprint.
func directPeers(store *storage.DB, self lcrypto.IdentityKey) map[string]lcrypto.Fingerprint {
	out := map[string]lcrypto.Fingerprint{}
	peers, err := store.TrustedPeers()
	if err != nil {
		return out
	}
	for _, p := range peers {
		out[DirectID(self.Fingerprint(), p.Fingerprint)] = p.Fingerprint
	}
	return out
}

// view turns a message into what the UI shows.
func (n *Node) view(m *Message, catchUp bool) *MessageView {
	return n.labels().view(m, nil, catchUp)
}

// authorName returns how to call an author and whether it is trusted (or us).
func (n *Node) authorName(key lcrypto.IdentityKey) (string, bool) {
	return n.labels().author(key)
}

// storeLabels are the labels of history read from the store alone: the
// trust list and the recorded equivocators of the rooms of stored.
func storeLabels(store *storage.DB, self lcrypto.IdentityKey, selfNick string, stored []storage.StoredMessage) (*labels, error) {
	names := trustedNames(store)
	equiv := map[string]map[[storage.AuthorKeySize]byte]storage.Equivocation{}
	for i := range stored {
		room := stored[i].Room
		if _, ok := equiv[room]; ok {
			continue
		}
		eq, err := store.Equivocators(room)
		if err != nil {
			return nil, err
		}
		equiv[room] = eq
	}
	direct := directPeers(store, self)
	private := map[string]*Membership{}
	for i := range stored {
		room := stored[i].Room
		if _, ok := private[room]; ok || ConvoKind(room) != KindPrivate {
			continue
		}
		ms, err := ReadMembership(store, room)
		if err != nil {
			return nil, err
		}
		private[room] = ms
	}
	return &labels{
		self:     self,
		selfNick: selfNick,
		trusted: func(fp lcrypto.Fingerprint) (string, bool) {
			name, ok := names[fp]
			return name, ok
		},
		direct: func(room string) (lcrypto.Fingerprint, bool) {
			fp, ok := direct[room]
			return fp, ok
		},
		private: func(room string) *Membership { return private[room] },
		marked: func(room string, author lcrypto.IdentityKey) bool {
			_, ok := equiv[room][author]
			return ok
		},
	}, nil
}

func trustedNames(store *storage.DB) map[lcrypto.Fingerprint]string {
	out := map[lcrypto.Fingerprint]string{}
	peers, err := store.TrustedPeers()
	if err != nil {
		return out
	}
	for _, p := range peers {
		out[p.Fingerprint] = p.Name
	}
	return out
}
