// Package mdns advertises and browses one DNS-SD service type over
// multicast DNS (RFC 6762, RFC 6763) on the IPv4 link-local group
// 224.0.0.251, port 5353, so that stock tools (avahi-browse, dns-sd) list
// the node and nodes find each other where broadcast does not pass.
//
// It only moves records: it answers questions about its own names, sends
// its records unsolicited when it starts or an interface appears, goodbye
// records (TTL 0) when it stops, and reports the instances of the service
// it hears. What a record says is a hint: the caller decides what to do
// with it (lanchat only ever dials the datagram's source address, and the
// handshake decides who answers there). Every answer is multicast on the
// interface the question came in on: no unicast replies, so a spoofed
// question cannot aim replies at a victim. The socket shares port 5353
// with a running Avahi or mDNSResponder (SO_REUSEADDR, SO_REUSEPORT).
package mdns
