package crypto

import (
	"os"
	"path/filepath"
	"testing"
)

// seedFiles returns every file of testdata/fuzz/<name>/ and fails if there
// are none, so a lost corpus cannot pass silently.
func seedFiles(f *testing.F, name string) [][]byte {
	f.Helper()
	dir := filepath.Join("..", "testdata", "fuzz", name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.Fatalf("seed corpus: %v", err)
	}
	var seeds [][]byte
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatalf("seed corpus: %v", err)
		}
		seeds = append(seeds, b)
	}
	if len(seeds) == 0 {
		f.Fatalf("seed corpus %s is empty", dir)
	}
	return seeds
}
