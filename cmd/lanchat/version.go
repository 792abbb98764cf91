package main

import (
	"runtime"
	"runtime/debug"
)

// version is set at release builds: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

// versionString is what lanchat --version prints: the version, the commit
// it was built from when known, and the Go version.
func versionString() string {
	s := "lanchat " + version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range info.Settings {
			if kv.Key == "vcs.revision" && len(kv.Value) >= 12 {
				s += " (" + kv.Value[:12] + ")"
			}
		}
	}
	return s + " " + runtime.Version()
}
