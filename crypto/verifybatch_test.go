package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"filippo.io/edwards25519"
)

// speccheckCase is one "Taming the many EdDSAs" vector.
type speccheckCase struct {
	Message   string `json:"message"`
	PubKey    string `json:"pub_key"`
	Signature string `json:"signature"`
}

func speccheckItems(t testing.TB) []sigItem {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "ed25519", "speccheck-cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []speccheckCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) != 15 {
		t.Fatalf("%d speccheck cases, want 15", len(cases))
	}
	items := make([]sigItem, len(cases))
	for i, c := range cases {
		items[i] = sigItem{pub: unhex(t, c.PubKey), msg: unhex(t, c.Message), sig: unhex(t, c.Signature)}
	}
	return items
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signer is an Ed25519 key whose secret scalar the tests use to craft
// signatures crypto/ed25519 would never make.
type signer struct {
	priv ed25519.PrivateKey
	a    *edwards25519.Scalar
	pub  []byte
}

func newSigner(t testing.TB) *signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := sha512.Sum512(priv.Seed())
	a, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		t.Fatal(err)
	}
	return &signer{priv: priv, a: a, pub: priv.Public().(ed25519.PublicKey)}
}

// signWithR signs msg with nonce point [r]B + t, for a random r: with t of
// small order, a signature that a cofactored equation accepts and
// crypto/ed25519 rejects (unless t is the identity).
func (s *signer) signWithR(t testing.TB, msg []byte, tor *edwards25519.Point) []byte {
	t.Helper()
	var seed [64]byte
	if _, err := rand.Read(seed[:]); err != nil {
		t.Fatal(err)
	}
	r, _ := edwards25519.NewScalar().SetUniformBytes(seed[:])
	R := new(edwards25519.Point).ScalarBaseMult(r)
	R.Add(R, tor)
	rb := R.Bytes()
	h := sha512.New()
	h.Write(rb)
	h.Write(s.pub)
	h.Write(msg)
	k, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil))
	S := edwards25519.NewScalar().MultiplyAdd(k, s.a, r)
	return append(rb, S.Bytes()...)
}

// torsionPoints returns the 8 points of small order, T⁰..T⁷ for a
// generator T of order 8.
func torsionPoints(t testing.TB) []*edwards25519.Point {
	t.Helper()
	for {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		p, err := new(edwards25519.Point).SetBytes(b[:])
		if err != nil {
			continue
		}
		// [L]p = [5]torsion(p): of order 8 when p's torsion is.
		g := new(edwards25519.Point).VarTimeMultiScalarMult([]*edwards25519.Scalar{lMinus1}, []*edwards25519.Point{p})
		g.Add(g, p)
		four := new(edwards25519.Point).Double(g)
		four.Double(four)
		if four.Equal(edwards25519.NewIdentityPoint()) == 1 {
			continue // order below 8
		}
		out := []*edwards25519.Point{edwards25519.NewIdentityPoint()}
		for i := 1; i < 8; i++ {
			out = append(out, new(edwards25519.Point).Add(out[i-1], g))
		}
		return out
	}
}

var goodOnce struct {
	sync.Once
	items []sigItem
	bySig map[string]sigItem
}

// knownGood reports whether it is one of goodItems' signatures, unchanged
// (crypto/ed25519 accepts it; tests skip asking it again, race-enabled
// verification being slow).
func knownGood(it sigItem) bool {
	g, ok := goodOnce.bySig[string(it.sig)]
	return ok && bytes.Equal(g.pub, it.pub) && bytes.Equal(g.msg, it.msg) && g.domain == it.domain
}

// goodItems returns n good signatures by 3 keys (a copy: callers corrupt them).
func goodItems(t testing.TB, n int) []sigItem {
	t.Helper()
	goodOnce.Do(func() {
		var keys []ed25519.PrivateKey
		for range 3 {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			keys = append(keys, k)
		}
		for i := range 3072 {
			k := keys[i%len(keys)]
			msg := fmt.Appendf(nil, "message %d", i)
			goodOnce.items = append(goodOnce.items, sigItem{pub: k.Public().(ed25519.PublicKey), domain: DomainMessage,
				msg: msg, sig: ed25519.Sign(k, withDomain(DomainMessage, msg))})
		}
		goodOnce.bySig = map[string]sigItem{}
		for _, it := range goodOnce.items {
			goodOnce.bySig[string(it.sig)] = it
		}
	})
	if n > len(goodOnce.items) {
		t.Fatalf("%d good items asked, %d made", n, len(goodOnce.items))
	}
	out := make([]sigItem, n)
	for i, it := range goodOnce.items[:n] {
		it.sig = bytes.Clone(it.sig)
		out[i] = it
	}
	return out
}

// checkAgrees runs verifyItems on items and compares with single().
func checkAgrees(t *testing.T, items []sigItem) {
	t.Helper()
	got := make([]bool, len(items))
	verifyItems(rand.Reader, items, got)
	for i := range items {
		if want := knownGood(items[i]) || items[i].single(); got[i] != want {
			t.Fatalf("item %d of %d: batch says %v, crypto/ed25519 says %v", i, len(items), got[i], want)
		}
	}
}

func TestVerifyBatchSpeccheckVectors(t *testing.T) {
	vectors := speccheckItems(t)
	for i, v := range vectors {
		t.Run(fmt.Sprintf("case%d", i), func(t *testing.T) {
			checkAgrees(t, []sigItem{v})      // alone
			at := i * BatchMin / len(vectors) // spread over the batch, the first at 0
			items := goodItems(t, BatchMin)
			items = append(items[:at], append([]sigItem{v}, items[at:]...)...)
			checkAgrees(t, items)
		})
	}
	// All of them in one batch with good ones.
	items := append(goodItems(t, 2*BatchMin), vectors...)
	checkAgrees(t, items)
	// And through VerifyBatch, against Verify (which also refuses weak keys).
	batch := make([]Signed, len(items))
	for i, it := range items {
		batch[i] = Signed{Key: IdentityKey(it.pub), Msg: it.msg, Sig: it.sig}
	}
	// The vectors sign the bare message: domain "".
	for i := range batch[:2*BatchMin] {
		batch[i].Msg = withDomain(DomainMessage, batch[i].Msg)
	}
	got := VerifyBatch("", batch)
	for i, s := range batch {
		if want := Verify(s.Key, "", s.Msg, s.Sig); got[i] != want {
			t.Fatalf("VerifyBatch item %d: %v, Verify %v", i, got[i], want)
		}
	}
}

func TestVerifyBatchVectorsMeaning(t *testing.T) {
	// crypto/ed25519 accepts cases 0–5 except... whatever it says, the
	// vectors must not all agree, or they test nothing: some are accepted
	// and some refused by single verification.
	var yes, no int
	for _, v := range speccheckItems(t) {
		if v.single() {
			yes++
		} else {
			no++
		}
	}
	if yes == 0 || no == 0 {
		t.Fatalf("crypto/ed25519 accepts %d and refuses %d vectors; want both", yes, no)
	}
}

func TestVerifyBatchGood(t *testing.T) {
	for _, n := range []int{0, 1, BatchMin - 1, BatchMin, 257, 1024} {
		items := goodItems(t, n)
		got := make([]bool, n)
		verifyItems(rand.Reader, items, got)
		for i, ok := range got {
			if !ok {
				t.Fatalf("n=%d: good signature %d refused", n, i)
			}
		}
	}
}

// corruptions of one signature, each refused by crypto/ed25519.
var corruptions = []struct {
	name string
	do   func(it *sigItem)
}{
	{"flip R", func(it *sigItem) { it.sig[3] ^= 1 }},
	{"flip S", func(it *sigItem) { it.sig[40] ^= 0x10 }},
	{"S + L", func(it *sigItem) { it.sig = addL(it.sig) }},
	{"S high bit", func(it *sigItem) { it.sig[63] |= 0x80 }},
	{"other message", func(it *sigItem) { it.msg = append(bytes.Clone(it.msg), '!') }},
	{"other domain", func(it *sigItem) { it.domain = DomainBeacon }},
	{"short", func(it *sigItem) { it.sig = it.sig[:63] }},
	{"R not a point", func(it *sigItem) { copy(it.sig, nonPoint) }},
	{"R non-canonical", func(it *sigItem) { copy(it.sig, nonCanonicalOne) }},
}

// nonPoint is a y with no x on the curve (y = 2); nonCanonicalOne is
// y = p + 1, a non-canonical encoding of the point (0, 1).
var (
	nonPoint        = append([]byte{2}, make([]byte, 31)...)
	nonCanonicalOne = func() []byte {
		b := bytes.Repeat([]byte{0xff}, 32)
		b[0], b[31] = 0xee, 0x7f
		return b
	}()
)

// addL returns sig with S replaced by S + L (the same scalar, not canonical).
func addL(sig []byte) []byte {
	out := bytes.Clone(sig)
	l := [32]byte{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 31: 0x10}
	carry := 0
	for i := range 32 {
		v := int(out[32+i]) + int(l[i]) + carry
		out[32+i], carry = byte(v), v>>8
	}
	return out
}

func TestVerifyBatchOneOrTwoBad(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, c := range corruptions {
		for _, n := range []int{BatchMin} {
			t.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(t *testing.T) {
				items := goodItems(t, n)
				i := rng.IntN(n)
				c.do(&items[i])
				if items[i].single() {
					t.Fatal("corruption not refused by crypto/ed25519")
				}
				checkAgrees(t, items)
				j := (i + 1 + rng.IntN(n-1)) % n
				corruptions[rng.IntN(len(corruptions))].do(&items[j])
				checkAgrees(t, items)
			})
		}
	}
}

// TestVerifyBatchMixedOrderR: an author who knows its secret key signs with
// R = [r]B + T for each small-order T. A cofactored batch equation accepts
// all of these; crypto/ed25519 accepts only T = identity.
func TestVerifyBatchMixedOrderR(t *testing.T) {
	s := newSigner(t)
	tors := torsionPoints(t)
	for ti, tor := range tors {
		t.Run(fmt.Sprintf("T%d", ti), func(t *testing.T) {
			msg := []byte("mixed order")
			crafted := sigItem{pub: s.pub, msg: msg, sig: s.signWithR(t, msg, tor)}
			if want := ti == 0; crafted.single() != want {
				t.Fatalf("crypto/ed25519 says %v for T%d", !want, ti)
			}
			// The cofactored equation holds: [8]([S]B − [k]A − R) == 0.
			if !cofactoredHolds(t, crafted) {
				t.Fatal("cofactored equation does not hold for the crafted signature")
			}
			items := append(goodItems(t, BatchMin), crafted)
			// And an honest signature whose R has T added afterwards
			// (the hash changes with R: refused by both equations).
			honest := items[7]
			R, err := new(edwards25519.Point).SetBytes(honest.sig[:32])
			if err != nil {
				t.Fatal(err)
			}
			honest.sig = append(R.Add(R, tor).Bytes(), honest.sig[32:]...)
			items = append(items, honest)
			checkAgrees(t, items)
		})
	}
}

// TestVerifyBatchCancellingTorsion: two signatures whose R carry the
// order-2 point. Their torsion terms cancel in P whenever z₁ + z₂ is even,
// so the batch equation alone passes half the time; the torsion checks
// must still refuse both, every time.
func TestVerifyBatchCancellingTorsion(t *testing.T) {
	s := newSigner(t)
	tors := torsionPoints(t)
	order2 := tors[4]
	for run := range 8 {
		items := goodItems(t, BatchMin)
		for k := range 2 {
			msg := fmt.Appendf(nil, "order two %d %d", run, k)
			items = append(items, sigItem{pub: s.pub, msg: msg, sig: s.signWithR(t, msg, order2)})
		}
		checkAgrees(t, items)
	}
	// Every torsion pair, too.
	for a := 1; a < 8; a++ {
		items := goodItems(t, BatchMin)
		for _, tor := range []*edwards25519.Point{tors[a], tors[8-a]} {
			msg := fmt.Appendf(nil, "pair %d", a)
			items = append(items, sigItem{pub: s.pub, msg: msg, sig: s.signWithR(t, msg, tor)})
		}
		checkAgrees(t, items)
	}
}

// TestVerifyBatchMixedOrderKey: a key A + T with T of small order passes
// IdentityKey.Check (it is not of small order) but is never batched; its
// signatures verify singly exactly when crypto/ed25519 says so (about half
// of them for an order-2 T: when k is even).
func TestVerifyBatchMixedOrderKey(t *testing.T) {
	s := newSigner(t)
	tors := torsionPoints(t)
	A := new(edwards25519.Point).ScalarBaseMult(s.a)
	A.Add(A, tors[4])
	pub := A.Bytes()
	if err := IdentityKey(pub).Check(); err != nil {
		t.Fatalf("mixed-order key refused by Check: %v", err)
	}
	items := goodItems(t, BatchMin)
	var accepted int
	for i := range 32 {
		msg := fmt.Appendf(nil, "mixed key %d", i)
		var seed [64]byte
		if _, err := rand.Read(seed[:]); err != nil {
			t.Fatal(err)
		}
		r, _ := edwards25519.NewScalar().SetUniformBytes(seed[:])
		rb := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
		h := sha512.New()
		h.Write(rb)
		h.Write(pub)
		h.Write(msg)
		k, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil))
		sig := append(rb, edwards25519.NewScalar().MultiplyAdd(k, s.a, r).Bytes()...)
		it := sigItem{pub: pub, msg: msg, sig: sig}
		if it.single() {
			accepted++
		}
		items = append(items, it)
	}
	if accepted == 0 || accepted == 32 {
		t.Fatalf("%d of 32 mixed-key signatures verify singly; want some but not all", accepted)
	}
	checkAgrees(t, items)
}

// cofactoredHolds reports whether [8]([S]B − [k]A − R) is the identity.
func cofactoredHolds(t *testing.T, it sigItem) bool {
	t.Helper()
	A, err := new(edwards25519.Point).SetBytes(it.pub)
	if err != nil {
		t.Fatal(err)
	}
	R, err := new(edwards25519.Point).SetBytes(it.sig[:32])
	if err != nil {
		t.Fatal(err)
	}
	S, err := edwards25519.NewScalar().SetCanonicalBytes(it.sig[32:])
	if err != nil {
		t.Fatal(err)
	}
	h := sha512.New()
	h.Write(it.sig[:32])
	h.Write(it.pub)
	h.Write(withDomain(it.domain, it.msg))
	k, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil))
	d := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(k, new(edwards25519.Point).Negate(A), S)
	d.Subtract(d, R)
	return d.MultByCofactor(d).Equal(edwards25519.NewIdentityPoint()) == 1
}

// TestCanonicalPoint compares canonicalPoint with a decode and re-encode,
// on the encodings around 0, 1, p − 1 and p, with either sign bit.
func TestCanonicalPoint(t *testing.T) {
	var encs [][]byte
	for v := range 40 {
		lo := make([]byte, 32)
		lo[0] = byte(v)
		hi := bytes.Repeat([]byte{0xff}, 32)
		hi[31] = 0x7f
		hi[0] = byte(0xff - v)
		encs = append(encs, lo, hi)
	}
	for range 1000 {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		encs = append(encs, b)
	}
	var decoded, refused int
	for _, e := range encs {
		for _, sign := range []byte{0, 0x80} {
			b := bytes.Clone(e)
			b[31] = b[31]&0x7f | sign
			p, err := new(edwards25519.Point).SetBytes(b)
			if err != nil {
				continue
			}
			decoded++
			want := bytes.Equal(p.Bytes(), b)
			if !want {
				refused++
			}
			if got := canonicalPoint(b); got != want {
				t.Fatalf("canonicalPoint(%x) = %v, re-encoding says %v", b, got, want)
			}
		}
	}
	if refused == 0 || decoded == refused {
		t.Fatalf("%d decoded, %d non-canonical: the table tests nothing", decoded, refused)
	}
}

func TestTorsionFree(t *testing.T) {
	for i, tor := range torsionPoints(t) {
		if got := torsionFree(tor); got != (i == 0) {
			t.Fatalf("torsionFree(T%d) = %v", i, got)
		}
		p := new(edwards25519.Point).Add(edwards25519.NewGeneratorPoint(), tor)
		if got := torsionFree(p); got != (i == 0) {
			t.Fatalf("torsionFree(B + T%d) = %v", i, got)
		}
	}
}

// FuzzVerifyBatch: a batch of good signatures with one or two of them
// changed by the fuzzer's bytes (positions and XOR masks) must get exactly
// crypto/ed25519's answers.
func FuzzVerifyBatch(f *testing.F) {
	f.Add(uint16(0), uint8(0), uint8(1), uint16(5), uint8(40), uint8(0x10))
	f.Add(uint16(63), uint8(63), uint8(0x80), uint16(63), uint8(31), uint8(0x80))
	f.Add(uint16(10), uint8(31), uint8(0x80), uint16(10), uint8(0), uint8(0x01))
	f.Fuzz(func(t *testing.T, i1 uint16, p1, x1 uint8, i2 uint16, p2, x2 uint8) {
		items := goodItems(t, BatchMin)
		items[int(i1)%len(items)].sig[int(p1)%SignatureSize] ^= x1
		items[int(i2)%len(items)].sig[int(p2)%SignatureSize] ^= x2
		checkAgrees(t, items)
	})
}

// reportPerSig adds wall and CPU time per signature (the CPU time holds up
// on a busy machine: these benchmarks run on one goroutine).
func reportPerSig(b *testing.B, sigs int, cpu0 time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(sigs), "ns/sig")
	if cpu1, ok := processCPU(); ok && cpu1 > cpu0 {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(sigs), "cpu-ns/sig")
	}
}

func BenchmarkVerifySingle(b *testing.B) {
	items := goodItems(b, 1)
	cpu0, _ := processCPU()
	for b.Loop() {
		if !items[0].single() {
			b.Fatal("refused")
		}
	}
	reportPerSig(b, b.N, cpu0)
}

func BenchmarkVerifyBatch(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			items := goodItems(b, n)
			// One author, as in a sync batch or a busy room.
			for i := range items {
				items[i] = goodOnce.items[3*i]
			}
			ok := make([]bool, n)
			cpu0, _ := processCPU()
			for b.Loop() {
				verifyItems(rand.Reader, items, ok)
			}
			for i := range ok {
				if !ok[i] {
					b.Fatal("refused")
				}
			}
			reportPerSig(b, b.N*n, cpu0)
		})
	}
}

// benchSizes are BenchmarkVerifyBatch's batch sizes.
var benchSizes = []int{1, 8, 64, 128, 256, 1024}
