//go:build linux

package lab

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// A Host is one simulated machine: a network namespace with an interface
// per bridge it is cabled into.
type Host struct {
	lab    *Lab
	Name   string   // as given to Lab.Host
	NS     string   // its namespace: lclab-<pid>-<hex>-h-<name>
	Ifaces []*Iface // eth0, eth1, ... in the order of the bridges
}

// An Iface is one network interface of a host, one end of a veth pair whose
// other end (the port) is attached to a bridge in the switch namespace.
type Iface struct {
	Name   string       // in the host: eth0, eth1, ...
	Port   string       // the other end, in the switch namespace
	Addr   netip.Prefix // the host's address and mask on it
	Bridge *Bridge
}

// Host creates a host cabled into each of the bridges (at least one), with
// the next free address of each bridge's subnet.
func (l *Lab) Host(name string, bridges ...*Bridge) *Host {
	l.t.Helper()
	h, err := l.addHost(name, bridges)
	if err != nil {
		l.t.Fatal(err)
	}
	return h
}

func (l *Lab) addHost(name string, bridges []*Bridge) (*Host, error) {
	if err := checkHostName(name); err != nil {
		return nil, err
	}
	if len(bridges) == 0 {
		return nil, fmt.Errorf("lab: host %s: no bridge to cable it into", name)
	}
	l.mu.Lock()
	_, dup := l.hosts[name]
	h := &Host{lab: l, Name: name, NS: l.id + "-" + hostRole + name}
	if !dup {
		l.hosts[name] = h
	}
	l.mu.Unlock()
	if dup {
		return nil, fmt.Errorf("lab: host %s exists", name)
	}
	if err := l.addNamespace(h.NS); err != nil {
		return nil, err
	}
	for _, b := range bridges {
		if err := h.cable(b); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// cable adds an interface to the host and plugs it into b. The veth pair is
// created inside the host's namespace and its peer moved straight into the
// switch namespace: neither end ever exists in the root namespace.
func (h *Host) cable(b *Bridge) error {
	addr, err := b.nextAddr()
	if err != nil {
		return err
	}
	i := len(h.Ifaces)
	ifc := &Iface{Name: fmt.Sprintf("eth%d", i), Port: fmt.Sprintf("v-%s%d", h.Name, i), Addr: addr, Bridge: b}
	sw := h.lab.sw
	steps := []struct {
		ns   string
		args []string
	}{
		{h.NS, []string{"link", "add", ifc.Name, "type", "veth", "peer", "name", ifc.Port, "netns", sw}},
		{sw, []string{"link", "set", ifc.Port, "master", b.Name, "up"}},
		{h.NS, []string{"addr", "add", addr.String(), "broadcast", b.Broadcast().String(), "dev", ifc.Name}},
		{h.NS, []string{"link", "set", ifc.Name, "up"}},
	}
	for _, s := range steps {
		if err := ipIn(s.ns, s.args...); err != nil {
			return fmt.Errorf("lab: cabling %s into %s: %w", h.Name, b.Name, err)
		}
	}
	h.Ifaces = append(h.Ifaces, ifc)
	return nil
}

// Addr returns the host's address on its first interface.
func (h *Host) Addr() netip.Addr { return h.Ifaces[0].Addr.Addr() }

// On returns the host's interface on bridge b, or nil.
func (h *Host) On(b *Bridge) *Iface {
	for _, ifc := range h.Ifaces {
		if ifc.Bridge == b {
			return ifc
		}
	}
	return nil
}

// LinkDown pulls the host's cables: the switch ends of all its interfaces go
// down, so nothing passes until LinkUp. The host keeps its addresses, as a
// machine whose cable is pulled does.
func (h *Host) LinkDown() error { return h.setPorts("down") }

// LinkUp plugs the host's cables back in.
func (h *Host) LinkUp() error { return h.setPorts("up") }

func (h *Host) setPorts(state string) error {
	for _, ifc := range h.Ifaces {
		if err := ipIn(h.lab.sw, "link", "set", ifc.Port, state); err != nil {
			return err
		}
	}
	return nil
}

// EnableForwarding makes the host a router between its interfaces.
func (h *Host) EnableForwarding() error {
	return h.Do(func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644)
	})
}

// AddRoute sends traffic for dst through the gateway via.
func (h *Host) AddRoute(dst netip.Prefix, via netip.Addr) error {
	return ipIn(h.NS, "route", "add", dst.String(), "via", via.String())
}

// Do runs fn inside the host's namespace: sockets it opens are the host's.
func (h *Host) Do(fn func() error) error { return inNetns(h.NS, fn) }

// Shape limits what the host sends on each of its interfaces to rate (tc's
// notation, e.g. "200mbit"): a token bucket, as a slower network card
// would. The lab's namespaces go with the shaping.
func (h *Host) Shape(rate string) error {
	for _, ifc := range h.Ifaces {
		ctx, cancel := context.WithTimeout(context.Background(), ipTimeout)
		out, err := h.Command(ctx, "tc", "qdisc", "replace", "dev", ifc.Name, "root", "tbf",
			"rate", rate, "burst", "256kb", "latency", "100ms").CombinedOutput()
		cancel()
		if err != nil {
			return fmt.Errorf("shaping %s of %s to %s: %w: %s", ifc.Name, h.Name, rate, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// Command returns a command that runs name inside the host's namespace
// ("ip netns exec"). The process is killed when the lab closes, and if the
// test process dies.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	h.lab.mu.Lock()
	h.lab.cmds = append(h.lab.cmds, cmd)
	h.lab.mu.Unlock()
	return cmd
}
