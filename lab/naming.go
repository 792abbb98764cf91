//go:build linux

package lab

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"syscall"
)

// Prefix starts the name of every namespace a lab creates.
const Prefix = "lclab-"

// Names of the roles inside a lab's namespace names.
const (
	switchRole = "switch" // the namespace that holds the bridges
	hostRole   = "h-"     // hosts: lclab-<pid>-<hex>-h-<name>
)

// maxHostName keeps interface names (at most 15 bytes) built from host
// names valid: "v-" + name + index.
const maxHostName = 10

var (
	hostNameRE = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	// labNameRE matches a lab namespace and captures its owner's pid.
	labNameRE = regexp.MustCompile(`^` + regexp.QuoteMeta(Prefix) + `([0-9]+)-[0-9a-f]+-`)
)

// newRunID returns "lclab-<pid>-<6 hex>": unique per lab, owned by this pid.
func newRunID() (string, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("lab: random id: %w", err)
	}
	return fmt.Sprintf("%s%d-%s", Prefix, os.Getpid(), hex.EncodeToString(b[:])), nil
}

// checkHostName refuses names that would not make valid interface names.
func checkHostName(name string) error {
	if len(name) > maxHostName || !hostNameRE.MatchString(name) {
		return fmt.Errorf("lab: host name %q: want 1 to %d lowercase letters and digits, starting with a letter", name, maxHostName)
	}
	return nil
}

// ownerPID returns the pid in a lab namespace name, or false if the name is
// not one of ours.
func ownerPID(ns string) (int, bool) {
	m := labNameRE.FindStringSubmatch(ns)
	if m == nil {
		return 0, false
	}
	pid, err := strconv.Atoi(m[1])
	return pid, err == nil && pid > 0
}

// pidAlive reports whether a process with that pid exists.
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
