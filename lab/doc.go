// Package lab runs lanchat on a simulated LAN (it builds on Linux only):
// every host is a Linux network namespace with its own interfaces and
// addresses, cabled by veth pairs into bridges that live in a "switch"
// namespace of their own. The real lanchat binary runs in each host, so
// discovery uses real broadcast and links use real TCP between real
// addresses, as on separate machines.
//
// Nothing here touches the host's own network: every interface is created
// inside a namespace of the lab (a veth pair is made in a host namespace
// with its peer end placed straight into the switch namespace), and every
// namespace is deleted when the test ends. Names carry the test process's
// pid and a random suffix (lclab-<pid>-<hex>-...); namespaces left by a run
// that was killed are deleted by the next run once their pid is gone.
//
// A lab needs root and iproute2's "ip netns"; New skips the test with the
// reason when either is missing. A test package that uses lab has
//
//	func TestMain(m *testing.M) { os.Exit(lab.Main(m)) }
//
// which builds lanchat once, sweeps leftovers, and removes the namespaces
// on SIGINT or SIGTERM.
package lab
