package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// releaseTargets are the GOOS/GOARCH pairs a release ships.
var releaseTargets = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64"}

type config struct {
	out     string    // the directory to write into
	version string    // -X main.version, and part of every archive name
	commit  string    // -X main.commit
	root    string    // the module root, where ./cmd/lanchat and README.md are
	goCmd   string    // the go command
	targets []string  // GOOS/GOARCH
	mtime   time.Time // the time of every archive entry
}

// defaultDate is the archive time without SOURCE_DATE_EPOCH: the earliest
// a zip (MS-DOS) time can hold.
var defaultDate = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// sourceDate parses SOURCE_DATE_EPOCH (seconds since 1970, UTC).
func sourceDate(s string) (time.Time, error) {
	if s == "" {
		return defaultDate, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: not a number of seconds", s)
	}
	t := time.Unix(n, 0).UTC()
	if t.Before(defaultDate) {
		t = defaultDate
	}
	return t, nil
}

// archiveName is the file name of the archive for target (GOOS/GOARCH).
func archiveName(version, target string) string {
	goos, goarch, _ := strings.Cut(target, "/")
	ext := ".tar.gz"
	if goos == "windows" {
		ext = ".zip"
	}
	return "lanchat_" + version + "_" + goos + "_" + goarch + ext
}

// dist builds every target, writes its archive and then SHA256SUMS into
// c.out, and returns the names of the files it wrote. go build's own
// output goes to log.
func dist(c config, log io.Writer) ([]string, error) {
	if c.version == "" || strings.ContainsAny(c.version, `/\ `) {
		return nil, fmt.Errorf("version %q: must be non-empty, without slashes or spaces", c.version)
	}
	readme, err := os.ReadFile(filepath.Join(c.root, "README.md"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "lanchat-dist-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	var sums bytes.Buffer
	var names []string
	targets := slices.Clone(c.targets)
	slices.Sort(targets)
	for _, target := range targets {
		goos, goarch, ok := strings.Cut(target, "/")
		if !ok || !slices.Contains(releaseTargets, target) {
			return nil, fmt.Errorf("target %q: not one of %s", target, strings.Join(releaseTargets, ", "))
		}
		exe := "lanchat"
		if goos == "windows" {
			exe += ".exe"
		}
		bin := filepath.Join(tmp, goos+"_"+goarch, exe)
		if err := build(c, goos, goarch, bin, log); err != nil {
			return nil, fmt.Errorf("%s: %w", target, err)
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			return nil, err
		}
		name := archiveName(c.version, target)
		prefix := strings.TrimSuffix(strings.TrimSuffix(name, ".zip"), ".tar.gz")
		files := []file{{exe, 0o755, data}, {"README.md", 0o644, readme}}
		var archive bytes.Buffer
		if goos == "windows" {
			err = writeZip(&archive, prefix, files, c.mtime)
		} else {
			err = writeTarGz(&archive, prefix, files, c.mtime)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(c.out, name), archive.Bytes(), 0o644); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(archive.Bytes())
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
		names = append(names, name)
	}
	if err := os.WriteFile(filepath.Join(c.out, "SHA256SUMS"), sums.Bytes(), 0o644); err != nil {
		return nil, err
	}
	return append(names, "SHA256SUMS"), nil
}

// build runs go build for one target. Everything that could make two
// builds of the same source differ is fixed here rather than taken from
// the environment: cgo off, paths trimmed, no VCS stamp, no build id, the
// baseline instruction sets.
func build(c config, goos, goarch, out string, log io.Writer) error {
	ldflags := "-s -w -buildid= -X main.version=" + c.version + " -X main.commit=" + c.commit
	cmd := exec.Command(c.goCmd, "build", "-o", out, "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "./cmd/lanchat")
	cmd.Dir = c.root
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch,
		"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=", "GOEXPERIMENT=")
	cmd.Stdout = log
	cmd.Stderr = log
	return cmd.Run()
}

// file is one entry of an archive, under the archive's top directory.
type file struct {
	name string
	mode fs.FileMode
	data []byte
}

// writeTarGz writes prefix/ and files under it as a gzipped tar: ustar
// headers, owner 0 without names, every time mtime, no gzip name or time.
func writeTarGz(w io.Writer, prefix string, files []file, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	hdr := &tar.Header{Typeflag: tar.TypeDir, Name: prefix + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatUSTAR}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	for _, f := range files {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg, Name: prefix + "/" + f.name, Mode: int64(f.mode.Perm()),
			Size: int64(len(f.data)), ModTime: mtime, Format: tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// writeZip writes prefix/ and files under it as a zip: Unix modes, every
// time mtime (UTC), files deflated.
func writeZip(w io.Writer, prefix string, files []file, mtime time.Time) error {
	zw := zip.NewWriter(w)
	dir := &zip.FileHeader{Name: prefix + "/", Method: zip.Store, Modified: mtime.UTC()}
	dir.SetMode(fs.ModeDir | 0o755)
	if _, err := zw.CreateHeader(dir); err != nil {
		return err
	}
	for _, f := range files {
		hdr := &zip.FileHeader{Name: prefix + "/" + f.name, Method: zip.Deflate, Modified: mtime.UTC()}
		hdr.SetMode(f.mode.Perm())
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.data); err != nil {
			return err
		}
	}
	return zw.Close()
}
