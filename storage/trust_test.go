package storage

import (
	"errors"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

func testFingerprint(n byte) lcrypto.Fingerprint {
	var fp lcrypto.Fingerprint
	for i := range fp {
		fp[i] = n + byte(i)
	}
	return fp
}

var t0 = time.Date(2025, 11, 25, 14, 0, 0, 0, time.UTC)

func TestTrust(t *testing.T) {
	db := openTemp(t)
	fixedClock(db, t0)
	bob, carol := testFingerprint(2), testFingerprint(1)
	steps := []struct {
		fp        lcrypto.Fingerprint
		name      string
		wantAdded bool
		wantName  string
	}{
		{bob, "bob", true, "bob"},
		{bob, "", false, "bob"},          // again, no name: kept
		{bob, "robert", false, "robert"}, // again, new name: renamed
		{carol, "", true, ""},
	}
	for i, s := range steps {
		added, err := db.Trust(s.fp, s.name)
		must(t, err)
		if added != s.wantAdded {
			t.Errorf("step %d: added = %v, want %v", i, added, s.wantAdded)
		}
		p, ok, err := db.IsTrusted(s.fp)
		must(t, err)
		if !ok || p.Name != s.wantName || p.Fingerprint != s.fp {
			t.Errorf("step %d: IsTrusted = %+v, %v; want name %q", i, p, ok, s.wantName)
		}
	}
	p, _, err := db.IsTrusted(bob)
	must(t, err)
	if !p.AddedAt.Equal(t0) || !p.LastSeen.IsZero() {
		t.Errorf("bob: added %v, last seen %v; want %v and never", p.AddedAt, p.LastSeen, t0)
	}
	peers, err := db.TrustedPeers()
	must(t, err)
	if len(peers) != 2 || peers[0].Fingerprint != carol || peers[1].Fingerprint != bob {
		t.Errorf("TrustedPeers = %+v, want carol then bob (fingerprint order)", peers)
	}
}

func TestTrustRefuses(t *testing.T) {
	db := openTemp(t)
	self := testIdentity(t, 1, false)
	must(t, db.PutIdentity(self))
	tests := []struct {
		name string
		fp   lcrypto.Fingerprint
		nick string
		want error
	}{
		{"own fingerprint", self.Key.Fingerprint(), "me", ErrSelf},
		{"zero fingerprint", lcrypto.Fingerprint{}, "", ErrRecord},
		{"control character in name", testFingerprint(2), "bob\n", ErrRecord},
		{"name too long", testFingerprint(2), string(make([]byte, MaxNameLen+1)), ErrRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := db.Trust(tt.fp, tt.nick); !errors.Is(err, tt.want) {
				t.Errorf("Trust: %v, want %v", err, tt.want)
			}
		})
	}
	peers, err := db.TrustedPeers()
	must(t, err)
	if len(peers) != 0 {
		t.Errorf("refused entries were stored: %+v", peers)
	}
}

func TestUntrust(t *testing.T) {
	db := openTemp(t)
	bob := testFingerprint(2)
	if err := db.Untrust(bob); !errors.Is(err, ErrNotTrusted) {
		t.Errorf("Untrust of an unknown peer: %v, want ErrNotTrusted", err)
	}
	_, err := db.Trust(bob, "bob")
	must(t, err)
	must(t, db.Untrust(bob))
	if _, ok, err := db.IsTrusted(bob); err != nil || ok {
		t.Errorf("after Untrust: trusted=%v, %v", ok, err)
	}
	if err := db.Untrust(bob); !errors.Is(err, ErrNotTrusted) {
		t.Errorf("second Untrust: %v, want ErrNotTrusted", err)
	}
}

func TestTouchPeer(t *testing.T) {
	db := openTemp(t)
	bob := testFingerprint(2)
	if err := db.TouchPeer(bob, t0); !errors.Is(err, ErrNotTrusted) {
		t.Errorf("TouchPeer of an unknown peer: %v, want ErrNotTrusted", err)
	}
	_, err := db.Trust(bob, "bob")
	must(t, err)
	for _, s := range []struct {
		seen, want time.Time
	}{
		{t0, t0},
		{t0.Add(time.Hour), t0.Add(time.Hour)},
		{t0, t0.Add(time.Hour)}, // earlier: ignored
	} {
		must(t, db.TouchPeer(bob, s.seen))
		p, _, err := db.IsTrusted(bob)
		must(t, err)
		if !p.LastSeen.Equal(s.want) {
			t.Errorf("TouchPeer(%v): last seen %v, want %v", s.seen, p.LastSeen, s.want)
		}
	}
}
