//go:build linux

package lab

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// maxBridges bounds the subnets of one lab (10.x.y.0/24, 10.x.y+1.0/24, ...).
const maxBridges = 16

// A Lab is one simulated LAN: a switch namespace holding bridges, and hosts
// cabled into them. Create it with New; it is torn down when the test ends.
type Lab struct {
	t    testing.TB
	id   string // lclab-<pid>-<hex>: the prefix of all its namespaces
	sw   string // the switch namespace
	netX byte   // subnets are 10.netX.(netY+i).0/24
	netY byte

	mu      sync.Mutex
	spaces  []string // namespaces created, in order
	bridges []*Bridge
	hosts   map[string]*Host
	cmds    []*exec.Cmd // handed out by Host.Command; started ones are killed at Close
	closed  bool
}

// New creates an empty lab (a switch namespace and nothing else) for the
// test, and deletes everything in it when the test ends, even if it fails.
// It skips the test when labs cannot run here (not root, no "ip netns").
func New(t testing.TB) *Lab {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("lab: skipped, multi-host tests need root and iproute2's 'ip netns' (CI runs as root; make tools installs iproute2): %v", err)
	}
	id, err := newRunID()
	if err != nil {
		t.Fatal(err)
	}
	l := &Lab{t: t, id: id, sw: id + "-" + switchRole, hosts: map[string]*Host{},
		netX: byte(64 + rand.IntN(128)), netY: byte(rand.IntN(256 - maxBridges))}
	register(l)
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("lab cleanup: %v", err)
		}
	})
	if err := l.addNamespace(l.sw); err != nil {
		t.Fatal(err)
	}
	return l
}

// ID returns the prefix of the lab's namespace names.
func (l *Lab) ID() string { return l.id }

// SwitchNS returns the name of the namespace that holds the bridges.
func (l *Lab) SwitchNS() string { return l.sw }

// addNamespace creates a namespace and remembers it for Close.
func (l *Lab) addNamespace(name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("lab: already closed")
	}
	if err := addNetns(name); err != nil {
		return err
	}
	l.spaces = append(l.spaces, name)
	return nil
}

// Namespaces returns the names of the namespaces the lab has created and
// not yet deleted.
func (l *Lab) Namespaces() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.spaces...)
}

// Close kills what still runs in the lab's namespaces and deletes them
// (hosts first, then the switch). It is safe to call more than once.
func (l *Lab) Close() error {
	l.mu.Lock()
	spaces := l.spaces
	cmds := l.cmds
	l.spaces, l.cmds, l.closed = nil, nil, true
	l.mu.Unlock()
	defer unregister(l)
	// A command started just before Close may not have entered its namespace
	// yet ("ip netns exec" switches after fork), so a scan of the namespace
	// misses it: kill what the lab handed out by its own PID first.
	for _, c := range cmds {
		if c.Process != nil { // Kill after Wait is a no-op (os.ErrProcessDone)
			_ = c.Process.Kill()
		}
	}
	var errs []error
	for i := len(spaces) - 1; i >= 0; i-- {
		if err := delNetns(spaces[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if left := l.leftovers(); len(left) > 0 {
		errs = append(errs, fmt.Errorf("lab: namespaces still present after cleanup: %v", left))
	}
	return errors.Join(errs...)
}

// leftovers lists the namespaces that still carry the lab's id.
func (l *Lab) leftovers() []string {
	names, err := listNetns()
	if err != nil {
		return []string{err.Error()}
	}
	var left []string
	for _, n := range names {
		if strings.HasPrefix(n, l.id+"-") {
			left = append(left, n)
		}
	}
	return left
}

// subnet returns the lab's i-th /24.
func (l *Lab) subnet(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, l.netX, l.netY + byte(i), 0}), 24)
}

var avail struct {
	once sync.Once
	err  error
}

// Available reports why labs cannot run here, or nil if they can: it needs
// root and a working "ip netns" (checked once by creating and deleting a
// namespace).
func Available() error {
	avail.once.Do(func() { avail.err = probe() })
	return avail.err
}

func probe() error {
	if os.Geteuid() != 0 {
		return errors.New("not running as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("no ip command: %w", err)
	}
	id, err := newRunID()
	if err != nil {
		return err
	}
	name := id + "-probe"
	if err := addNetns(name); err != nil {
		_ = delNetns(name)
		return fmt.Errorf("cannot create a network namespace: %w", err)
	}
	return delNetns(name)
}
