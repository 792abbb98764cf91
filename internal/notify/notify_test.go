package notify

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// A peer's text reaches the notification server as plain, bounded text:
// no control characters, markup escaped, cut on a character boundary.
func TestTextIsMadeSafe(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"hi <b>you</b> & me", "hi &lt;b&gt;you&lt;/b&gt; &amp; me"},
		{"a\x1b[2Jb\u202ec", "a[2Jbc"},
		{"two\nlines", "two lines"},
	} {
		if got := escape(clip(plain(tc.in), maxBody)); got != tc.want {
			t.Errorf("%q → %q, want %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("日", maxBody) // 3 bytes each
	got := clip(long, maxBody)
	if len(got) > maxBody || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("clip: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}

func TestOpenWithoutBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	if _, err := Open(); !errors.Is(err, ErrNoBus) {
		t.Fatalf("Open without a bus: %v, want ErrNoBus", err)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+t.TempDir()+"/none")
	if _, err := Open(); !errors.Is(err, ErrNoBus) {
		t.Fatalf("Open on a missing socket: %v, want ErrNoBus", err)
	}
}
