package mdns

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/dns/dnsmessage"
)

// Protocol constants (RFC 6762, RFC 6763).
const (
	// Port is the multicast DNS port.
	Port = 5353
	// TTL is the time to live, in seconds, of every record sent: the
	// 120 s RFC 6762 section 10 gives records that name a host, used for
	// all of them, so a node that vanished without goodbye leaves other
	// caches (and lanchat's table) within two minutes.
	TTL = 120
	// MaxMessage is the largest message read (RFC 6762 section 17).
	MaxMessage = 9000
	// servicesName lists the service types of a link (RFC 6763 section 9).
	servicesName = "_services._dns-sd._udp.local."
	// cacheFlush is the top bit of a record's class: this record replaces
	// every other of its name and type (RFC 6762 section 10.2).
	cacheFlush = 1 << 15
)

// Decode bounds: a message past them is refused as a whole.
const (
	maxQuestions = 64
	maxRecords   = 256
)

// Group is the IPv4 multicast DNS group.
var Group = netip.AddrFrom4([4]byte{224, 0, 0, 251})

// ErrMessage is wrapped by every decoding error.
var ErrMessage = errors.New("mdns: malformed message")

// Service is what one node advertises: the DNS-SD instance
// Instance._type._tcp.local. with SRV (Host.local., Port) and TXT records,
// and an A record per address of Host on the interface it answers on.
type Service struct {
	Type     string // service type without domain, e.g. "_lanchat._tcp"
	Instance string // one label, shown by browsers, e.g. "NDDAU7G"
	Host     string // one label, e.g. "lanchat-nddau7g"
	Port     uint16
	TXT      []string // "key=value" strings, each at most 255 bytes
}

// TypeName is the service type's full name, e.g. "_lanchat._tcp.local.".
func (s Service) TypeName() string { return s.Type + ".local." }

// InstanceName is the instance's full name.
func (s Service) InstanceName() string { return Label(s.Instance) + "." + s.TypeName() }

// HostName is the SRV target, e.g. "lanchat-nddau7g.local.".
func (s Service) HostName() string { return Label(s.Host) + ".local." }

// Label makes s one DNS label: dots and backslashes (which the encoder
// would read as label separators and escapes) become '-', and it is cut to
// 63 bytes on a character boundary.
func Label(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '.' || r == '\\' || r < 0x20 || r == utf8.RuneError {
			return '-'
		}
		return r
	}, s)
	for len(s) > 63 {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// Records says which of a service's records a message carries.
type Records uint8

// The records of a service.
const (
	RecPTR      Records = 1 << iota // type name → instance
	RecSRV                          // instance → host, port
	RecTXT                          // instance → key=value strings
	RecA                            // host → address
	RecServices                     // _services._dns-sd._udp → type name
	RecAll      = RecPTR | RecSRV | RecTXT | RecA
)

// Response encodes a response carrying the records in answer (in the
// answer section) and those in extra (additional section), with ttl
// (0: goodbye) and an A record per address in addrs (IPv4 only).
func (s Service) Response(answer, extra Records, addrs []netip.Addr, ttl uint32) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{Response: true, Authoritative: true})
	b.EnableCompression()
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if err := s.build(&b, answer, addrs, ttl); err != nil {
		return nil, fmt.Errorf("mdns: encoding %s: %w", s.InstanceName(), err)
	}
	if err := b.StartAdditionals(); err != nil {
		return nil, err
	}
	if err := s.build(&b, extra&^answer, addrs, ttl); err != nil {
		return nil, fmt.Errorf("mdns: encoding %s: %w", s.InstanceName(), err)
	}
	return b.Finish()
}

func (s Service) build(b *dnsmessage.Builder, which Records, addrs []netip.Addr, ttl uint32) error {
	names, err := s.names()
	if err != nil {
		return err
	}
	hdr := func(n dnsmessage.Name, unique bool) dnsmessage.ResourceHeader {
		class := dnsmessage.ClassINET
		if unique && ttl > 0 { // a goodbye flushes nothing (RFC 6762 10.1)
			class |= cacheFlush
		}
		return dnsmessage.ResourceHeader{Name: n, Class: class, TTL: ttl}
	}
	if which&RecServices != 0 {
		if err := b.PTRResource(hdr(names.services, false), dnsmessage.PTRResource{PTR: names.typ}); err != nil {
			return err
		}
	}
	if which&RecPTR != 0 {
		if err := b.PTRResource(hdr(names.typ, false), dnsmessage.PTRResource{PTR: names.inst}); err != nil {
			return err
		}
	}
	if which&RecSRV != 0 {
		if err := b.SRVResource(hdr(names.inst, true), dnsmessage.SRVResource{Port: s.Port, Target: names.host}); err != nil {
			return err
		}
	}
	if which&RecTXT != 0 {
		txt := s.TXT
		if len(txt) == 0 {
			txt = []string{""} // RFC 6763 6.1: at least one string
		}
		if err := b.TXTResource(hdr(names.inst, true), dnsmessage.TXTResource{TXT: txt}); err != nil {
			return err
		}
	}
	if which&RecA != 0 {
		for _, a := range addrs {
			if a.Is4() {
				if err := b.AResource(hdr(names.host, true), dnsmessage.AResource{A: a.As4()}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

type names struct{ services, typ, inst, host dnsmessage.Name }

func (s Service) names() (names, error) {
	var n names
	var err error
	for _, x := range []struct {
		dst *dnsmessage.Name
		s   string
	}{{&n.services, servicesName}, {&n.typ, s.TypeName()}, {&n.inst, s.InstanceName()}, {&n.host, s.HostName()}} {
		if *x.dst, err = dnsmessage.NewName(x.s); err != nil {
			return names{}, err
		}
	}
	return n, nil
}

// Query encodes a question for each name, of type qtype (one message).
func Query(qtype dnsmessage.Type, name ...string) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 128), dnsmessage.Header{})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	for _, s := range name {
		n, err := dnsmessage.NewName(s)
		if err != nil {
			return nil, fmt.Errorf("mdns: query %q: %w", s, err)
		}
		if err := b.Question(dnsmessage.Question{Name: n, Type: qtype, Class: dnsmessage.ClassINET}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// Question is one question of a query.
type Question struct {
	Name string
	Type dnsmessage.Type
}

// Instance is one instance of the browsed type a response tells about:
// its PTR, SRV and TXT records (those the message holds).
type Instance struct {
	Name   string // full instance name
	Port   uint16 // the SRV port (HasSRV)
	Target string // the SRV target host (HasSRV)
	TXT    []string
	// TTL is the smallest TTL of its records here; 0 is a goodbye.
	TTL            uint32
	HasSRV, HasTXT bool
}

// Complete reports whether the instance has what a browser needs: SRV and
// TXT (or it is a goodbye).
func (in Instance) Complete() bool { return in.TTL == 0 || in.HasSRV && in.HasTXT }

// Message is what one datagram says that matters here.
type Message struct {
	Response  bool
	Questions []Question // of a query
	Instances []Instance // of a response, instances of the type asked for
}

// Parse decodes a multicast DNS message and picks out the questions (of a
// query) or the instances of typeName, e.g. "_lanchat._tcp.local." (of a
// response). Names compare case-insensitively. A message that is not a
// standard query or response without error, or that has more than 64
// questions or 256 records, is refused with an error wrapping ErrMessage.
func Parse(msg []byte, typeName string) (Message, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrMessage, err)
	}
	if h.OpCode != 0 || h.RCode != dnsmessage.RCodeSuccess {
		return Message{}, fmt.Errorf("%w: opcode %d, rcode %d", ErrMessage, h.OpCode, h.RCode)
	}
	qs, err := parseQuestions(&p)
	if err != nil {
		return Message{}, err
	}
	if !h.Response {
		return Message{Questions: qs}, nil
	}
	insts, err := parseRecords(&p, typeName)
	if err != nil {
		return Message{}, err
	}
	return Message{Response: true, Instances: insts}, nil
}

func parseQuestions(p *dnsmessage.Parser) ([]Question, error) {
	var qs []Question
	for {
		q, err := p.Question()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			return qs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMessage, err)
		}
		if len(qs) == maxQuestions {
			return nil, fmt.Errorf("%w: more than %d questions", ErrMessage, maxQuestions)
		}
		if q.Class&^cacheFlush == dnsmessage.ClassINET || q.Class == dnsmessage.ClassANY { // top bit: QU
			qs = append(qs, Question{Name: q.Name.String(), Type: q.Type})
		}
	}
}

// parseRecords reads every record of the three sections and joins the
// PTR, SRV and TXT records of instances of typeName.
func parseRecords(p *dnsmessage.Parser, typeName string) ([]Instance, error) {
	suffix := "." + strings.ToLower(typeName)
	byName := map[string]*Instance{}
	var order []string
	get := func(name string) *Instance {
		k := strings.ToLower(name)
		in := byName[k]
		if in == nil {
			in = &Instance{Name: name, TTL: ^uint32(0)}
			byName[k] = in
			order = append(order, k)
		}
		return in
	}
	sections := []struct {
		header func() (dnsmessage.ResourceHeader, error)
		skip   func() error
	}{{p.AnswerHeader, p.SkipAnswer}, {p.AuthorityHeader, p.SkipAuthority}, {p.AdditionalHeader, p.SkipAdditional}}
	count := 0
	for _, sec := range sections {
		for {
			h, err := sec.header()
			if errors.Is(err, dnsmessage.ErrSectionDone) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrMessage, err)
			}
			if count++; count > maxRecords {
				return nil, fmt.Errorf("%w: more than %d records", ErrMessage, maxRecords)
			}
			if err := parseRecord(p, h, typeName, suffix, get, sec.skip); err != nil {
				return nil, err
			}
		}
	}
	out := make([]Instance, 0, len(order))
	for _, k := range order {
		out = append(out, *byName[k])
	}
	return out, nil
}

func parseRecord(p *dnsmessage.Parser, h dnsmessage.ResourceHeader, typeName, suffix string, get func(string) *Instance, skip func() error) error {
	name := h.Name.String()
	mine := strings.HasSuffix(strings.ToLower(name), suffix) && len(name) > len(suffix)
	var err error
	switch {
	case h.Type == dnsmessage.TypePTR && strings.EqualFold(name, typeName):
		var r dnsmessage.PTRResource
		if r, err = p.PTRResource(); err == nil && strings.HasSuffix(strings.ToLower(r.PTR.String()), suffix) {
			in := get(r.PTR.String())
			in.TTL = min(in.TTL, h.TTL)
		}
	case h.Type == dnsmessage.TypeSRV && mine:
		var r dnsmessage.SRVResource
		if r, err = p.SRVResource(); err == nil {
			in := get(name)
			in.Port, in.Target, in.HasSRV, in.TTL = r.Port, r.Target.String(), true, min(in.TTL, h.TTL)
		}
	case h.Type == dnsmessage.TypeTXT && mine:
		var r dnsmessage.TXTResource
		if r, err = p.TXTResource(); err == nil {
			in := get(name)
			in.TXT, in.HasTXT, in.TTL = r.TXT, true, min(in.TTL, h.TTL)
		}
	default:
		err = skip()
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMessage, name, err)
	}
	return nil
}

// Asks reports which of s's records the questions ask for.
func (s Service) Asks(qs []Question) Records {
	var r Records
	for _, q := range qs {
		all := q.Type == dnsmessage.TypeALL
		switch {
		case strings.EqualFold(q.Name, servicesName) && (all || q.Type == dnsmessage.TypePTR):
			r |= RecServices
		case strings.EqualFold(q.Name, s.TypeName()) && (all || q.Type == dnsmessage.TypePTR):
			r |= RecPTR
		case strings.EqualFold(q.Name, s.InstanceName()):
			if all || q.Type == dnsmessage.TypeSRV {
				r |= RecSRV
			}
			if all || q.Type == dnsmessage.TypeTXT {
				r |= RecTXT
			}
		case strings.EqualFold(q.Name, s.HostName()) && (all || q.Type == dnsmessage.TypeA):
			r |= RecA
		}
	}
	return r
}
