// Package session is one secure link between two lanchat nodes over a
// net.Conn: a Noise XX handshake that proves both identity keys and checks
// them against the trust list, then typed, encrypted frames with keepalive,
// dead-peer detection, rekeying and a close with a reason.
//
// Dial runs the initiator's side on a connection the caller opened, Accept the
// responder's; both return a *Link once the peer is proven, trusted and has
// sent its hello frame. A Guard bounds what the accepting side spends on
// strangers: handshakes in flight, handshakes per second per source address
// and links per address.
//
// PROTOCOL.md (sections 3 and 4) specifies every byte this package puts on the
// wire; SECURITY.md ("Links") says what it protects against and names the test
// behind each claim. The package knows nothing about rooms, storage or the UI.
package session
