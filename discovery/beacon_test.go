package discovery

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/crypto"
)

var update = flag.Bool("update", false, "rewrite the beacon vectors and fuzz seeds in testdata/")

// vectorIdentity is the identity of the test vectors: secret bytes 00..3f.
func vectorIdentity(t testing.TB) *crypto.Identity {
	t.Helper()
	secret := make([]byte, crypto.SecretSize)
	for i := range secret {
		secret[i] = byte(i)
	}
	id, err := crypto.IdentityFromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// vectors are the known answers of PROTOCOL.md section 2.
var vectors = []struct {
	file   string
	beacon Beacon
}{
	{"beacon-announce.hex", Beacon{TCPPort: 47101, Interval: time.Second,
		Instance: [InstanceSize]byte{1, 2, 3, 4, 5, 6, 7, 8}, Seq: 1}},
	{"beacon-bye-nickname.hex", Beacon{Bye: true, TCPPort: 47101, Interval: time.Second,
		Instance: [InstanceSize]byte{1, 2, 3, 4, 5, 6, 7, 8}, Seq: 42, Nickname: "alice"}},
}

func TestBeaconVectors(t *testing.T) {
	id := vectorIdentity(t)
	doc := protocolVectors(t)
	for _, v := range vectors {
		t.Run(v.file, func(t *testing.T) {
			got, err := v.beacon.Encode(id)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("..", "testdata", "vectors", v.file)
			if *update {
				writeFile(t, path, []byte(hex.EncodeToString(got)+"\n"))
			}
			want := readHex(t, path)
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding changed:\n got %x\nwant %x", got, want)
			}
			if !doc[hex.EncodeToString(want)] {
				t.Errorf("PROTOCOL.md does not show the vector %s", v.file)
			}
			dec, err := Decode(want)
			v.beacon.Key = id.Public()
			if err != nil || dec != v.beacon {
				t.Fatalf("Decode = %+v, %v; want %+v", dec, err, v.beacon)
			}
		})
	}
}

func readHex(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// protocolVectors returns the hex strings of the ```hex blocks of
// PROTOCOL.md's discovery section, whitespace removed.
func protocolVectors(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "## 2. Discovery beacons")
	end := strings.Index(doc, "## 3.")
	if start < 0 || end < start {
		t.Fatal("PROTOCOL.md: no discovery section")
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("(?s)```hex\n(.*?)```").FindAllStringSubmatch(doc[start:end], -1) {
		out[strings.Join(strings.Fields(m[1]), "")] = true
	}
	return out
}

func TestBeaconRoundTrip(t *testing.T) {
	id := testIdentity(t, 3)
	tests := []Beacon{
		{TCPPort: 1, Interval: MinBeaconInterval, Instance: [InstanceSize]byte{9}, Seq: 1},
		{TCPPort: 0, Interval: MaxBeaconInterval, Instance: [InstanceSize]byte{0xff, 0xff}, Seq: ^uint64(0)},
		{Bye: true, TCPPort: 65535, Interval: 1234 * time.Millisecond, Instance: [InstanceSize]byte{7}, Seq: 99},
		{TCPPort: 80, Interval: time.Second, Instance: [InstanceSize]byte{1}, Seq: 5, Nickname: "Zoë 🐧"},
		{TCPPort: 80, Interval: time.Second, Instance: [InstanceSize]byte{1}, Seq: 5, Nickname: strings.Repeat("n", MaxNicknameLen)},
	}
	for _, b := range tests {
		p, err := b.Encode(id)
		if err != nil {
			t.Fatalf("Encode(%+v): %v", b, err)
		}
		if len(p) < MinBeaconSize || len(p) > MaxBeaconSize || len(p) >= 512 {
			t.Errorf("beacon of %d bytes", len(p))
		}
		got, err := Decode(p)
		b.Key = id.Public()
		if err != nil || got != b {
			t.Fatalf("Decode(Encode(%+v)) = %+v, %v", b, got, err)
		}
		again, err := got.Encode(id)
		if err != nil || !bytes.Equal(again, p) {
			t.Fatalf("re-encoding differs: %x vs %x", again, p)
		}
	}
}

func TestEncodeRefusesInvalidBeacons(t *testing.T) {
	id := testIdentity(t, 3)
	ok := Beacon{TCPPort: 1, Interval: time.Second, Instance: [InstanceSize]byte{1}, Seq: 1}
	tests := map[string]func(*Beacon){
		"zero instance":      func(b *Beacon) { b.Instance = [InstanceSize]byte{} },
		"sequence 0":         func(b *Beacon) { b.Seq = 0 },
		"interval too short": func(b *Beacon) { b.Interval = MinBeaconInterval - time.Millisecond },
		"interval too long":  func(b *Beacon) { b.Interval = MaxBeaconInterval + time.Millisecond },
		"interval fraction":  func(b *Beacon) { b.Interval = time.Second + time.Microsecond },
		"nickname too long":  func(b *Beacon) { b.Nickname = strings.Repeat("x", MaxNicknameLen+1) },
		"nickname escape":    func(b *Beacon) { b.Nickname = "eve\x1b[2J" },
		"nickname bidi":      func(b *Beacon) { b.Nickname = "eve\u202e" },
		"nickname not UTF-8": func(b *Beacon) { b.Nickname = "\xff" },
	}
	for name, mod := range tests {
		b := ok
		mod(&b)
		if _, err := b.Encode(id); !errors.Is(err, ErrBeacon) {
			t.Errorf("%s: Encode err = %v, want ErrBeacon", name, err)
		}
	}
}

// resign replaces the signature of p after mod changed its body, so a
// decoder check other than the signature must refuse it.
func resign(id *crypto.Identity, p []byte, mod func([]byte) []byte) []byte {
	body := mod(append([]byte(nil), p[:len(p)-crypto.SignatureSize]...))
	sig := id.Sign(crypto.DomainBeacon, body)
	return append(body, sig[:]...)
}

func TestDecodeRefuses(t *testing.T) {
	id := testIdentity(t, 3)
	other := testIdentity(t, 4)
	plain := beaconFrom(t, id, Beacon{TCPPort: 5})
	nick := beaconFrom(t, id, Beacon{TCPPort: 5, Nickname: "bob"})
	set := func(off int, v byte) func([]byte) []byte {
		return func(b []byte) []byte { b[off] = v; return b }
	}
	tests := map[string][]byte{
		"empty":               nil,
		"one short":           plain[:len(plain)-1],
		"one long":            append(append([]byte(nil), plain...), 0),
		"oversize":            make([]byte, MaxBeaconSize+1),
		"bad magic":           resign(id, plain, set(0, 'X')),
		"version 2":           resign(id, plain, set(4, 2)),
		"unknown flag":        resign(id, plain, set(offFlags, 1<<2)),
		"nickname flag, none": resign(id, plain, set(offFlags, FlagNickname)),
		"nickname length 0":   resign(id, nick, set(beaconFixed, 0)),
		"nickname too long":   resign(id, nick, set(beaconFixed, 4)),
		"nickname control":    resign(id, nick, set(beaconFixed+1, '\n')),
		"nickname not UTF-8":  resign(id, nick, set(beaconFixed+1, 0xc3)),
		"interval 0":          resign(id, plain, func(b []byte) []byte { b[offInterval], b[offInterval+1] = 0, 0; return b }),
		"interval 65.535 s":   resign(id, plain, func(b []byte) []byte { b[offInterval], b[offInterval+1] = 0xff, 0xff; return b }),
		"zero instance":       resign(id, plain, func(b []byte) []byte { clear(b[offInstance:offSeq]); return b }),
		"sequence 0":          resign(id, plain, func(b []byte) []byte { clear(b[offSeq:beaconFixed]); return b }),
		"signed by another":   resign(other, plain, func(b []byte) []byte { return b }),
		"signature flipped":   func() []byte { b := bytes.Clone(plain); b[len(b)-1] ^= 1; return b }(),
		"key swapped":         func() []byte { b := bytes.Clone(plain); copy(b[offKey:], other.Public().Bytes()); return b }(),
		"bye bit set":         func() []byte { b := bytes.Clone(plain); b[offFlags] |= FlagBye; return b }(),
	}
	for name, p := range tests {
		if b, err := Decode(p); !errors.Is(err, ErrBeacon) {
			t.Errorf("%s: Decode = %+v, %v; want ErrBeacon", name, b, err)
		}
	}
}

// Flipping any single bit of a beacon makes it invalid.
func TestDecodeRefusesEveryBitFlip(t *testing.T) {
	p := beaconFrom(t, testIdentity(t, 3), Beacon{TCPPort: 5, Nickname: "bob"})
	for i := range len(p) * 8 {
		q := bytes.Clone(p)
		q[i/8] ^= 1 << (i % 8)
		if _, err := Decode(q); err == nil {
			t.Fatalf("bit %d flipped: still accepted", i)
		}
	}
}
