package discovery

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lanchat/lanchat/internal/fuzzseed"

	"github.com/lanchat/lanchat/crypto"
)

// writeBeaconSeeds rewrites the seed corpus (go test -run FuzzBeaconDecode -update).
func writeBeaconSeeds(f *testing.F) {
	id := vectorIdentity(f)
	good, err := vectors[0].beacon.Encode(id)
	if err != nil {
		f.Fatal(err)
	}
	nick, err := vectors[1].beacon.Encode(id)
	if err != nil {
		f.Fatal(err)
	}
	badSig := bytes.Clone(good)
	badSig[len(badSig)-1] ^= 0x80
	seeds := map[string][]byte{
		"announce":      good,
		"bye-nickname":  nick,
		"bad-signature": badSig,
		"truncated":     good[:MinBeaconSize-1],
		"header-only":   good[:beaconFixed],
		"junk":          []byte("LCBN\x01 this is not a beacon"),
	}
	dir := filepath.Join("..", "testdata", "fuzz", "FuzzBeaconDecode")
	for name, b := range seeds {
		writeFile(f, filepath.Join(dir, name), b)
	}
}

// FuzzBeaconDecode: Decode never panics, every failure wraps ErrBeacon, and
// whatever the strict parser accepts re-encodes to the same bytes.
func FuzzBeaconDecode(f *testing.F) {
	if *update {
		writeBeaconSeeds(f)
	}
	for _, s := range fuzzseed.Files(f, "FuzzBeaconDecode") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := Decode(p)
		if err != nil && !errors.Is(err, ErrBeacon) {
			t.Fatalf("error %v does not wrap ErrBeacon", err)
		}
		pb, signed, sig, perr := parse(p)
		if err == nil && (perr != nil || pb != b) {
			t.Fatalf("Decode accepted what parse did not: %v", perr)
		}
		if perr != nil {
			return
		}
		body, err := pb.appendBody(nil)
		if err != nil {
			t.Fatalf("re-encoding an accepted beacon: %v", err)
		}
		if !bytes.Equal(body, signed) || !bytes.Equal(append(body, sig...), p) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", append(body, sig...), p)
		}
		if len(sig) != crypto.SignatureSize {
			t.Fatalf("signature of %d bytes", len(sig))
		}
	})
}
