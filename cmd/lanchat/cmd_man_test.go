package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// manFile is the committed man page.
const manFile = "../../doc/lanchat.1"

// TestManPageCurrent fails when doc/lanchat.1 is not what the help texts
// make now: a help text or flag changed and the page was not regenerated.
func TestManPageCurrent(t *testing.T) {
	committed, err := os.ReadFile(manFile)
	if err != nil {
		t.Fatal(err)
	}
	got := manPage(cliModel())
	if string(committed) != got {
		t.Errorf("%s is out of date with the help texts; run: make man (or go run ./cmd/lanchat man > doc/lanchat.1)\n%s", manFile, firstDiff(string(committed), got))
	}
	// The binary prints the same page, whatever its environment.
	c := newCLI(t, envHome+"=/somewhere", envDiscoveryAddr+"=10.0.0.255")
	if r := c.must(0, "man"); r.stdout != got {
		t.Errorf("lanchat man differs from the generator:\n%s", firstDiff(got, r.stdout))
	}
}

// TestManPageNamesEverything: every command and each of its flags has its
// place in the page.
func TestManPageNamesEverything(t *testing.T) {
	page := manPage(cliModel())
	for _, c := range cliModel().commands {
		if c.helpOnly {
			continue
		}
		i := strings.Index(page, "\n.SS \""+roff(c.name)+` \- `+roff(c.summary)+"\"\n")
		if i < 0 {
			t.Errorf("no section for %s", c.name)
			continue
		}
		part := page[i+1:]
		if j := strings.Index(part[4:], "\n.S"); j > 0 {
			part = part[:j+4]
		}
		for _, f := range c.flags {
			if !strings.Contains(part, `\fB\-\-`+roff(f.name)+`\fR`) {
				t.Errorf("section %s: no --%s", c.name, f.name)
			}
		}
		wantContains(t, "section "+c.name, part, roff(c.help.synopsis))
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff is not installed: the page is not typeset")
	}
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = strings.NewReader(page)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff -man -ww: %v\n%s", err, out)
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n- " + x + "\n+ " + y
		}
	}
	return ""
}
