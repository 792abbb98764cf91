package storage

import (
	"bytes"
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Addresses are remembered per trusted peer, latest first, at most
// MaxPeerAddrs, kept across a reopen, and forgotten with the trust.
func TestRememberAddr(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	db, err := Open(path, DefaultOptions())
	must(t, err)
	bob, carol := testFingerprint(2), testFingerprint(1)
	a := func(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
	if got, err := db.PeerAddrs(); err != nil || len(got) != 0 {
		t.Fatalf("fresh file: %v, %v; want none (the bucket does not exist yet)", got, err)
	}
	if err := db.RememberAddr(bob, a("10.0.0.2:47101")); !errors.Is(err, ErrNotTrusted) {
		t.Fatalf("untrusted: %v, want ErrNotTrusted", err)
	}
	_, err = db.Trust(bob, "bob")
	must(t, err)
	_, err = db.Trust(carol, "")
	must(t, err)
	for _, s := range []string{"10.0.0.2:47101", "10.0.0.3:47101", "[fe80::1%eth0]:47101", "10.0.0.4:47101", "10.0.0.2:47101", "10.0.0.5:1"} {
		must(t, db.RememberAddr(bob, a(s)))
	}
	must(t, db.RememberAddr(carol, a("10.0.0.9:47101")))
	if err := db.RememberAddr(bob, a("10.0.0.2:0")); !errors.Is(err, ErrRecord) {
		t.Fatalf("port 0: %v, want ErrRecord", err)
	}
	want := []netip.AddrPort{a("10.0.0.5:1"), a("10.0.0.2:47101"), a("10.0.0.4:47101"), a("[fe80::1%eth0]:47101")}
	must(t, db.Close())
	db, err = Open(path, DefaultOptions())
	must(t, err)
	t.Cleanup(func() {
		must(t, db.Close())
		checkFile(t, path)
	})
	got, err := db.PeerAddrs()
	must(t, err)
	if !slices.Equal(got[bob], want) || len(got[carol]) != 1 {
		t.Fatalf("after reopen: bob %v (want %v), carol %v", got[bob], want, got[carol])
	}
	must(t, db.Untrust(bob))
	got, err = db.PeerAddrs()
	must(t, err)
	if _, ok := got[bob]; ok || len(got) != 1 {
		t.Fatalf("after untrust: %v, want carol's only", got)
	}
}

func TestDecodeAddrsRefuses(t *testing.T) {
	good := encodeAddrs([]netip.AddrPort{netip.MustParseAddrPort("10.0.0.2:47101")})
	for name, v := range map[string][]byte{
		"empty": nil, "version": append([]byte{2}, good[1:]...), "count 0": {1, 0},
		"count 5": {1, 5}, "truncated": good[:len(good)-1], "trailing": append(append([]byte(nil), good...), 0),
		"not an address": {1, 1, 3, 'a', 'b', 'c'}, "port 0": append([]byte{1, 1, 10}, "10.0.0.2:0"...),
	} {
		if _, err := decodeAddrs(v); !errors.Is(err, ErrRecord) {
			t.Errorf("%s: %v, want ErrRecord", name, err)
		}
	}
	if list, err := decodeAddrs(good); err != nil || len(list) != 1 || !slices.Equal(encodeAddrs(list), good) {
		t.Fatalf("good record: %v, %v", list, err)
	}
}

// TestPeerAddrsSealed: the addresses trusted peers were linked at are not
// in the file in the clear; a record an older lanchat wrote in the clear is
// still read, re-sealed by the next RememberAddr, and gone from the file
// after a compaction; a record moved to another peer does not open.
func TestPeerAddrsSealed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	db, err := Open(path, DefaultOptions())
	must(t, err)
	bob, carol := testFingerprint(2), testFingerprint(1)
	for _, fp := range []lcrypto.Fingerprint{bob, carol} {
		_, err = db.Trust(fp, "")
		must(t, err)
	}
	bobAddr, carolAddr := netip.MustParseAddrPort("10.77.201.33:47123"), netip.MustParseAddrPort("10.88.202.44:47124")
	must(t, db.RememberAddr(bob, bobAddr))
	// carol's record as the landed code wrote it: in the clear.
	must(t, db.update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketAddrs).Put(carol[:], encodeAddrs([]netip.AddrPort{carolAddr}))
	}))
	if !fileHas(t, path, []byte(carolAddr.String())) {
		t.Fatal("the legacy record is not in the file: the scan proves nothing")
	}
	got, err := db.PeerAddrs()
	must(t, err)
	if !slices.Equal(got[bob], []netip.AddrPort{bobAddr}) || !slices.Equal(got[carol], []netip.AddrPort{carolAddr}) {
		t.Fatalf("addresses %v", got)
	}
	must(t, db.RememberAddr(bob, bobAddr)) // nothing new for bob: re-seals carol's
	must(t, db.Compact())
	got, err = db.PeerAddrs()
	must(t, err)
	if !slices.Equal(got[carol], []netip.AddrPort{carolAddr}) {
		t.Fatalf("after re-sealing, carol's addresses %v", got[carol])
	}
	// bob's sealed record moved under carol's key does not open: left out.
	must(t, db.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAddrs)
		return b.Put(carol[:], bytes.Clone(b.Get(bob[:])))
	}))
	got, err = db.PeerAddrs()
	must(t, err)
	if _, ok := got[carol]; ok || len(got[bob]) != 1 {
		t.Fatalf("a moved record: %v", got)
	}
	must(t, db.RememberAddr(carol, carolAddr)) // replaces the damaged one
	must(t, db.Close())
	for _, a := range []netip.AddrPort{bobAddr, carolAddr} {
		if fileHas(t, path, []byte(a.String())) {
			t.Errorf("the file holds %v", a)
		}
	}
	checkFile(t, path)
}

// PeerLinked is TouchPeer and RememberAddr in one transaction: both
// effects or, for a peer not trusted, neither.
func TestPeerLinked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	db, err := Open(path, DefaultOptions())
	must(t, err)
	bob, carol := testFingerprint(2), testFingerprint(1)
	a := func(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
	t0 := time.Unix(1_700_000_000, 0)
	if err := db.PeerLinked(bob, t0, a("10.0.0.2:47101")); !errors.Is(err, ErrNotTrusted) {
		t.Fatalf("untrusted: %v, want ErrNotTrusted", err)
	}
	if got, err := db.PeerAddrs(); err != nil || len(got) != 0 {
		t.Fatalf("untrusted: remembered %v, %v; want nothing", got, err)
	}
	_, err = db.Trust(bob, "bob")
	must(t, err)
	_, err = db.Trust(carol, "carol")
	must(t, err)
	must(t, db.PeerLinked(bob, t0, a("10.0.0.2:47101")))
	must(t, db.PeerLinked(bob, t0.Add(time.Second), a("10.0.0.3:47101")))
	must(t, db.PeerLinked(bob, t0.Add(-time.Hour), a("10.0.0.2:47101"))) // an older time: the address still counts
	must(t, db.PeerLinked(carol, t0, netip.AddrPort{}))                  // accepted link: no address to remember
	if err := db.PeerLinked(carol, t0, a("10.0.0.9:0")); !errors.Is(err, ErrRecord) {
		t.Fatalf("port 0: %v, want ErrRecord", err)
	}
	must(t, db.Close())
	db, err = Open(path, DefaultOptions())
	must(t, err)
	t.Cleanup(func() {
		must(t, db.Close())
		checkFile(t, path)
	})
	got, err := db.PeerAddrs()
	must(t, err)
	if want := []netip.AddrPort{a("10.0.0.2:47101"), a("10.0.0.3:47101")}; !slices.Equal(got[bob], want) || len(got[carol]) != 0 {
		t.Fatalf("addresses: bob %v (want %v), carol %v (want none)", got[bob], want, got[carol])
	}
	peers, err := db.TrustedPeers()
	must(t, err)
	seen := map[lcrypto.Fingerprint]time.Time{}
	for _, p := range peers {
		seen[p.Fingerprint] = p.LastSeen
	}
	if !seen[bob].Equal(t0.Add(time.Second)) || !seen[carol].Equal(t0) {
		t.Fatalf("last seen: bob %v (want %v), carol %v (want %v)", seen[bob], t0.Add(time.Second), seen[carol], t0)
	}
}
