package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const unitFile = "../../contrib/systemd/lanchat.service"

// TestSystemdUnit: contrib/systemd/lanchat.service runs lanchat up with
// flags lanchat takes, keeps its hardening, and passes systemd-analyze
// verify (where systemd-analyze is installed).
func TestSystemdUnit(t *testing.T) {
	data, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(data)
	wantContains(t, unitFile, unit,
		"ExecStart=%h/.local/bin/lanchat up --passphrase-file %h/.config/lanchat/passphrase\n",
		"Environment=LANCHAT_HOME=%h/.local/share/lanchat\n",
		"NoNewPrivileges=yes\n", "PrivateTmp=yes\n", "ProtectSystem=strict\n",
		"ProtectHome=read-only\n", "ReadWritePaths=%h/.local/share/lanchat\n",
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK\n",
		"LockPersonality=yes\n", "MemoryDenyWriteExecute=yes\n", "RestrictRealtime=yes\n",
		"SystemCallArchitectures=native\n", "Restart=on-failure\n", "WantedBy=default.target\n",
		"ExecStart=%h/.local/bin/lanchat up\n") // the no-passphrase override

	// The command line parses: lanchat up takes those flags.
	var execStart string
	for _, l := range strings.Split(unit, "\n") {
		if strings.HasPrefix(l, "ExecStart=%h") {
			execStart = strings.TrimPrefix(l, "ExecStart=%h/.local/bin/lanchat ")
			break
		}
	}
	c := newCLI(t)
	args := append(strings.Fields(strings.ReplaceAll(execStart, "%h", t.TempDir())), "--help")
	c.must(0, args...)

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit is not verified (it is on any systemd machine: systemd-analyze --user verify contrib/systemd/lanchat.service)")
	}
	// The unit as installed, with the binary under test where it expects lanchat.
	dir := t.TempDir()
	path := filepath.Join(dir, "lanchat.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "%h/.local/bin/lanchat", lanchatBin)), 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func(mode ...string) (string, error) {
		cmd := exec.Command(analyze, append(mode, "verify", "--man=no", path)...)
		// A user manager of its own: no session or bus needed.
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := verify("--user")
	if strings.Contains(out, "Failed to initialize manager") {
		t.Logf("systemd-analyze --user cannot start here (%s); verifying in system mode", strings.TrimSpace(out))
		out, err = verify()
	}
	// verify exits 0 on an unknown key or a bad value, but says so.
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unitFile, err, out)
	}
}
