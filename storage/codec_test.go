package storage

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/internal/fuzzseed"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite this package's fuzz seed corpora in testdata/fuzz")

const seedRoot = "../testdata/fuzz"

// seedRecords are the records the seed corpora start from.
func seedRecords(t testing.TB) (ids []IdentityRecord, peers []TrustedPeer) {
	id := func(seed byte, sealed bool, nick string, created time.Time) IdentityRecord {
		i, err := lcrypto.NewIdentity(bytes.NewReader(bytes.Repeat([]byte{seed}, lcrypto.SecretSize)))
		if err != nil {
			t.Fatal(err)
		}
		_, static := i.NoiseStatic()
		r := IdentityRecord{Key: i.Public(), NoiseStatic: static, Secret: i.MarshalSecret(), Nickname: nick, Created: created}
		if sealed {
			r.Sealed = true
			r.Secret = append([]byte("LCSEAL1\n"), bytes.Repeat([]byte{seed}, 70)...)
		}
		return r
	}
	ids = []IdentityRecord{
		id(1, false, "alice", t0),
		id(2, true, "", time.Time{}),
		id(3, true, "Zoë 🐧", t0.Add(-100*365*24*time.Hour)),
	}
	peers = []TrustedPeer{
		{Fingerprint: testFingerprint(1), Name: "bob", AddedAt: t0},
		{Fingerprint: testFingerprint(2), AddedAt: t0, LastSeen: t0.Add(time.Hour)},
		{Fingerprint: testFingerprint(3), Name: strings.Repeat("é", MaxNameLen/2)},
	}
	return ids, peers
}

func TestUpdateFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite the seed corpora")
	}
	ids, peers := seedRecords(t)
	for i, r := range ids {
		b, err := encodeIdentity(r)
		must(t, err)
		writeSeed(t, "FuzzIdentityRecord", i, b)
	}
	for i, p := range peers {
		b, err := encodeTrustedPeer(p)
		must(t, err)
		writeSeed(t, "FuzzTrustedPeerRecord", i, b)
	}
}

func writeSeed(t *testing.T, fuzzName string, i int, b []byte) {
	dir := filepath.Join(seedRoot, fuzzName)
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "seed-"+string(rune('0'+i))), b, 0o644))
}

// addSeeds adds every file in testdata/fuzz/<name>/ to f's corpus, and
// fails if there are none.
func addSeeds(f *testing.F, name string) {
	for _, b := range fuzzseed.Files(f, name) {
		f.Add(b)
	}
}

func FuzzIdentityRecord(f *testing.F) {
	addSeeds(f, "FuzzIdentityRecord")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeIdentity(b)
		if err != nil {
			if !errors.Is(err, ErrRecord) {
				t.Fatalf("decode error %v is not ErrRecord", err)
			}
			return
		}
		again, err := encodeIdentity(r)
		if err != nil {
			t.Fatalf("a decoded record does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding changed the bytes:\n in  %x\n out %x", b, again)
		}
	})
}

func FuzzTrustedPeerRecord(f *testing.F) {
	addSeeds(f, "FuzzTrustedPeerRecord")
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeTrustedPeer(testFingerprint(1), b)
		if err != nil {
			if !errors.Is(err, ErrRecord) {
				t.Fatalf("decode error %v is not ErrRecord", err)
			}
			return
		}
		again, err := encodeTrustedPeer(p)
		if err != nil {
			t.Fatalf("a decoded record does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding changed the bytes:\n in  %x\n out %x", b, again)
		}
	})
}

func TestRecordsRoundTrip(t *testing.T) {
	ids, peers := seedRecords(t)
	for _, r := range ids {
		b, err := encodeIdentity(r)
		must(t, err)
		got, err := decodeIdentity(b)
		must(t, err)
		if !sameIdentity(got, r) {
			t.Errorf("identity round trip: got %+v, want %+v", got, r)
		}
	}
	for _, p := range peers {
		b, err := encodeTrustedPeer(p)
		must(t, err)
		got, err := decodeTrustedPeer(p.Fingerprint, b)
		must(t, err)
		if got.Name != p.Name || !got.AddedAt.Equal(p.AddedAt) || !got.LastSeen.Equal(p.LastSeen) {
			t.Errorf("peer round trip: got %+v, want %+v", got, p)
		}
	}
}

func TestDecodeRefusesMalformed(t *testing.T) {
	ids, peers := seedRecords(t)
	id, err := encodeIdentity(ids[0])
	must(t, err)
	sealed, err := encodeIdentity(ids[1])
	must(t, err)
	peer, err := encodeTrustedPeer(peers[0])
	must(t, err)
	edit := func(b []byte, i int, v byte) []byte {
		c := bytes.Clone(b)
		c[i] = v
		return c
	}
	const nickLenAt = 2 + 32 + 32 + 8
	tests := []struct {
		name string
		b    []byte
		peer bool
	}{
		{"identity: empty", nil, false},
		{"identity: version 2", edit(id, 0, 2), false},
		{"identity: unknown flag", edit(id, 1, 0x80), false},
		{"identity: truncated", id[:len(id)-1], false},
		{"identity: trailing byte", append(bytes.Clone(id), 0), false},
		{"identity: nickname longer than the record", edit(id, nickLenAt, 0xFF), false},
		{"identity: control character in nickname", edit(id, nickLenAt+1, 0x07), false},
		{"identity: unsealed with a sealed-size secret", edit(sealed, 1, 0), false},
		{"peer: empty", nil, true},
		{"peer: version 0", edit(peer, 0, 0), true},
		{"peer: truncated", peer[:len(peer)-1], true},
		{"peer: trailing byte", append(bytes.Clone(peer), 'x'), true},
		{"peer: name too long", append(edit(peer, 17, MaxNameLen+1), bytes.Repeat([]byte("a"), MaxNameLen+1-3)...), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.peer {
				_, err = decodeTrustedPeer(testFingerprint(1), tt.b)
			} else {
				_, err = decodeIdentity(tt.b)
			}
			if !errors.Is(err, ErrRecord) {
				t.Errorf("decode(%x) = %v, want ErrRecord", tt.b, err)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"", true},
		{"alice", true},
		{"Zoë 🐧 de la Tour", true},
		{strings.Repeat("a", MaxNameLen), true},
		{strings.Repeat("a", MaxNameLen+1), false},
		{"bob\n", false},
		{"eve\x1b[31m", false},
		{"right\u202eleft", false}, // bidi override: hides text
		{"zero\u200bwidth", false},
		{" bob", false},
		{"bob ", false},
		{"\xff\xfe", false},
	}
	for _, tt := range tests {
		err := CheckName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrRecord) {
			t.Errorf("CheckName(%q) = %v, not ErrRecord", tt.name, err)
		}
	}
}
