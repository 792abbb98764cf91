package discovery

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Environment of the helper process that runs one node inside a namespace.
const (
	netnsEnvNode = "LANCHAT_NETNS_NODE" // index of the node
	netnsEnvPort = "LANCHAT_NETNS_PORT" // beacon port
	netnsEnvWant = "LANCHAT_NETNS_WANT" // comma-separated hex keys to wait for
	netnsNodes   = 3
	netnsSubnet  = "10.213.0." // inside the test's own namespaces only
)

// Nodes in separate network namespaces on one bridge find each other by
// real directed broadcast (10.213.0.255, computed from the pinned
// interface), and each sees the others at their own source addresses.
func TestNetnsDirectedBroadcast(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the network namespace test")
	}
	if os.Geteuid() != 0 {
		t.Skip("network namespace test needs root (to create namespaces, veths and a bridge)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network namespace test needs the ip command (iproute2)")
	}
	names := netnsLab(t)
	port := 40000 + int(randByte(t))*64
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	procs := make([]*netnsProc, netnsNodes)
	for i := range procs {
		procs[i] = startNetnsNode(ctx, t, names[i], i, port)
	}
	for i, p := range procs {
		saw := p.waitReady(t)
		for j := range netnsNodes {
			if j == i {
				continue
			}
			key := hex.EncodeToString(testIdentity(t, byte(j+1)).Public().Bytes())
			want := fmt.Sprintf("%s%d:%d", netnsSubnet, j+1, 7000+j)
			if saw[key] != want {
				t.Errorf("node %d saw node %d at %q, want %q (all: %v)", i, j, saw[key], want, saw)
			}
		}
	}
	for _, p := range procs {
		p.stop(t)
	}
}

// TestNetnsHelper is the node process of TestNetnsDirectedBroadcast; run
// alone it does nothing.
func TestNetnsHelper(t *testing.T) {
	idx := os.Getenv(netnsEnvNode)
	if idx == "" {
		t.Skip("helper of TestNetnsDirectedBroadcast")
	}
	var i, port int
	fmt.Sscan(idx, &i)
	fmt.Sscan(os.Getenv(netnsEnvPort), &port)
	cfg := DefaultConfig()
	cfg.Identity = testIdentity(t, byte(i+1))
	cfg.Port, cfg.Iface, cfg.TCPPort = port, "eth0", uint16(7000+i)
	cfg.Interval = 100 * time.Millisecond
	n := startNode(t, cfg)
	want := strings.Split(os.Getenv(netnsEnvWant), ",")
	waitFor(t, 20*time.Second, "every other node", func() bool { return len(n.Peers()) == len(want) })
	for _, p := range n.Peers() {
		fmt.Printf("saw %x %v\n", p.Key[:], p.Addr)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // run until the parent closes stdin
}

// netnsLab creates a bridge namespace and netnsNodes node namespaces, each
// with eth0 (10.213.0.i+1/24) on the bridge. Everything is removed when the
// test ends, also on failure.
func netnsLab(t *testing.T) []string {
	tag := fmt.Sprintf("lct%d%x", os.Getpid()%10000, randByte(t))
	br := tag + "-br"
	ipCmd(t, "netns", "add", br)
	t.Cleanup(func() { ipCmdQuiet("netns", "del", br) })
	ipCmd(t, "-n", br, "link", "add", "br0", "type", "bridge")
	ipCmd(t, "-n", br, "link", "set", "br0", "up")
	names := make([]string, netnsNodes)
	for i := range names {
		ns := fmt.Sprintf("%s-n%d", tag, i)
		names[i] = ns
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() { ipCmdQuiet("netns", "del", ns) })
		veth := fmt.Sprintf("veth%d", i)
		ipCmd(t, "-n", br, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
		ipCmd(t, "-n", br, "link", "set", veth, "master", "br0", "up")
		ipCmd(t, "-n", ns, "addr", "add", fmt.Sprintf("%s%d/24", netnsSubnet, i+1), "dev", "eth0")
		ipCmd(t, "-n", ns, "link", "set", "eth0", "up")
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	}
	return names
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func ipCmdQuiet(args ...string) { _ = exec.Command("ip", args...).Run() }

func randByte(t *testing.T) byte {
	var b [1]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return b[0]
}

type netnsProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	log   strings.Builder
}

func startNetnsNode(ctx context.Context, t *testing.T, ns string, i, port int) *netnsProc {
	t.Helper()
	var want []string
	for j := range netnsNodes {
		if j != i {
			want = append(want, hex.EncodeToString(testIdentity(t, byte(j+1)).Public().Bytes()))
		}
	}
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestNetnsHelper$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", netnsEnvNode, i), fmt.Sprintf("%s=%d", netnsEnvPort, port),
		netnsEnvWant+"="+strings.Join(want, ","))
	p := &netnsProc{cmd: cmd}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &p.log
	p.stdin, p.out = stdin, bufio.NewScanner(stdout)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node %d: %v", i, err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait() // CommandContext kills it if it outlives the test's deadline
	})
	return p
}

// waitReady reads the helper's report: key (hex) → address.
func (p *netnsProc) waitReady(t *testing.T) map[string]string {
	t.Helper()
	saw := map[string]string{}
	var lines []string
	for p.out.Scan() {
		line := p.out.Text()
		lines = append(lines, line)
		if line == "ready" {
			return saw
		}
		var key, addr string
		if n, _ := fmt.Sscanf(line, "saw %s %s", &key, &addr); n == 2 {
			saw[key] = addr
		}
	}
	t.Fatalf("node exited before it saw everyone:\n%s\n%s", strings.Join(lines, "\n"), p.log.String())
	return nil
}

func (p *netnsProc) stop(t *testing.T) {
	t.Helper()
	p.stdin.Close()
	for p.out.Scan() { // read to EOF before Wait closes the pipe
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("node process: %v\n%s", err, p.log.String())
	}
}
