package names

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name       string
		ok, textOK bool
	}{
		{"", true, true},
		{"alice", true, true},
		{"Zoë 🎉", true, true},
		{strings.Repeat("a", MaxLen), true, true},
		{strings.Repeat("a", MaxLen+1), false, false},
		{"bob\n", false, false},
		{"a\x1b[2Jb", false, false},
		{"right\u202eleft", false, false}, // Cf: bidi override
		{"\xff", false, false},
		{" alice", false, true},
		{"alice ", false, true},
		{"al ice", true, true},
	}
	for _, tt := range tests {
		err := Check(tt.name)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrName) {
			t.Errorf("Check(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		err = CheckText(tt.name)
		if (err == nil) != tt.textOK || err != nil && !errors.Is(err, ErrName) {
			t.Errorf("CheckText(%q) = %v, want ok=%v", tt.name, err, tt.textOK)
		}
	}
}
