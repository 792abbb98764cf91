//go:build linux

package lab

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers and header sizes for the frame parser.
const (
	protoTCP     = 6
	protoUDP     = 17
	etherTypeIP4 = 0x0800
	etherHdrLen  = 14
	udpHdrLen    = 8
	minIP4HdrLen = 20
	minTCPHdrLen = 20
)

// A Packet is the part of an IPv4 TCP or UDP frame the lab's checks read.
type Packet struct {
	Proto   int // protoTCP or protoUDP
	Src     netip.AddrPort
	Dst     netip.AddrPort
	Payload []byte // what the transport carries (a view into the frame)
}

// ParsePacket decodes an Ethernet frame carrying IPv4 TCP or UDP; ok is
// false for anything else or a malformed frame.
func ParsePacket(frame []byte) (p Packet, ok bool) {
	if len(frame) < etherHdrLen+minIP4HdrLen || binary.BigEndian.Uint16(frame[12:14]) != etherTypeIP4 {
		return Packet{}, false
	}
	ip := frame[etherHdrLen:]
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if ip[0]>>4 != 4 || ihl < minIP4HdrLen || total < ihl || total > len(ip) {
		return Packet{}, false
	}
	src, dst := netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
	l4 := ip[ihl:total]
	p.Proto = int(ip[9])
	var hdr int
	switch p.Proto {
	case protoUDP:
		hdr = udpHdrLen
	case protoTCP:
		if len(l4) < minTCPHdrLen {
			return Packet{}, false
		}
		hdr = int(l4[12]>>4) * 4
	default:
		return Packet{}, false
	}
	if hdr < udpHdrLen || len(l4) < hdr {
		return Packet{}, false
	}
	p.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4[0:2]))
	p.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(l4[2:4]))
	p.Payload = l4[hdr:]
	return p, true
}
