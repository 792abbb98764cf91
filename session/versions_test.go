package session

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Known-bad versions must never come back through a careless go.mod edit:
// flynn/noise before v1.0.0 advanced the nonce on failed decrypts
// (GO-2022-0425); old golang.org/x/crypto releases have fixed advisories.
// (govulncheck cannot reach its database from these machines.)
func TestDependencyMinimumVersions(t *testing.T) {
	minimum := map[string]string{
		"github.com/flynn/noise": "v1.1.0",
		"golang.org/x/crypto":    "v0.45.0",
	}
	gomod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "require" {
			f = f[1:]
		}
		if len(f) < 2 {
			continue
		}
		want, checked := minimum[f[0]]
		if !checked {
			continue
		}
		seen[f[0]] = true
		if semverLess(f[1], want) {
			t.Errorf("go.mod requires %s %s, want at least %s", f[0], f[1], want)
		}
	}
	for path := range minimum {
		if !seen[path] {
			t.Errorf("go.mod does not require %s", path)
		}
	}
}

// semverLess compares vMAJOR.MINOR.PATCH versions (pre-release suffixes
// count as their release).
func semverLess(a, b string) bool {
	pa, pb := semverParts(a), semverParts(b)
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return false
}

func semverParts(v string) [3]int {
	var out [3]int
	v, _, _ = strings.Cut(strings.TrimPrefix(v, "v"), "-")
	for i, f := range strings.SplitN(v, ".", 3) {
		out[i], _ = strconv.Atoi(f)
	}
	return out
}

func TestSemverLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"v1.0.0", "v1.1.0", true}, {"v1.1.0", "v1.1.0", false}, {"v0.59.0", "v0.45.0", false},
		{"v0.9.0", "v0.45.0", true}, {"v2.0.0", "v1.9.9", false},
	}
	for _, tt := range tests {
		if got := semverLess(tt.a, tt.b); got != tt.want {
			t.Errorf("semverLess(%s, %s) = %v", tt.a, tt.b, got)
		}
	}
}
