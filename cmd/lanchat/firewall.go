package main

import (
	"fmt"

	"github.com/lanchat/lanchat/control"
	"github.com/lanchat/lanchat/discovery"
)

// firewallNote is what a user on goos has to do, once, so that the
// system's firewall lets peers in: links arrive on TCP port tcpPort and
// beacons on UDP port udpPort; exe is the lanchat program. On Linux and the
// other Unix systems lanchat says nothing: their firewalls are set up by
// whoever set them up (README: Firewall).
func firewallNote(goos, exe string, tcpPort, udpPort int) string {
	if exe == "" {
		exe = "lanchat"
	}
	switch goos {
	case "windows":
		return fmt.Sprintf(`Firewall: peers reach you on TCP port %[1]d (links) and UDP port %[2]d (beacons)
(the defaults; --port and --beacon-port change them).
When Windows Defender Firewall asks on the first lanchat up or lanchat chat,
allow lanchat on private networks only. Or, once, in an administrator PowerShell:
  New-NetFirewallRule -DisplayName "lanchat links" -Direction Inbound -Protocol TCP -LocalPort %[1]d -Profile Private -Action Allow
  New-NetFirewallRule -DisplayName "lanchat beacons" -Direction Inbound -Protocol UDP -LocalPort %[2]d -Profile Private -Action Allow
`, tcpPort, udpPort)
	case "darwin":
		return fmt.Sprintf(`Firewall: peers reach you on TCP port %[1]d (links) and UDP port %[2]d (beacons)
(the defaults; --port and --beacon-port change them).
If the macOS firewall is on (System Settings > Network > Firewall), click
Allow when it asks on the first lanchat up or lanchat chat. Or, once:
  sudo /usr/libexec/ApplicationFirewall/socketfilterfw --add %[3]q
  sudo /usr/libexec/ApplicationFirewall/socketfilterfw --unblockapp %[3]q
`, tcpPort, udpPort, exe)
	}
	return ""
}

// defaultFirewallNote is firewallNote for this system, the running
// program and the default ports (init has no port flags).
func defaultFirewallNote(goos, exe string) string {
	return firewallNote(goos, exe, control.DefaultPort, discovery.DefaultPort)
}
