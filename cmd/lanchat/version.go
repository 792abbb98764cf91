package main

import (
	"runtime"
	"runtime/debug"
)

// version and commit are set at release builds (make dist):
//
//	go build -trimpath -buildvcs=false -ldflags "-X main.version=v1.2.3 -X main.commit=<hash>"
//
// A release build leaves the VCS stamp out (-buildvcs=false) so that its
// bytes depend on the source alone, and passes the commit here instead.
var (
	version = "dev"
	commit  = ""
)

// versionString is what lanchat --version prints: the version, the commit
// it was built from when known (main.commit, else the VCS stamp of a plain
// go build), and the Go version.
func versionString() string {
	s := "lanchat " + version
	rev := commit
	if rev == "" {
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, kv := range info.Settings {
				if kv.Key == "vcs.revision" {
					rev = kv.Value
				}
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		s += " (" + rev + ")"
	}
	return s + " " + runtime.Version()
}
