//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/lanchat/lanchat/chat"
	"github.com/lanchat/lanchat/control"
	lcrypto "github.com/lanchat/lanchat/crypto"
)

// mdnsTimes are the mDNS figure's measurements.
type mdnsTimes struct{ listed, linked []time.Duration }

// runMDNS: discovery by mDNS alone. Two network namespaces of this run,
// cabled by a veth pair (10.250.x.1 and .2: nothing of this machine's
// network is touched), each with the real binary (lanchat up
// --discovery-iface eth0); the two use different beacon ports, so they
// never hear each other's beacons and only mDNS can bring them together.
// It times node start → listed by the running peer and → link up.
func runMDNS(ctx context.Context, b *bench) ([]row, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root (network namespaces)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, errors.New("needs the ip command (iproute2)")
	}
	nsA, nsB, err := mdnsNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	defer delNetns(nsA, nsB)
	b.note("# discovery by mDNS alone: two network namespaces on a veth pair; lanchat up --discovery-iface eth0 --beacon-port P1 (P2 for the other), so beacons never meet")
	dir, err := b.dir("mdns")
	if err != nil {
		return nil, err
	}
	aID, err := newIdentity()
	if err != nil {
		return nil, err
	}
	aHome := filepath.Join(dir, "a")
	if err := os.MkdirAll(aHome, 0o700); err != nil {
		return nil, err
	}
	db, err := makeDataDir(aHome, aID)
	if err != nil {
		return nil, err
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	a, err := startUp(b.binary, nsA, aHome, "44801")
	if err != nil {
		return nil, err
	}
	defer a.kill()
	cl, err := waitControl(ctx, aHome)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	events, err := cl.Subscribe(ctx)
	if err != nil {
		return nil, err
	}
	var t mdnsTimes
	for i := range b.size.discTrials + 1 { // trial 0: warm-up (namespaces, caches), not counted
		if i == 1 {
			t = mdnsTimes{}
		}
		if err := mdnsTrial(ctx, b, cl, events, aID.Public(), dir, nsB, i, &t); err != nil {
			return nil, fmt.Errorf("trial %d: %w", i, err)
		}
	}
	k := len(t.listed)
	worst := func(what string, ds []time.Duration) string {
		return fmt.Sprintf("discovery by mDNS alone: %s (worst of %d; median %s ms)", what, k, sig3(ms(median(ds))))
	}
	within := func(limit time.Duration) check { return func(l, _ float64) bool { return l <= ms(limit) } }
	return []row{
		alone(worst("node start → listed by the running peer", t.listed), measure{ms(maxDuration(t.listed)), "ms", ""}, "≤ 2 s", within(2*time.Second)),
		alone(worst("node start → link up", t.linked), measure{ms(maxDuration(t.linked)), "ms", ""}, "≤ 2.5 s", within(2500*time.Millisecond)),
	}, nil
}

// mdnsTrial starts a new node in nsB, times how soon the node in the other
// namespace lists it (by mDNS) and links with it, then stops it.
func mdnsTrial(ctx context.Context, b *bench, cl *control.Client, events <-chan chat.Event, aKey lcrypto.IdentityKey, dir, nsB string, i int, t *mdnsTimes) error {
	id, err := newIdentity()
	if err != nil {
		return err
	}
	fp := id.Fingerprint().String()
	home := filepath.Join(dir, "b"+strconv.Itoa(i))
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	db, err := makeDataDir(home, id, aKey)
	if err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	if _, err := cl.Trust(ctx, control.FingerprintParams{Fingerprint: fp}); err != nil {
		return err
	}
	start := time.Now()
	n, err := startUp(b.binary, nsB, home, "44802")
	if err != nil {
		return err
	}
	defer n.kill()
	err = waitUntil(ctx, 20*time.Second, 5*time.Millisecond, "listed by mDNS", func() bool {
		peers, err := cl.Peers(ctx)
		if err != nil {
			return false
		}
		for _, p := range peers {
			if p.Fingerprint == fp && p.Via == "mdns" {
				return true
			}
		}
		return false
	})
	if err != nil {
		return err
	}
	t.listed = append(t.listed, time.Since(start))
	if err := waitPeerEvent(ctx, events, chat.EventPeerUp, fp, 20*time.Second); err != nil {
		return err
	}
	t.linked = append(t.linked, time.Since(start))
	n.stop()
	if err := waitPeerEvent(ctx, events, chat.EventPeerDown, fp, 20*time.Second); err != nil {
		return err
	}
	_, err = cl.Untrust(ctx, fp)
	return err
}

func waitPeerEvent(ctx context.Context, events <-chan chat.Event, kind chat.EventKind, fp string, within time.Duration) error {
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return errors.New("the node's events ended")
			}
			if ev.Kind == kind && ev.Peer != nil && ev.Peer.Fingerprint == fp {
				return nil
			}
		case <-timer.C:
			return fmt.Errorf("no %s event for %s within %v", kind, fp[:7], within)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// upProc is a lanchat up in a namespace.
type upProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startUp runs lanchat up in namespace ns ("ip netns exec" execs it: the
// PID is lanchat's).
func startUp(binary, ns, home, beaconPort string) (*upProc, error) {
	cmd := exec.Command("ip", "netns", "exec", ns, binary, "up", "--discovery-iface", "eth0", "--beacon-port", beaconPort)
	cmd.Env = childEnv(home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting lanchat up in %s: %w", ns, err)
	}
	p := &upProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM (lanchat says goodbye and bye) and waits, at most 15 s.
func (p *upProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.kill()
	}
}

func (p *upProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// waitControl waits for the node's control socket in home.
func waitControl(ctx context.Context, home string) (*control.Client, error) {
	var cl *control.Client
	err := waitUntil(ctx, 20*time.Second, 10*time.Millisecond, "the node's control socket", func() bool {
		c, err := control.Dial(ctx, control.SocketPath(home))
		if err != nil {
			return false
		}
		cl = c
		return true
	})
	return cl, err
}

// mdnsNamespaces makes two namespaces of this run on a veth pair.
func mdnsNamespaces(ctx context.Context) (string, string, error) {
	var r [3]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", "", err
	}
	base := fmt.Sprintf("lcbench-%d-%s", os.Getpid(), hex.EncodeToString(r[:]))
	a, b := base+"-a", base+"-b"
	net := fmt.Sprintf("10.250.%d.", r[0])
	steps := [][]string{
		{"netns", "add", a}, {"netns", "add", b},
		{"-n", a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b},
		{"-n", a, "addr", "add", net + "1/24", "dev", "eth0"}, {"-n", b, "addr", "add", net + "2/24", "dev", "eth0"},
		{"-n", a, "link", "set", "eth0", "up"}, {"-n", b, "link", "set", "eth0", "up"},
		{"-n", a, "link", "set", "lo", "up"}, {"-n", b, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if out, err := exec.CommandContext(ctx, "ip", s...).CombinedOutput(); err != nil {
			delNetns(a, b)
			return "", "", fmt.Errorf("ip %v: %w: %s", s, err, out)
		}
	}
	return a, b, nil
}

// delNetns deletes the run's namespaces (their processes are stopped
// before, by PID).
func delNetns(names ...string) {
	for _, n := range names {
		_ = exec.Command("ip", "netns", "del", n).Run()
	}
}
