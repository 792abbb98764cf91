package mdns

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

func testService() Service {
	return Service{Type: "_lanchat._tcp", Instance: "alice (NDDAU7G)", Host: "lanchat-nddau7g", Port: 47101,
		TXT: []string{"v=1", "key=00ff"}}
}

// An announcement and a goodbye decode to the instance with its port, TXT
// and TTL (0 for the goodbye), with the cache-flush bit on unique records.
func TestResponseRoundTrip(t *testing.T) {
	s := testService()
	addrs := []netip.Addr{netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("fe80::1")}
	for _, tc := range []struct {
		name   string
		answer Records
		extra  Records
		ttl    uint32
	}{
		{"announce", RecAll, 0, TTL},
		{"answer to PTR", RecPTR, RecAll, TTL},
		{"goodbye", RecAll, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.Response(tc.answer, tc.extra, addrs, tc.ttl)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(p, "_LANCHAT._tcp.local.") // names compare case-insensitively
			if err != nil {
				t.Fatal(err)
			}
			if !m.Response || len(m.Instances) != 1 {
				t.Fatalf("got %+v, want one instance of a response", m)
			}
			in := m.Instances[0]
			want := Instance{Name: s.InstanceName(), Port: 47101, Target: "lanchat-nddau7g.local.", TXT: s.TXT, TTL: tc.ttl, HasSRV: true, HasTXT: true}
			if in.Name != want.Name || in.Port != want.Port || in.Target != want.Target || !slices.Equal(in.TXT, want.TXT) ||
				in.TTL != want.TTL || !in.Complete() {
				t.Fatalf("instance %+v, want %+v", in, want)
			}
			checkClasses(t, p, tc.ttl)
		})
	}
}

// checkClasses: SRV, TXT and A carry the cache-flush bit (not in a
// goodbye), PTR never; one A record (the IPv6 address is not put in A).
func checkClasses(t *testing.T, p []byte, ttl uint32) {
	t.Helper()
	var msg dnsmessage.Message
	if err := msg.Unpack(p); err != nil {
		t.Fatal(err)
	}
	as := 0
	for _, r := range append(msg.Answers, msg.Additionals...) {
		flush := r.Header.Class&cacheFlush != 0
		wantFlush := r.Header.Type != dnsmessage.TypePTR && ttl > 0
		if flush != wantFlush {
			t.Errorf("%v %v: cache-flush %v, want %v", r.Header.Name, r.Header.Type, flush, wantFlush)
		}
		if r.Header.Type == dnsmessage.TypeA {
			as++
		}
	}
	if as != 1 {
		t.Errorf("%d A records, want 1", as)
	}
}

func TestAsks(t *testing.T) {
	s := testService()
	for _, tc := range []struct {
		q    Question
		want Records
	}{
		{Question{"_lanchat._tcp.local.", dnsmessage.TypePTR}, RecPTR},
		{Question{"_Lanchat._TCP.local.", dnsmessage.TypeALL}, RecPTR},
		{Question{"_services._dns-sd._udp.local.", dnsmessage.TypePTR}, RecServices},
		{Question{s.InstanceName(), dnsmessage.TypeSRV}, RecSRV},
		{Question{s.InstanceName(), dnsmessage.TypeTXT}, RecTXT},
		{Question{s.InstanceName(), dnsmessage.TypeALL}, RecSRV | RecTXT},
		{Question{"lanchat-nddau7g.local.", dnsmessage.TypeA}, RecA},
		{Question{"lanchat-nddau7g.local.", dnsmessage.TypeAAAA}, 0},
		{Question{"_http._tcp.local.", dnsmessage.TypePTR}, 0},
		{Question{"bob._lanchat._tcp.local.", dnsmessage.TypeSRV}, 0},
	} {
		if got := s.Asks([]Question{tc.q}); got != tc.want {
			t.Errorf("%v %v: asks %b, want %b", tc.q.Name, tc.q.Type, got, tc.want)
		}
	}
}

// A query decodes to its questions; one that asks more than 64 is refused.
func TestParseQuery(t *testing.T) {
	q, err := Query(dnsmessage.TypePTR, "_lanchat._tcp.local.")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(q, "_lanchat._tcp.local.")
	if err != nil || m.Response || len(m.Questions) != 1 || m.Questions[0].Name != "_lanchat._tcp.local." {
		t.Fatalf("Parse(query) = %+v, %v", m, err)
	}
	names := make([]string, maxQuestions+1)
	for i := range names {
		names[i] = "q" + strings.Repeat("x", i%10) + ".local."
	}
	big, err := Query(dnsmessage.TypeA, names...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(big, "_lanchat._tcp.local."); !errors.Is(err, ErrMessage) {
		t.Fatalf("65 questions: %v, want ErrMessage", err)
	}
}

// Malformed and foreign messages are refused or yield nothing of ours.
func TestParseRefuses(t *testing.T) {
	good, err := testService().Response(RecAll, 0, nil, TTL)
	if err != nil {
		t.Fatal(err)
	}
	rcode := append([]byte(nil), good...)
	rcode[3] |= 3 // NXDOMAIN
	for name, p := range map[string][]byte{
		"empty": nil, "truncated": good[:len(good)-3], "header only": good[:12], "rcode": rcode,
	} {
		m, err := Parse(p, "_lanchat._tcp.local.")
		if name == "header only" { // a header that promises records that are not there
			if err == nil {
				t.Errorf("%s: accepted: %+v", name, m)
			}
			continue
		}
		if !errors.Is(err, ErrMessage) {
			t.Errorf("%s: %v, want ErrMessage", name, err)
		}
	}
	m, err := Parse(good, "_http._tcp.local.")
	if err != nil || len(m.Instances) != 0 {
		t.Fatalf("another type: %+v, %v; want no instances", m, err)
	}
}

func TestLabel(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                 "alice",
		"a.b\\c":                "a-b-c",
		strings.Repeat("é", 40): strings.Repeat("é", 31),
	} {
		if got := Label(in); got != want {
			t.Errorf("Label(%q) = %q, want %q", in, got, want)
		}
	}
}
