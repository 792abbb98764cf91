//go:build linux

package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// netnsDir is where "ip netns" keeps its named namespaces.
const netnsDir = "/run/netns"

// addNetns creates a named namespace with its loopback up.
func addNetns(name string) error {
	if _, err := ipCmd("netns", "add", name); err != nil {
		return err
	}
	return ipIn(name, "link", "set", "lo", "up")
}

// delNetns kills the processes left in a namespace and deletes it. Deleting
// the namespace removes its interfaces, and with them the other ends of their
// veth pairs.
func delNetns(name string) error {
	killNetnsProcs(name)
	_, err := ipCmd("netns", "del", name)
	return err
}

// netnsPids lists the processes running in a namespace.
func netnsPids(name string) []int {
	out, err := ipCmd("netns", "pids", name)
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killNetnsProcs SIGKILLs, by pid, every process in a lab namespace: only
// lanchat processes a lab started run there.
func killNetnsProcs(name string) {
	for _, pid := range netnsPids(name) {
		if pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// listNetns returns the names of the namespaces "ip netns" knows.
func listNetns() ([]string, error) {
	ents, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lab: listing namespaces: %w", err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}

// SweepLeftovers deletes the namespaces of earlier lab runs whose process is
// gone (a run killed before its cleanup), with any process still in them.
// It returns the names it deleted.
func SweepLeftovers() ([]string, error) {
	names, err := listNetns()
	if err != nil {
		return nil, err
	}
	var deleted []string
	var errs []error
	for _, ns := range names {
		pid, ok := ownerPID(ns)
		if !ok || pidAlive(pid) {
			continue
		}
		if err := delNetns(ns); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, ns)
	}
	return deleted, errors.Join(errs...)
}

// inNetns runs fn on an OS thread switched into the named namespace.
// Sockets fn opens belong to that namespace for their whole life, wherever
// they are used afterwards. fn must not start goroutines that open sockets.
func inNetns(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is unlocked only if it is back in its own namespace;
		// otherwise it ends with this goroutine.
		errc <- runOnLockedThread(filepath.Join(netnsDir, name), fn)
	}()
	return <-errc
}

// runOnLockedThread is inNetns's body; the caller has locked the thread,
// and it is unlocked here unless it could not be switched back.
func runOnLockedThread(path string, fn func() error) error {
	home := true // the thread is in its own namespace
	defer func() {
		if home {
			runtime.UnlockOSThread()
		}
	}()
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return fmt.Errorf("lab: own namespace: %w", err)
	}
	defer orig.Close()
	target, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("lab: namespace: %w", err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("lab: entering %s: %w", path, err)
	}
	home = false
	ferr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("lab: leaving %s: %w", path, err)
	}
	home = true
	return ferr
}
