package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDistIsReproducible builds the release twice into two directories
// and wants the same SHA256SUMS, sums that match the archives, archives
// with the expected entries, and a binary for this machine whose
// --version names the version and commit it was given.
//
// By default it builds only this machine's target (make test). With
// LANCHAT_DIST_ALL=1 (make dist-check) it builds every release target,
// the second time with an empty build cache, so that the compile and not
// only the link is shown to be reproducible.
func TestDistIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lanchat twice")
	}
	host := runtime.GOOS + "/" + runtime.GOARCH
	targets := []string{host}
	all := os.Getenv("LANCHAT_DIST_ALL") == "1"
	if all {
		targets = releaseTargets
	} else if !slices.Contains(releaseTargets, host) {
		t.Skipf("%s is no release target", host)
	}
	c := config{
		version: "v0.0.0-disttest",
		commit:  "0123456789abcdef0123456789abcdef01234567",
		root:    filepath.Join("..", ".."),
		goCmd:   "go",
		targets: targets,
		mtime:   time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
	}
	var log bytes.Buffer
	c.out = t.TempDir()
	first, err := dist(c, &log)
	if err != nil {
		t.Fatalf("first dist: %v\n%s", err, log.String())
	}
	a := c.out
	if all {
		t.Setenv("GOCACHE", t.TempDir())
	}
	c.out = t.TempDir()
	second, err := dist(c, &log)
	if err != nil {
		t.Fatalf("second dist: %v\n%s", err, log.String())
	}
	b := c.out
	if !slices.Equal(first, second) || len(first) != len(targets)+1 {
		t.Fatalf("files: %v, then %v", first, second)
	}
	sumsA, sumsB := readFile(t, a, "SHA256SUMS"), readFile(t, b, "SHA256SUMS")
	if !bytes.Equal(sumsA, sumsB) {
		t.Fatalf("two builds differ:\n%s\n%s", sumsA, sumsB)
	}
	t.Logf("SHA256SUMS:\n%s", sumsA)

	lines := strings.Split(strings.TrimSuffix(string(sumsA), "\n"), "\n")
	if len(lines) != len(targets) {
		t.Fatalf("SHA256SUMS has %d lines, want %d", len(lines), len(targets))
	}
	for _, line := range lines {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", line)
		}
		got := sha256.Sum256(readFile(t, a, name))
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: SHA256SUMS says %s, the file is %x", name, sum, got)
		}
	}

	for _, target := range targets {
		name := archiveName(c.version, target)
		exe := "lanchat"
		if strings.HasPrefix(target, "windows/") {
			exe += ".exe"
		}
		entries := unpack(t, filepath.Join(a, name), c.mtime)
		prefix := strings.TrimSuffix(strings.TrimSuffix(name, ".zip"), ".tar.gz") + "/"
		want := []string{prefix, prefix + exe, prefix + "README.md"}
		if !slices.Equal(entryNames(entries), want) {
			t.Errorf("%s holds %v, want %v", name, entryNames(entries), want)
			continue
		}
		if !bytes.Equal(entries[2].data, readFile(t, c.root, "README.md")) {
			t.Errorf("%s: README.md is not the repository's", name)
		}
		if target != host {
			continue
		}
		bin := filepath.Join(t.TempDir(), exe)
		if err := os.WriteFile(bin, entries[1].data, 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --version: %v\n%s", exe, err, out)
		}
		if w := "lanchat v0.0.0-disttest (0123456789ab) go"; !strings.HasPrefix(string(out), w) {
			t.Errorf("%s --version = %q, want it to start with %q", exe, out, w)
		}
	}
}

type entry struct {
	name string
	mode os.FileMode
	data []byte
}

func entryNames(es []entry) []string {
	var n []string
	for _, e := range es {
		n = append(n, e.name)
	}
	return n
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unpack reads a .tar.gz or .zip, checking that every entry has mtime,
// owner 0 and a plain mode (0755 for the directory and the binary).
func unpack(t *testing.T, path string, mtime time.Time) []entry {
	t.Helper()
	var es []entry
	check := func(name string, mode os.FileMode, mod time.Time) {
		want := os.FileMode(0o644)
		if strings.HasSuffix(name, "/") || strings.Contains(filepath.Base(name), "lanchat") {
			want = 0o755
		}
		if mode.Perm() != want {
			t.Errorf("%s: %s mode %v, want %v", filepath.Base(path), name, mode.Perm(), want)
		}
		if !mod.Equal(mtime) {
			t.Errorf("%s: %s time %v, want %v", filepath.Base(path), name, mod, mtime)
		}
	}
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			check(f.Name, f.Mode(), f.Modified)
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			es = append(es, entry{f.Name, f.Mode(), data})
		}
		return es
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		check(h.Name, h.FileInfo().Mode(), h.ModTime)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: %s owner %d:%d (%q:%q), want 0:0 without names", filepath.Base(path), h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, entry{h.Name, h.FileInfo().Mode(), data})
	}
	return es
}
