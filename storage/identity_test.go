package storage

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// testIdentity returns an identity record made from a fixed seed, sealed
// with the passphrase "pw" and cheap parameters if sealed.
func testIdentity(t *testing.T, seed byte, sealed bool) IdentityRecord {
	t.Helper()
	id, err := lcrypto.NewIdentity(bytes.NewReader(bytes.Repeat([]byte{seed}, lcrypto.SecretSize)))
	must(t, err)
	_, static := id.NoiseStatic()
	rec := IdentityRecord{Key: id.Public(), NoiseStatic: static, Secret: id.MarshalSecret(),
		Nickname: "alice", Created: time.Date(2025, 11, 25, 14, 0, 0, 123, time.UTC)}
	if sealed {
		rec.Secret, err = lcrypto.Seal(rec.Secret, []byte("pw"), lcrypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, rand.Reader)
		must(t, err)
		rec.Sealed = true
	}
	return rec
}

func sameIdentity(a, b IdentityRecord) bool {
	return a.Key == b.Key && a.NoiseStatic == b.NoiseStatic && bytes.Equal(a.Secret, b.Secret) &&
		a.Sealed == b.Sealed && a.Nickname == b.Nickname && a.Created.Equal(b.Created)
}

func TestIdentityRoundTrip(t *testing.T) {
	db := openTemp(t)
	if _, err := db.Identity(); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("Identity on a new database: %v, want ErrNoIdentity", err)
	}
	for _, rec := range []IdentityRecord{testIdentity(t, 1, true), testIdentity(t, 2, false)} {
		must(t, db.PutIdentity(rec))
		got, err := db.Identity()
		must(t, err)
		if !sameIdentity(got, rec) {
			t.Errorf("Identity() = %+v, want %+v", got, rec)
		}
	}
}

func TestPutIdentitySetsCreated(t *testing.T) {
	db := openTemp(t)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	fixedClock(db, now)
	rec := testIdentity(t, 1, false)
	rec.Created = time.Time{}
	must(t, db.PutIdentity(rec))
	got, err := db.Identity()
	must(t, err)
	if !got.Created.Equal(now) {
		t.Errorf("Created = %v, want %v", got.Created, now)
	}
}

func TestPutIdentityRefusesBadRecords(t *testing.T) {
	db := openTemp(t)
	tests := []struct {
		name   string
		change func(r *IdentityRecord)
	}{
		{"zero key", func(r *IdentityRecord) { r.Key = lcrypto.IdentityKey{} }},
		{"zero noise key", func(r *IdentityRecord) { r.NoiseStatic = [32]byte{} }},
		{"short raw secret", func(r *IdentityRecord) { r.Secret = r.Secret[:10] }},
		{"empty sealed secret", func(r *IdentityRecord) { r.Sealed, r.Secret = true, nil }},
		{"huge sealed secret", func(r *IdentityRecord) { r.Sealed, r.Secret = true, make([]byte, lcrypto.MaxSealedSize+1) }},
		{"long nickname", func(r *IdentityRecord) { r.Nickname = string(bytes.Repeat([]byte("a"), MaxNameLen+1)) }},
		{"escape in nickname", func(r *IdentityRecord) { r.Nickname = "eve\x1b[2J" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := testIdentity(t, 1, false)
			tt.change(&rec)
			if err := db.PutIdentity(rec); !errors.Is(err, ErrRecord) {
				t.Errorf("PutIdentity: %v, want ErrRecord", err)
			}
		})
	}
	if _, err := db.Identity(); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("a refused record was stored: %v", err)
	}
}
