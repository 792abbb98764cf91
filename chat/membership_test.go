package chat

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/internal/fuzzseed"
)

// opAt is an operation by author at (clock, seq).
func opAt(author lcrypto.IdentityKey, clock, seq uint64, op Op) opEntry {
	return opEntry{pos: position{clock, author, seq}, op: op, time: time.UnixMilli(int64(clock))}
}

func keysOf(ms *Membership) []lcrypto.IdentityKey {
	var out []lcrypto.IdentityKey
	for _, m := range ms.Members() {
		out = append(out, m.Key)
	}
	slices.SortFunc(out, func(a, b lcrypto.IdentityKey) int { return slices.Compare(a[:], b[:]) })
	return out
}

func sortedKeys(ks ...lcrypto.IdentityKey) []lcrypto.IdentityKey {
	out := slices.Clone(ks)
	slices.SortFunc(out, func(a, b lcrypto.IdentityKey) int { return slices.Compare(a[:], b[:]) })
	return out
}

func TestFoldMembershipRules(t *testing.T) {
	alice, bob, mallory, eve := newID(t).Public(), newID(t).Public(), newID(t).Public(), newID(t).Public()
	var nonce [NonceSize]byte
	nonce[0] = 7
	room := PrivateID(alice, nonce)
	create := opAt(alice, 1, 1, Op{Kind: OpCreate, Nonce: nonce, Name: "design"})
	invite := func(by lcrypto.IdentityKey, clock, seq uint64, who lcrypto.IdentityKey) opEntry {
		return opAt(by, clock, seq, Op{Kind: OpInvite, Subject: who})
	}
	remove := func(by lcrypto.IdentityKey, clock, seq uint64, who lcrypto.IdentityKey, cut uint64) opEntry {
		return opAt(by, clock, seq, Op{Kind: OpRemove, Subject: who, Cut: cut})
	}
	promote := func(by lcrypto.IdentityKey, clock, seq uint64, who lcrypto.IdentityKey) opEntry {
		return opAt(by, clock, seq, Op{Kind: OpPromote, Subject: who})
	}
	base := []opEntry{create, invite(alice, 2, 2, bob), invite(alice, 3, 3, mallory)}
	tests := []struct {
		name    string
		ops     []opEntry
		members []lcrypto.IdentityKey
		admins  []lcrypto.IdentityKey
	}{
		{"create and invites", base, sortedKeys(alice, bob, mallory), []lcrypto.IdentityKey{alice}},
		{"a create by someone the id does not bind is void",
			[]opEntry{opAt(mallory, 1, 1, Op{Kind: OpCreate, Nonce: nonce, Name: "mine"}), create}, []lcrypto.IdentityKey{alice}, []lcrypto.IdentityKey{alice}},
		{"an invite by a non-member is void", append(slices.Clone(base), invite(eve, 9, 1, eve)), sortedKeys(alice, bob, mallory), nil},
		{"a member invites", append(slices.Clone(base), invite(mallory, 9, 1, eve)), sortedKeys(alice, bob, mallory, eve), nil},
		{"a removal by a non-admin is void", append(slices.Clone(base), remove(mallory, 9, 1, bob, 0)), sortedKeys(alice, bob, mallory), nil},
		{"a promotion by a non-admin is void", append(slices.Clone(base), promote(mallory, 9, 1, mallory)), sortedKeys(alice, bob, mallory), []lcrypto.IdentityKey{alice}},
		{"an admin removes", append(slices.Clone(base), remove(alice, 9, 4, mallory, 0)), sortedKeys(alice, bob), nil},
		{"two admins remove each other: the first in the order wins",
			append(slices.Clone(base), promote(alice, 4, 4, bob), remove(alice, 10, 5, bob, 0), remove(bob, 9, 1, alice, 4)),
			sortedKeys(bob, mallory), []lcrypto.IdentityKey{bob}},
		{"a removed member's backdated invite is void (its sequence number is above the cut)",
			append(slices.Clone(base), remove(alice, 10, 4, mallory, 0), invite(mallory, 5, 1, eve)),
			sortedKeys(alice, bob), nil},
		{"a member's invite before its removal stays",
			append(slices.Clone(base), invite(mallory, 5, 1, eve), remove(alice, 10, 4, mallory, 1)),
			sortedKeys(alice, bob, eve), nil},
		{"leave", append(slices.Clone(base), opAt(bob, 9, 1, Op{Kind: OpLeave})), sortedKeys(alice, mallory), nil},
		{"invited again after a removal", append(slices.Clone(base), remove(alice, 9, 4, mallory, 0), invite(bob, 11, 1, mallory)),
			sortedKeys(alice, bob, mallory), nil},
		{"nothing before the create counts", []opEntry{invite(alice, 1, 1, bob), opAt(alice, 2, 2, Op{Kind: OpCreate, Nonce: nonce, Name: "x"})},
			[]lcrypto.IdentityKey{alice}, nil},
		{"an invite of a member is void", append(slices.Clone(base), invite(bob, 9, 1, mallory)), sortedKeys(alice, bob, mallory), nil},
		{"an admin cannot remove itself", append(slices.Clone(base), remove(alice, 9, 4, alice, 0)), sortedKeys(alice, bob, mallory), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := FoldMembership(room, tt.ops)
			if got := keysOf(want); !slices.Equal(got, tt.members) {
				t.Fatalf("members = %d keys, want %d: %v", len(got), len(tt.members), got)
			}
			for _, a := range tt.admins {
				if !want.IsAdmin(a) {
					t.Errorf("%s is not an admin", a.Fingerprint().Short())
				}
			}
			// The fold depends on the set of operations, not on the
			// order they arrived in.
			r := rand.New(rand.NewPCG(1, 2))
			for i := 0; i < 20; i++ {
				ops := slices.Clone(tt.ops)
				r.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
				if got := keysOf(FoldMembership(room, ops)); !slices.Equal(got, tt.members) {
					t.Fatalf("shuffled: members = %v, want %v", got, tt.members)
				}
			}
		})
	}
}

func TestMessagesCountByMembership(t *testing.T) {
	alice, mallory := newID(t).Public(), newID(t).Public()
	var nonce [NonceSize]byte
	room := PrivateID(alice, nonce)
	ops := []opEntry{
		opAt(alice, 1, 1, Op{Kind: OpCreate, Nonce: nonce, Name: "r"}),
		opAt(alice, 2, 2, Op{Kind: OpInvite, Subject: mallory}),
		opAt(alice, 10, 3, Op{Kind: OpRemove, Subject: mallory, Cut: 2}),
	}
	ms := FoldMembership(room, ops)
	msg := func(author lcrypto.IdentityKey, clock, seq uint64) *Message {
		return &Message{Room: room, Author: author, Clock: clock, Seq: seq, Body: "x"}
	}
	for _, tt := range []struct {
		name string
		m    *Message
		want bool
	}{
		{"mallory before her removal", msg(mallory, 5, 1), true},
		{"mallory up to the cut", msg(mallory, 6, 2), true},
		{"mallory above the cut, backdated", msg(mallory, 7, 3), false},
		{"mallory after her removal", msg(mallory, 11, 3), false},
		{"mallory before her invite", msg(mallory, 1, 1), false},
		{"alice", msg(alice, 12, 4), true},
	} {
		if got := ms.Belongs(tt.m); got != tt.want {
			t.Errorf("%s: belongs = %v, want %v", tt.name, got, tt.want)
		}
	}
	if ms.Delivers(mallory, msg(alice, 12, 4)) {
		t.Error("a message after the removal is delivered to mallory")
	}
	if !ms.Delivers(mallory, msg(alice, 4, 4)) {
		t.Error("a message while mallory was a member is not delivered to her")
	}
}

func TestOpRecordRoundTrip(t *testing.T) {
	k := newID(t).Public()
	var nonce [NonceSize]byte
	nonce[3] = 0xab
	for _, op := range []Op{
		{Kind: OpCreate, Nonce: nonce, Name: "design"},
		{Kind: OpInvite, Subject: k},
		{Kind: OpRemove, Subject: k, Cut: 42},
		{Kind: OpPromote, Subject: k},
		{Kind: OpLeave},
	} {
		got, err := DecodeOp(op.Encode())
		if err != nil || got != op {
			t.Errorf("%s: decoded %+v, %v", op.Kind, got, err)
		}
	}
	for _, bad := range []string{
		"", "hello", opMarker, opMarker + "leave\n", opMarker + "invite\n" + "AB",
		opMarker + "remove\n" + Op{Kind: OpInvite, Subject: k}.Encode()[len(opMarker)+7:] + "\n042",
		opMarker + "create\n00\nx", opMarker + "jump",
	} {
		if _, err := DecodeOp(bad); err == nil {
			t.Errorf("DecodeOp(%q) accepted", bad)
		}
	}
}

func FuzzDecodeOp(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "FuzzDecodeOp") {
		f.Add(string(s))
	}
	f.Fuzz(func(t *testing.T, s string) {
		op, err := DecodeOp(s)
		if err != nil {
			return
		}
		if op.Encode() != s {
			t.Fatalf("re-encoding %q gives %q", s, op.Encode())
		}
	})
}

func FuzzDecodeWelcome(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "FuzzDecodeWelcome") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := decodeWelcome(b)
		if err != nil {
			return
		}
		if got := w.encode(); string(got) != string(b) {
			t.Fatalf("re-encoding gives %x, want %x", got, b)
		}
	})
}

// BenchmarkFoldMembership folds a room of 1000 operations: one create, 500
// invites, 499 removals (go test ./chat -run X -bench FoldMembership).
func BenchmarkFoldMembership(b *testing.B) {
	admin := newID(b).Public()
	var nonce [NonceSize]byte
	room := PrivateID(admin, nonce)
	ops := []opEntry{opAt(admin, 1, 1, Op{Kind: OpCreate, Nonce: nonce, Name: "big"})}
	var keys []lcrypto.IdentityKey
	for i := 0; i < 500; i++ {
		k := lcrypto.IdentityKey{byte(i), byte(i >> 8), 1}
		keys = append(keys, k)
		ops = append(ops, opAt(admin, uint64(2+i), uint64(2+i), Op{Kind: OpInvite, Subject: k}))
	}
	for i := 0; i < 499; i++ {
		ops = append(ops, opAt(admin, uint64(600+i), uint64(600+i), Op{Kind: OpRemove, Subject: keys[i], Cut: 0}))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ms := FoldMembership(room, ops); len(ms.Members()) != 2 {
			b.Fatalf("%d members", len(ms.Members()))
		}
	}
}
