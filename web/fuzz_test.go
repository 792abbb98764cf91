package web

import (
	"bytes"
	"testing"
	"time"

	"github.com/lanchat/lanchat/internal/fuzzseed"
)

// FuzzSessionCookie: a cookie value from the network is accepted only if
// it is exactly one this key made (re-encoding gives the same bytes), and
// no input panics.
func FuzzSessionCookie(f *testing.F) {
	k := keys{key: bytes.Repeat([]byte{7}, keySize)}
	good, err := k.newSession(time.Unix(1<<40, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(good))
	for _, s := range fuzzseed.Files(f, "FuzzSessionCookie") {
		f.Add(s)
	}
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, value []byte) {
		payload, err := k.parseSession(string(value), now)
		if err != nil {
			return
		}
		again := b64.EncodeToString(payload) + "." + b64.EncodeToString(k.mac(sessionDomain, payload))
		if again != string(value) {
			t.Fatalf("accepted %q, which re-encodes as %q", value, again)
		}
	})
}

// FuzzLoginToken: a token from the network redeems only the token minted,
// once.
func FuzzLoginToken(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "FuzzLoginToken") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token []byte) {
		var l logins
		l.max = 4
		now := time.Now()
		minted, err := l.mintLocked(now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if l.redeemLocked(string(token), now) != (string(token) == minted) {
			t.Fatalf("token %q redeemed wrongly (minted %q)", token, minted)
		}
		if l.redeemLocked(minted, now) == (string(token) == minted) {
			t.Fatal("a token was redeemed twice, or the minted one not at all")
		}
	})
}
