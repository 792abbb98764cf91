// Package fuzzseed loads the committed fuzz seed corpora under the
// repository's testdata/fuzz/<FuzzName>/ (one raw input per file) for the
// fuzz targets of every package.
package fuzzseed

import (
	"os"
	"path/filepath"
	"testing"
)

// Files returns every file of testdata/fuzz/<name>/ (the package's tests
// run one directory below the repository root) and fails the test if there
// are none, so a lost corpus cannot pass silently.
func Files(f *testing.F, name string) [][]byte {
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
