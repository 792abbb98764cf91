//go:build linux

package lab

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// buildFrame makes an Ethernet frame carrying p (IPv4, no options; TCP
// with a 20-byte header): the inverse of ParsePacket.
func buildFrame(p Packet) []byte {
	l4 := make([]byte, udpHdrLen)
	if p.Proto == protoTCP {
		l4 = make([]byte, minTCPHdrLen)
		l4[12] = minTCPHdrLen / 4 << 4
	}
	binary.BigEndian.PutUint16(l4[0:], p.Src.Port())
	binary.BigEndian.PutUint16(l4[2:], p.Dst.Port())
	if p.Proto == protoUDP {
		binary.BigEndian.PutUint16(l4[4:], uint16(udpHdrLen+len(p.Payload)))
	}
	l4 = append(l4, p.Payload...)
	ip := make([]byte, minIP4HdrLen)
	ip[0], ip[8], ip[9] = 0x45, 64, byte(p.Proto)
	binary.BigEndian.PutUint16(ip[2:], uint16(minIP4HdrLen+len(l4)))
	src, dst := p.Src.Addr().As4(), p.Dst.Addr().As4()
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	eth := make([]byte, etherHdrLen)
	binary.BigEndian.PutUint16(eth[12:], etherTypeIP4)
	return append(append(eth, ip...), l4...)
}

func TestParsePacket(t *testing.T) {
	a, b := netip.MustParseAddrPort("10.1.2.3:40000"), netip.MustParseAddrPort("10.1.2.255:44721")
	good := []Packet{
		{Proto: protoUDP, Src: a, Dst: b, Payload: []byte("beacon")},
		{Proto: protoTCP, Src: b, Dst: a, Payload: []byte("noise")},
		{Proto: protoTCP, Src: a, Dst: b, Payload: []byte{}},
	}
	for _, p := range good {
		got, ok := ParsePacket(buildFrame(p))
		if !ok || got.Proto != p.Proto || got.Src != p.Src || got.Dst != p.Dst || !bytes.Equal(got.Payload, p.Payload) {
			t.Errorf("ParsePacket(buildFrame(%+v)) = %+v, %v", p, got, ok)
		}
	}
	frame := buildFrame(good[0])
	bad := map[string][]byte{
		"empty":          nil,
		"short":          frame[:etherHdrLen+minIP4HdrLen-1],
		"not IPv4":       append(append([]byte{}, frame[:12]...), append([]byte{0x86, 0xdd}, frame[14:]...)...),
		"length too big": frame[:len(frame)-1],
		"ICMP":           withByte(frame, etherHdrLen+9, 1),
		"IHL below 5":    withByte(frame, etherHdrLen, 0x44),
		"IPv6 version":   withByte(frame, etherHdrLen, 0x65),
	}
	for name, f := range bad {
		if p, ok := ParsePacket(f); ok {
			t.Errorf("%s: parsed as %+v", name, p)
		}
	}
}

func withByte(b []byte, i int, v byte) []byte {
	c := bytes.Clone(b)
	c[i] = v
	return c
}

// FuzzParsePacket: the capture parser never panics; what it accepts is
// consistent with the bytes (the payload is the IP packet's tail, the
// addresses are the header's); and re-encoding it gives a frame that parses
// to the same packet (the parser drops MACs, options and flags, so the bytes
// themselves cannot round-trip).
func FuzzParsePacket(f *testing.F) {
	dir := filepath.Join("..", "testdata", "fuzz", "FuzzParsePacket")
	ents, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if len(ents) == 0 {
		f.Fatalf("seed corpus %s is empty", dir)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		p, ok := ParsePacket(frame)
		if !ok {
			return
		}
		ip := frame[etherHdrLen:]
		total := int(binary.BigEndian.Uint16(ip[2:4]))
		end := etherHdrLen + total
		if end > len(frame) || !bytes.Equal(frame[end-len(p.Payload):end], p.Payload) {
			t.Fatalf("payload %x is not the tail of the IP packet", p.Payload)
		}
		if p.Src.Addr() != netip.AddrFrom4([4]byte(ip[12:16])) || p.Dst.Addr() != netip.AddrFrom4([4]byte(ip[16:20])) {
			t.Fatalf("addresses %v → %v do not match the header", p.Src, p.Dst)
		}
		again, ok2 := ParsePacket(frame)
		if !ok2 || again.Src != p.Src || again.Dst != p.Dst || !bytes.Equal(again.Payload, p.Payload) {
			t.Fatal("parsing is not deterministic")
		}
		// Re-encoded canonically (no IP or TCP options), it parses the same.
		if rebuilt, ok := ParsePacket(buildFrame(p)); !ok || rebuilt.Proto != p.Proto || rebuilt.Src != p.Src ||
			rebuilt.Dst != p.Dst || !bytes.Equal(rebuilt.Payload, p.Payload) {
			t.Fatalf("re-encoded packet parses as %+v, %v; want %+v", rebuilt, ok, p)
		}
	})
}
