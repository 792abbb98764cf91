package crypto

import (
	"testing"

	"filippo.io/edwards25519"
)

// TestVerifyBatchCancellingForgeries: invalid signatures crafted so that
// their errors cancel in a sum of the verification equations, which a
// batch without random weights (or with weights an attacker can predict)
// would accept: two valid signatures of one message with different nonces,
// their halves crossed ((R₁, S₂) and (R₂, S₁): the same R's, S's and k's in
// the sum), and two valid signatures with S₁ + d and S₂ − d. Inside a batch
// of good ones, each is refused exactly as crypto/ed25519 refuses it, and
// the good ones are accepted.
func TestVerifyBatchCancellingForgeries(t *testing.T) {
	s := newSigner(t)
	msg := []byte("pay bob 10")
	signed := withDomain(DomainMessage, msg)
	item := func(sig []byte) sigItem { return sigItem{pub: s.pub, domain: DomainMessage, msg: msg, sig: sig} }
	id := edwards25519.NewIdentityPoint()
	sig1, sig2 := s.signWithR(t, signed, id), s.signWithR(t, signed, id)
	if a, b := item(sig1), item(sig2); !a.single() || !b.single() {
		t.Fatal("the crafted nonces' signatures do not verify")
	}
	crossed1 := append(append([]byte{}, sig1[:32]...), sig2[32:]...)
	crossed2 := append(append([]byte{}, sig2[:32]...), sig1[32:]...)
	d, _ := edwards25519.NewScalar().SetCanonicalBytes(append([]byte{7}, make([]byte, 31)...))
	shift := func(sig []byte, add bool) []byte {
		S, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
		if err != nil {
			t.Fatal(err)
		}
		if add {
			S.Add(S, d)
		} else {
			S.Subtract(S, d)
		}
		return append(append([]byte{}, sig[:32]...), S.Bytes()...)
	}
	forged := []sigItem{item(crossed1), item(crossed2), item(shift(sig1, true)), item(shift(sig2, false))}
	for i := range forged {
		if forged[i].single() {
			t.Fatalf("forgery %d verifies singly", i)
		}
	}
	for _, n := range []int{BatchMin, 256} {
		items := goodItems(t, n-len(forged)-2)
		items = append(items, item(sig1))
		items = append(items, forged...)
		items = append(items, item(sig2))
		checkAgrees(t, items)
	}
}
