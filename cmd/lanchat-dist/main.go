// Command lanchat-dist builds the release archives of lanchat into one
// directory: for every target a lanchat binary (lanchat.exe on Windows)
// with README.md, as a .tar.gz (a .zip for Windows), and SHA256SUMS over
// the archives. "make dist" runs it with the version from git describe.
//
// The output is reproducible: the same source, Go version, version and
// commit give the same bytes on any machine. The binaries are built with
// CGO_ENABLED=0, -trimpath and -buildvcs=false (the commit goes in with
// -X main.commit instead), and the archives are written here, not by the
// host's tar or zip: entries in a fixed order, owner 0, fixed modes, and
// every time set to SOURCE_DATE_EPOCH (default 1980-01-01).
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	var c config
	flag.StringVar(&c.out, "out", "dist", "the directory to write the archives and SHA256SUMS into")
	flag.StringVar(&c.version, "version", "dev", "the version lanchat --version prints, also in the archive names")
	flag.StringVar(&c.commit, "commit", "", "the commit lanchat --version prints")
	flag.StringVar(&c.root, "root", ".", "the module root")
	flag.StringVar(&c.goCmd, "go", "go", "the go command")
	targets := flag.String("targets", strings.Join(releaseTargets, ","), "comma-separated GOOS/GOARCH list")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "lanchat-dist: no arguments expected; see -help")
		os.Exit(2)
	}
	c.targets = strings.Split(*targets, ",")
	var err error
	if c.mtime, err = sourceDate(os.Getenv("SOURCE_DATE_EPOCH")); err != nil {
		fmt.Fprintln(os.Stderr, "lanchat-dist:", err)
		os.Exit(2)
	}
	names, err := dist(c, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lanchat-dist:", err)
		os.Exit(1)
	}
	for _, n := range names {
		fmt.Println(n)
	}
}
