//go:build unix

package webdriver

import (
	"os/exec"
	"syscall"
)

// ownGroup puts chromedriver in a process group of its own, so that Close
// stops the browsers it started too.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// signalGroup sends sig to the group of the process with this pid.
func signalGroup(pid int, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	syscall.Kill(-pid, sig)
}
