package main

import (
	"strings"
	"testing"
)

func TestFirewallNote(t *testing.T) {
	for _, goos := range []string{"linux", "freebsd", "openbsd", "android"} {
		if got := firewallNote(goos, "/usr/bin/lanchat", 47101, 44721); got != "" {
			t.Errorf("firewallNote(%s) = %q, want nothing", goos, got)
		}
	}
	win := firewallNote("windows", `C:\lanchat\lanchat.exe`, 47101, 44721)
	wantContains(t, "windows note", win,
		"TCP port 47101 (links) and UDP port 44721 (beacons)",
		"private networks",
		`New-NetFirewallRule -DisplayName "lanchat links" -Direction Inbound -Protocol TCP -LocalPort 47101 -Profile Private -Action Allow`,
		`New-NetFirewallRule -DisplayName "lanchat beacons" -Direction Inbound -Protocol UDP -LocalPort 44721 -Profile Private -Action Allow`)
	mac := firewallNote("darwin", "/Users/a/bin/lanchat", 5000, 5001)
	wantContains(t, "macOS note", mac,
		"TCP port 5000 (links) and UDP port 5001 (beacons)",
		"System Settings > Network > Firewall",
		`socketfilterfw --add "/Users/a/bin/lanchat"`,
		`socketfilterfw --unblockapp "/Users/a/bin/lanchat"`)
	if !strings.HasSuffix(win, "\n") || !strings.HasSuffix(mac, "\n") {
		t.Error("a note must end with a newline")
	}
	// The defaults are the ports a node uses when no flag changes them.
	wantContains(t, "default note", defaultFirewallNote("windows", ""), "TCP port 47101", "UDP port 44721")
	// Linux prints nothing at the first init: the built binary runs here.
	c := newCLI(t)
	dir := t.TempDir() + "/lc"
	r := c.must(0, "init", "--data-dir", dir, "--no-passphrase", "--name", "a")
	if strings.Contains(r.stdout, "Firewall:") {
		t.Errorf("init on linux printed a firewall note:\n%s", r.stdout)
	}
}
