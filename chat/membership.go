package chat

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Membership operations of a private room (PROTOCOL.md 5.10) are messages
// of the room whose body is an operation record:
//
//	"\x00lanchat-op/1\n" kind [ "\n" argument ]*
//
//	create   "\n" nonce (32 hex) "\n" room name
//	invite   "\n" invitee key (64 hex)
//	remove   "\n" removed key (64 hex) "\n" cut (decimal)
//	promote  "\n" promoted key (64 hex)
//	leave
//
// A record has one encoding only (lower-case hex, no leading zeros): a body
// that starts with the marker and is not a canonical record is an invalid
// operation, ignored by everyone. A chat message of a private room never
// starts with U+0000.

// Operation kinds.
const (
	OpCreate  = "create"
	OpInvite  = "invite"
	OpRemove  = "remove"
	OpPromote = "promote"
	OpLeave   = "leave"
)

// NonceSize is the length of a create operation's random nonce.
const NonceSize = 16

// opMarker starts every operation record.
const opMarker = "\x00lanchat-op/1\n"

// Op is one membership operation.
type Op struct {
	Kind    string
	Subject lcrypto.IdentityKey // invite, remove, promote
	Cut     uint64              // remove: the removed member's messages up to this sequence number stay in the room
	Nonce   [NonceSize]byte     // create
	Name    string              // create: the room's display name
}

// Encode returns the operation's record (a message body).
func (o Op) Encode() string {
	var b strings.Builder
	b.WriteString(opMarker)
	b.WriteString(o.Kind)
	switch o.Kind {
	case OpCreate:
		b.WriteString("\n" + hex.EncodeToString(o.Nonce[:]) + "\n" + o.Name)
	case OpInvite, OpPromote:
		b.WriteString("\n" + hex.EncodeToString(o.Subject[:]))
	case OpRemove:
		b.WriteString("\n" + hex.EncodeToString(o.Subject[:]) + "\n" + strconv.FormatUint(o.Cut, 10))
	}
	return b.String()
}

// isOpBody reports whether a body is meant as an operation record.
func isOpBody(body string) bool { return strings.HasPrefix(body, "\x00") }

// DecodeOp parses an operation record strictly: it must be the canonical
// encoding of a valid operation.
func DecodeOp(body string) (Op, error) {
	var o Op
	rest, ok := strings.CutPrefix(body, opMarker)
	if !ok {
		return o, fmt.Errorf("%w: not an operation record", ErrMalformed)
	}
	parts := strings.Split(rest, "\n")
	o.Kind = parts[0]
	want := map[string]int{OpCreate: 3, OpInvite: 2, OpRemove: 3, OpPromote: 2, OpLeave: 1}[o.Kind]
	if want == 0 || len(parts) != want {
		return Op{}, fmt.Errorf("%w: operation %q with %d fields", ErrMalformed, o.Kind, len(parts))
	}
	switch o.Kind {
	case OpCreate:
		if !decodeHexInto(o.Nonce[:], parts[1]) {
			return Op{}, fmt.Errorf("%w: create nonce", ErrMalformed)
		}
		o.Name = parts[2]
		if err := ValidateRoom(o.Name); err != nil {
			return Op{}, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
	case OpInvite, OpPromote, OpRemove:
		if !decodeHexInto(o.Subject[:], parts[1]) {
			return Op{}, fmt.Errorf("%w: %s key", ErrMalformed, o.Kind)
		}
		if o.Kind == OpRemove {
			cut, err := strconv.ParseUint(parts[2], 10, 64)
			if err != nil {
				return Op{}, fmt.Errorf("%w: remove cut: %w", ErrMalformed, err)
			}
			o.Cut = cut
		}
	}
	if o.Encode() != body {
		return Op{}, fmt.Errorf("%w: operation record not in its canonical form", ErrMalformed)
	}
	return o, nil
}

func decodeHexInto(dst []byte, s string) bool {
	if len(s) != 2*len(dst) || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.Decode(dst, []byte(s))
	return err == nil
}

// position is a message's place in its room's total order.
type position struct {
	clock  uint64
	author lcrypto.IdentityKey
	seq    uint64
}

func posOf(m *Message) position { return position{m.Clock, m.Author, m.Seq} }

func (p position) cmp(q position) int {
	if c := cmp.Compare(p.clock, q.clock); c != 0 {
		return c
	}
	if c := bytes.Compare(p.author[:], q.author[:]); c != 0 {
		return c
	}
	return cmp.Compare(p.seq, q.seq)
}

// opEntry is one operation held, with the message that carries it.
type opEntry struct {
	pos  position
	op   Op
	time time.Time
}

// interval is one stretch of a key's membership: from the operation that
// made it a member (start) to the one that ended it (end, if any). Its
// messages count when they sort inside it and floor < seq ≤ cut.
type interval struct {
	start, end position
	open       bool
	floor, cut uint64
}

func (iv *interval) holds(p position) bool {
	return p.cmp(iv.start) > 0 && (iv.open || p.cmp(iv.end) < 0)
}

// Member is one current member of a private room.
type Member struct {
	Key       lcrypto.IdentityKey
	Admin     bool
	InvitedBy lcrypto.IdentityKey // the creator for itself
	Since     time.Time           // the author time of the operation that added it
}

// Membership is the fold of a private room's operations in the room's total
// order: who is a member now, who was when, and which operations applied.
// It is a function of the set of operations held, so every member that
// holds the same operations computes the same membership (DESIGN rule 7).
type Membership struct {
	Room    string
	Name    string
	Creator lcrypto.IdentityKey
	Created bool

	members   map[lcrypto.IdentityKey]*Member
	intervals map[lcrypto.IdentityKey][]interval
	applied   map[position]bool
	lastCut   map[lcrypto.IdentityKey]uint64
}

// maxFoldRounds bounds the rounds of FoldMembership (each round voids at
// least one more operation, so len(ops)+1 rounds always suffice).
func maxFoldRounds(ops int) int { return ops + 1 }

// FoldMembership computes a private room's membership from its operations,
// in any order. The rules (PROTOCOL.md 5.10), checked against the
// membership at each operation's place in the order:
//
//   - create: only the first, by the key the room id binds (PrivateID); its
//     author becomes the first member and admin.
//   - invite: by a member, of a key that is not one.
//   - promote: by an admin, of a member that is not an admin.
//   - remove: by an admin, of another member; the removed member's messages
//     with a sequence number above the cut no longer count, wherever they
//     sort (this voids operations it signed too, and the fold is run again
//     without them until nothing more is voided).
//   - leave: by a member; its messages after the leave no longer count.
//
// Every member's operations and messages count only with sequence numbers
// above the cut of its previous membership (floor).
func FoldMembership(room string, ops []opEntry) *Membership {
	sorted := slices.Clone(ops)
	slices.SortFunc(sorted, func(a, b opEntry) int { return a.pos.cmp(b.pos) })
	void := map[position]bool{}
	var ms *Membership
	for round := 0; round < maxFoldRounds(len(sorted)); round++ {
		ms = foldOnce(room, sorted, void)
		if !ms.voidCut(sorted, void) {
			break
		}
	}
	return ms
}

func foldOnce(room string, ops []opEntry, void map[position]bool) *Membership {
	ms := &Membership{Room: room, members: map[lcrypto.IdentityKey]*Member{},
		intervals: map[lcrypto.IdentityKey][]interval{}, applied: map[position]bool{},
		lastCut: map[lcrypto.IdentityKey]uint64{}}
	for _, e := range ops {
		if !void[e.pos] && ms.apply(e) {
			ms.applied[e.pos] = true
		}
	}
	return ms
}

// apply applies one operation if the rules allow it at its place.
func (ms *Membership) apply(e opEntry) bool {
	author := e.pos.author
	if e.op.Kind == OpCreate {
		if ms.Created || PrivateID(author, e.op.Nonce) != ms.Room {
			return false
		}
		ms.Created, ms.Name, ms.Creator = true, e.op.Name, author
		ms.add(author, author, e, true)
		return true
	}
	actor := ms.members[author]
	if actor == nil || e.pos.seq <= ms.openInterval(author).floor {
		return false
	}
	subject := ms.members[e.op.Subject]
	switch e.op.Kind {
	case OpInvite:
		if subject != nil {
			return false
		}
		ms.add(e.op.Subject, author, e, false)
	case OpPromote:
		if !actor.Admin || subject == nil || subject.Admin {
			return false
		}
		subject.Admin = true
	case OpRemove:
		if !actor.Admin || subject == nil || e.op.Subject == author {
			return false
		}
		ms.end(e.op.Subject, e.pos, e.op.Cut)
	case OpLeave:
		ms.end(author, e.pos, e.pos.seq)
	default:
		return false
	}
	return true
}

func (ms *Membership) add(key, by lcrypto.IdentityKey, e opEntry, admin bool) {
	ms.members[key] = &Member{Key: key, Admin: admin, InvitedBy: by, Since: e.time}
	ms.intervals[key] = append(ms.intervals[key], interval{start: e.pos, open: true, floor: ms.lastCut[key], cut: ^uint64(0)})
}

func (ms *Membership) end(key lcrypto.IdentityKey, at position, cut uint64) {
	delete(ms.members, key)
	ivs := ms.intervals[key]
	iv := &ivs[len(ivs)-1]
	iv.end, iv.open, iv.cut = at, false, max(cut, iv.floor)
	ms.lastCut[key] = iv.cut
}

// openInterval returns key's current interval (a member's).
func (ms *Membership) openInterval(key lcrypto.IdentityKey) interval {
	ivs := ms.intervals[key]
	return ivs[len(ivs)-1]
}

// voidCut adds to void every applied operation whose author's membership
// interval was later ended with a cut below its sequence number; it
// reports whether void grew.
func (ms *Membership) voidCut(ops []opEntry, void map[position]bool) bool {
	grew := false
	for _, e := range ops {
		if !ms.applied[e.pos] {
			continue
		}
		if !ms.counts(e.pos) {
			void[e.pos], grew = true, true
		}
	}
	return grew
}

// counts reports whether the message at p counts: its author was a member
// where it sorts, with a sequence number inside that membership's bounds.
func (ms *Membership) counts(p position) bool {
	for _, iv := range ms.intervals[p.author] {
		// The create operation starts its author's interval, a leave ends it.
		edge := iv.start == p || !iv.open && iv.end == p
		if (edge || iv.holds(p)) && p.seq > iv.floor && p.seq <= iv.cut {
			return true
		}
	}
	return false
}

// memberAt reports whether key was a member where p sorts.
func (ms *Membership) memberAt(key lcrypto.IdentityKey, p position) bool {
	for _, iv := range ms.intervals[key] {
		if iv.holds(p) {
			return true
		}
	}
	return false
}

// IsMember reports whether key is a member now.
func (ms *Membership) IsMember(key lcrypto.IdentityKey) bool { return ms.members[key] != nil }

// IsAdmin reports whether key is an admin now.
func (ms *Membership) IsAdmin(key lcrypto.IdentityKey) bool {
	m := ms.members[key]
	return m != nil && m.Admin
}

// Members returns the current members, sorted by when they were added.
func (ms *Membership) Members() []Member {
	out := make([]Member, 0, len(ms.members))
	for _, m := range ms.members {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b Member) int {
		return ms.openInterval(a.Key).start.cmp(ms.openInterval(b.Key).start)
	})
	return out
}

// Known reports whether key was ever a member (its messages are worth
// keeping: whether they count can change as operations arrive).
func (ms *Membership) Known(key lcrypto.IdentityKey) bool { return len(ms.intervals[key]) > 0 }

// Applied reports whether the operation message m applied.
func (ms *Membership) Applied(m *Message) bool { return ms.applied[posOf(m)] }

// Belongs reports whether message m is part of the room: an operation that
// applied, or a chat message that counts.
func (ms *Membership) Belongs(m *Message) bool {
	if isOpBody(m.Body) {
		return ms.Applied(m)
	}
	return ms.counts(posOf(m))
}

// Delivers reports whether key may be sent message m: an operation goes to
// current members and to its subject; a chat message that belongs to the
// room goes to those who were members where it sorts.
func (ms *Membership) Delivers(key lcrypto.IdentityKey, m *Message) bool {
	if isOpBody(m.Body) {
		if ms.IsMember(key) {
			return true
		}
		op, err := DecodeOp(m.Body)
		return err == nil && op.Subject == key && ms.Applied(m)
	}
	return ms.Belongs(m) && ms.memberAt(key, posOf(m))
}
