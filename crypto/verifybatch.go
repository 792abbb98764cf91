package crypto

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"filippo.io/edwards25519"
)

// Signed is one signature for VerifyBatch: Sig is Key's signature over
// domain || Msg.
type Signed struct {
	Key IdentityKey
	Msg []byte
	Sig []byte
}

// BatchMin is the batch size from which VerifyBatch checks signatures
// together; below it each is checked alone. A batch has a fixed cost, the
// 64 torsion checks (each a scalar multiplication, about one single
// verification), so it pays only from here: measured per signature against
// single verification (BenchmarkVerifyBatch, one author), 64 signatures
// cost about 1.0×, 96 about 0.8×, 128 0.73×, 256 0.5×, 1024 0.4×.
const BatchMin = 96

// torsionChecks is the number of random subset sums of the R points whose
// torsion is checked: each catches any R with a torsion component with
// probability at least 1/2, so a bad batch passes all of them with
// probability at most 2⁻⁶⁴.
const torsionChecks = 64

// VerifyBatch reports for each signature whether Verify would accept it:
// ok[i] == Verify(batch[i].Key, domain, batch[i].Msg, batch[i].Sig), always,
// whatever the inputs (a false answer for a good signature or a true one for
// a bad signature happens with probability at most 2⁻⁶⁴ per call, over the
// randomness drawn from crypto/rand). It never panics.
//
// Why it agrees with crypto/ed25519.Verify, which is cofactorless (it
// accepts exactly when [S]B − [k]A == R, comparing R's canonical encoding
// byte for byte) and which the other lanchat nodes and the independent
// client run:
//
//  1. Each signature's cheap checks are the ones crypto/ed25519 makes or
//     implies: 64 bytes, S < L, A decodes (SetBytes, which takes
//     non-canonical encodings as crypto/ed25519 does), R decodes and is the
//     canonical encoding of its point (a recomputed R is always canonical,
//     so no other encoding can match). One failing is rejected alone.
//  2. A key A with a torsion component ([L]A ≠ 0) is never batched: its
//     signatures are checked singly with crypto/ed25519. Honest keys are
//     torsion-free (A = [a]B); the answer is cached per key.
//  3. With random 128-bit z_i, P = [Σ z_i S_i]B − Σ z_i R_i −
//     Σ_A [Σ_{i by A} z_i k_i]A, one multi-scalar multiplication with one
//     term per distinct author. Write D_i = [S_i]B − [k_i]A_i − R_i: single
//     verification accepts signature i iff D_i == 0, and P = Σ z_i D_i. If
//     all D_i are 0 then P == 0. If P == 0 (checked cofactorless, not
//     [8]P), the prime-order parts of the D_i vanish except with
//     probability 2⁻¹²⁸ (for a nonzero prime-order part only one z_i below
//     2¹²⁸ < L cancels it), so every D_i is a small-order point; B and A_i
//     being torsion-free, D_i = −torsion(R_i).
//  4. P == 0 alone does not make the D_i zero: small-order terms can
//     cancel (two order-2 components, z_i even). So every R_i must be shown
//     torsion-free: for j = 1..64, Q_j = Σ b_ji R_i with random bits b_ji,
//     and [L]Q_j must be the identity. If some R_i has a torsion component
//     t ≠ 0, then fixing every bit but b_ji, Q_j's torsion takes two values
//     that differ by t, at most one of them zero: each check misses with
//     probability at most 1/2, all 64 with at most 2⁻⁶⁴. ([L]Q kills Q's
//     prime-order part and is [5]torsion(Q), since L ≡ 5 mod 8.)
//  5. If P ≠ 0 or a torsion check fails, some signature is bad: each is
//     then checked singly with crypto/ed25519, so the answers are exactly
//     its answers.
//
// So a hostile member's R = R_honest + T (T of small order), which a
// cofactored batch equation accepts and crypto/ed25519 rejects, is
// rejected here too (step 4, or step 3 when the z_i do not cancel T).
func VerifyBatch(domain string, batch []Signed) []bool {
	ok := make([]bool, len(batch))
	items := make([]sigItem, 0, len(batch))
	idx := make([]int, 0, len(batch))
	for i := range batch {
		s := &batch[i]
		if len(s.Sig) != SignatureSize || s.Key.Check() != nil {
			continue // what Verify refuses before crypto/ed25519 runs
		}
		items = append(items, sigItem{pub: s.Key[:], domain: domain, msg: s.Msg, sig: s.Sig})
		idx = append(idx, i)
	}
	res := make([]bool, len(items))
	verifyItems(rand.Reader, items, res)
	for j, i := range idx {
		ok[i] = res[j]
	}
	return ok
}

// sigItem is one signature in crypto/ed25519's terms: pub's signature sig
// over domain || msg (no key checks of lanchat's own).
type sigItem struct {
	pub    []byte
	domain string
	msg    []byte
	sig    []byte
}

// single is crypto/ed25519.Verify on it, without its panic on a bad key
// length.
func (it *sigItem) single() bool {
	if len(it.pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(it.pub), withDomain(it.domain, it.msg), it.sig)
}

// verifyItems sets ok[i] to it[i].single(), batching where it pays; rnd
// supplies the batch's random coefficients.
func verifyItems(rnd io.Reader, items []sigItem, ok []bool) {
	if len(items) < BatchMin {
		for i := range items {
			ok[i] = items[i].single()
		}
		return
	}
	b := newBatch(len(items))
	for i := range items {
		switch b.add(&items[i], i) {
		case itemBad:
			ok[i] = false
		case itemAlone:
			ok[i] = items[i].single()
		}
	}
	if len(b.sigs) < BatchMin {
		for _, s := range b.sigs {
			ok[s.index] = items[s.index].single()
		}
		return
	}
	holds, err := b.holds(rnd)
	for _, s := range b.sigs {
		if holds && err == nil {
			ok[s.index] = true
		} else {
			ok[s.index] = items[s.index].single()
		}
	}
}

// What batch.add did with a signature.
const (
	itemBatched = iota
	itemBad     // fails a cheap check: rejected
	itemAlone   // its key has a torsion component: check it singly
)

// batch holds the parsed signatures of one batch equation.
type batch struct {
	sigs []batchSig
	keys map[[KeySize]byte]*batchKey
}

type batchSig struct {
	index int
	s, k  edwards25519.Scalar
	r     edwards25519.Point
	key   *batchKey
}

type batchKey struct {
	a            edwards25519.Point
	torsionFree  bool
	decoded      bool
	sumZK        edwards25519.Scalar // Σ z_i k_i over this key's signatures
	hasBatchSigs bool
}

func newBatch(n int) *batch {
	return &batch{sigs: make([]batchSig, 0, n), keys: map[[KeySize]byte]*batchKey{}}
}

// add parses it (index i in the caller's list) into the batch.
func (b *batch) add(it *sigItem, i int) int {
	if len(it.sig) != SignatureSize || len(it.pub) != KeySize {
		return itemBad
	}
	key := b.key(it.pub)
	if !key.decoded {
		return itemBad
	}
	if !key.torsionFree {
		return itemAlone
	}
	b.sigs = append(b.sigs, batchSig{index: i, key: key})
	s := &b.sigs[len(b.sigs)-1]
	if _, err := s.s.SetCanonicalBytes(it.sig[32:]); err != nil {
		b.sigs = b.sigs[:len(b.sigs)-1]
		return itemBad
	}
	if !canonicalPoint(it.sig[:32]) {
		b.sigs = b.sigs[:len(b.sigs)-1]
		return itemBad
	}
	if _, err := s.r.SetBytes(it.sig[:32]); err != nil {
		b.sigs = b.sigs[:len(b.sigs)-1]
		return itemBad
	}
	h := sha512.New()
	h.Write(it.sig[:32])
	h.Write(it.pub)
	h.Write([]byte(it.domain))
	h.Write(it.msg)
	var digest [sha512.Size]byte
	if _, err := s.k.SetUniformBytes(h.Sum(digest[:0])); err != nil {
		panic(fmt.Sprintf("crypto: 64-byte scalar refused: %v", err)) // cannot happen
	}
	key.hasBatchSigs = true
	return itemBatched
}

// key returns the batch's entry for pub, decoding it on first use.
func (b *batch) key(pub []byte) *batchKey {
	k := [KeySize]byte(pub)
	if e := b.keys[k]; e != nil {
		return e
	}
	e := &batchKey{}
	b.keys[k] = e
	if _, err := e.a.SetBytes(pub); err != nil {
		return e
	}
	e.decoded = true
	e.torsionFree = torsionFreeKey(k, &e.a)
	return e
}

// holds evaluates the batch equation and the torsion checks (see
// VerifyBatch). false means some signature is bad, or (with probability at
// most 2⁻⁶⁴) that all are good.
func (b *batch) holds(rnd io.Reader) (bool, error) {
	n := len(b.sigs)
	random := make([]byte, 16*n+torsionChecks/8*n)
	if _, err := io.ReadFull(rnd, random); err != nil {
		return false, fmt.Errorf("batch verify: reading randomness: %w", err)
	}
	zs, bits := random[:16*n], random[16*n:]
	scalars := make([]*edwards25519.Scalar, 0, n+1+len(b.keys))
	points := make([]*edwards25519.Point, 0, n+1+len(b.keys))
	z := make([]edwards25519.Scalar, n)
	negR := make([]edwards25519.Point, n)
	sumZS := edwards25519.NewScalar()
	var buf [32]byte
	for i := range b.sigs {
		s := &b.sigs[i]
		copy(buf[:16], zs[16*i:])
		if _, err := z[i].SetCanonicalBytes(buf[:]); err != nil {
			return false, fmt.Errorf("batch verify: 128-bit scalar refused: %w", err)
		}
		sumZS.MultiplyAdd(&z[i], &s.s, sumZS)
		s.key.sumZK.MultiplyAdd(&z[i], &s.k, &s.key.sumZK)
		negR[i].Negate(&s.r)
		scalars, points = append(scalars, &z[i]), append(points, &negR[i])
	}
	scalars, points = append(scalars, sumZS), append(points, edwards25519.NewGeneratorPoint())
	negA := make([]edwards25519.Point, 0, len(b.keys))
	for _, k := range b.keys {
		if !k.hasBatchSigs {
			continue
		}
		negA = append(negA, edwards25519.Point{})
		a := &negA[len(negA)-1]
		a.Negate(&k.a)
		scalars, points = append(scalars, &k.sumZK), append(points, a)
	}
	p := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points)
	if p.Equal(edwards25519.NewIdentityPoint()) != 1 {
		return false, nil
	}
	rs := make([]*edwards25519.Point, n)
	for i := range b.sigs {
		rs[i] = &b.sigs[i].r
	}
	return torsionFreeAll(rs, bits), nil
}

// torsionFreeAll reports whether each of torsionChecks random subset sums
// of rs is torsion-free: bits holds torsionChecks bits per point (point i's
// bits are bits[i*torsionChecks/8:]). Points are taken four at a time: the
// 16 subset sums of a group are computed once (11 additions), then each
// check adds one of them.
func torsionFreeAll(rs []*edwards25519.Point, bits []byte) bool {
	const perPoint = torsionChecks / 8 // bytes of bits per point
	var q [torsionChecks]edwards25519.Point
	for j := range q {
		q[j].Set(edwards25519.NewIdentityPoint())
	}
	var sums [16]edwards25519.Point
	sums[0].Set(edwards25519.NewIdentityPoint())
	for g := 0; g < len(rs); g += 4 {
		m := min(4, len(rs)-g)
		for mask := 1; mask < 16; mask++ {
			low := mask & -mask
			bit := 0
			for low>>bit != 1 {
				bit++
			}
			if bit >= m {
				sums[mask].Set(&sums[mask&^low]) // no such point in a short group
				continue
			}
			sums[mask].Add(&sums[mask&^low], rs[g+bit])
		}
		for j := range q {
			mask := 0
			for bit := 0; bit < m; bit++ {
				if bits[(g+bit)*perPoint+j/8]>>(j%8)&1 == 1 {
					mask |= 1 << bit
				}
			}
			if mask != 0 {
				q[j].Add(&q[j], &sums[mask])
			}
		}
	}
	for j := range q {
		if !torsionFree(&q[j]) {
			return false
		}
	}
	return true
}

// lMinus1 is L − 1, the largest canonical scalar (L itself reduces to 0).
var lMinus1 = func() *edwards25519.Scalar {
	// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
	l := [32]byte{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}
	l[0]--
	s, err := edwards25519.NewScalar().SetCanonicalBytes(l[:])
	if err != nil {
		panic(err)
	}
	return s
}()

// torsionFree reports whether [L]p is the identity: p lies in the
// prime-order subgroup. Variable time (p is public).
func torsionFree(p *edwards25519.Point) bool {
	lp := new(edwards25519.Point).VarTimeMultiScalarMult([]*edwards25519.Scalar{lMinus1}, []*edwards25519.Point{p})
	lp.Add(lp, p)
	return lp.Equal(edwards25519.NewIdentityPoint()) == 1
}

// torsionFreeKey is torsionFree for an identity key, remembered: a node
// sees few keys, and each costs a scalar multiplication.
func torsionFreeKey(k [KeySize]byte, a *edwards25519.Point) bool {
	torsionKeys.mu.Lock()
	v, ok := torsionKeys.keys[k]
	torsionKeys.mu.Unlock()
	if ok {
		return v
	}
	v = torsionFree(a)
	torsionKeys.mu.Lock()
	defer torsionKeys.mu.Unlock()
	if len(torsionKeys.keys) >= maxGoodKeys {
		clear(torsionKeys.keys)
	}
	torsionKeys.keys[k] = v
	return v
}

var torsionKeys = struct {
	mu   sync.Mutex
	keys map[[KeySize]byte]bool
}{keys: map[[KeySize]byte]bool{}}

// canonicalPoint reports whether b is a canonical point encoding: y < p
// (p = 2²⁵⁵ − 19) and no sign bit on x = 0 (y = ±1, the only points with
// x = 0). It does not check that the point exists.
func canonicalPoint(b []byte) bool {
	y := [32]byte(b)
	sign := y[31] >> 7
	y[31] &= 0x7f
	hi := binary.LittleEndian.Uint64(y[24:])
	mid1 := binary.LittleEndian.Uint64(y[16:])
	mid0 := binary.LittleEndian.Uint64(y[8:])
	lo := binary.LittleEndian.Uint64(y[:8])
	const ones = ^uint64(0)
	if hi == ones>>1 && mid1 == ones && mid0 == ones && lo >= ones-18 {
		return false // y ≥ p
	}
	if sign == 1 {
		isOne := hi == 0 && mid1 == 0 && mid0 == 0 && lo == 1
		isMinusOne := hi == ones>>1 && mid1 == ones && mid0 == ones && lo == ones-19 // p − 1
		if isOne || isMinusOne {
			return false
		}
	}
	return true
}
