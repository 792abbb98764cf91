package web

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The web UI is one more client of the control API (DESIGN.md): its code
// imports control, never the node or the store behind it.
func TestWebImportsOnlyControl(t *testing.T) {
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, banned := range []string{"chat", "storage", "session", "discovery"} {
				p := "github.com/lanchat/lanchat/" + banned
				if path == p || strings.HasPrefix(path, p+"/") {
					t.Errorf("%s imports %s: the web UI goes through package control only", name, path)
				}
			}
		}
	}
}
