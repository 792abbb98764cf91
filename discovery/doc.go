// Package discovery finds other lanchat nodes on the local network.
//
// Every node broadcasts small signed beacons (see PROTOCOL.md, section 2):
// a burst when it starts, then one per interval, an early one when a new or
// restarted peer shows up, and a "bye" a few times when it stops. Listening
// nodes keep a bounded peer table (identity → address, instance, last seen)
// and emit events when a peer appears, moves, restarts, leaves or goes quiet.
//
// Beacons are public and spoofable. They are signed, so nobody can speak for
// a key they do not hold, but they only ever suggest an address: the Noise
// handshake of a link is the authority on who is at the other end. The
// package never dials and never answers a datagram with a unicast reply. A
// peer's address is always the datagram's source IP (accepted only from a
// local subnet) with the beacon's TCP port; DialLimiter bounds how often the
// caller may dial any one address. SECURITY.md lists the threats and tests.
package discovery
