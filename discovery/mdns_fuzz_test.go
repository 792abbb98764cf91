package discovery

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanchat/lanchat/discovery/mdns"
	"github.com/lanchat/lanchat/internal/fuzzseed"
)

// writeMDNSSeeds rewrites the seed corpus (go test -run FuzzMDNSMessage -update).
func writeMDNSSeeds(f *testing.F) {
	svc := mdnsService(vectorIdentity(f).Public(), 47101, "alice")
	announce, err := svc.Response(mdns.RecAll, 0, nil, mdns.TTL)
	if err != nil {
		f.Fatal(err)
	}
	goodbye, err := svc.Response(mdns.RecAll, 0, nil, 0)
	if err != nil {
		f.Fatal(err)
	}
	ptrOnly, err := svc.Response(mdns.RecPTR, 0, nil, mdns.TTL)
	if err != nil {
		f.Fatal(err)
	}
	query, err := mdns.Query(dnsmessage.TypePTR, svc.TypeName())
	if err != nil {
		f.Fatal(err)
	}
	seeds := map[string][]byte{
		"announce": announce, "goodbye": goodbye, "ptr-only": ptrOnly, "query": query,
		"truncated": announce[:len(announce)/2], "junk": []byte("\x00\x00\x84\x00 not dns"),
	}
	dir := filepath.Join("..", "testdata", "fuzz", "FuzzMDNSMessage")
	for name, b := range seeds {
		writeFile(f, filepath.Join(dir, name), b)
	}
}

// FuzzMDNSMessage: parsing any datagram never panics, every failure wraps
// mdns.ErrMessage, and a lanchat instance that is accepted re-encodes (as
// lanchat would advertise it) to a message that parses to the same port,
// TXT and key.
func FuzzMDNSMessage(f *testing.F) {
	if *update {
		writeMDNSSeeds(f)
	}
	for _, s := range fuzzseed.Files(f, "FuzzMDNSMessage") {
		f.Add(s)
	}
	typ := MDNSService + ".local."
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := mdns.Parse(p, typ)
		if err != nil {
			if !errors.Is(err, mdns.ErrMessage) {
				t.Fatalf("error %v does not wrap ErrMessage", err)
			}
			return
		}
		for _, in := range m.Instances {
			key, ok := parseMDNSTXT(in.TXT)
			if !ok || !in.Complete() || in.TTL == 0 {
				continue
			}
			svc := mdns.Service{Type: MDNSService, Instance: "x", Host: "h", Port: in.Port, TXT: in.TXT}
			again, err := svc.Response(mdns.RecAll, 0, nil, in.TTL)
			if err != nil {
				continue // a TXT string this encoder refuses (e.g. over 255 bytes)
			}
			m2, err := mdns.Parse(again, typ)
			if err != nil || len(m2.Instances) != 1 {
				t.Fatalf("re-encoded instance does not parse: %v, %+v", err, m2)
			}
			k2, ok := parseMDNSTXT(m2.Instances[0].TXT)
			if !ok || k2 != key || m2.Instances[0].Port != in.Port || !slices.Equal(m2.Instances[0].TXT, in.TXT) {
				t.Fatalf("re-encoded instance differs: %+v vs %+v", m2.Instances[0], in)
			}
		}
	})
}
