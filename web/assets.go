package web

import (
	"embed"
	"net/http"
	"path"
)

// assets are the page's files, built into the binary: no third-party
// asset, no build step.
//
//go:embed assets
var assets embed.FS

// contentTypes are the types of the assets, by extension.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// asset serves one embedded file.
func (s *Server) asset(name string) http.HandlerFunc {
	body, err := assets.ReadFile("assets/" + name)
	if err != nil {
		panic("web: missing asset " + name) // a build without its assets
	}
	ctype := contentTypes[path.Ext(name)]
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Write(body)
	}
}
