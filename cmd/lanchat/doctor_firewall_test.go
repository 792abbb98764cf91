package main

import (
	"strconv"
	"strings"
	"testing"
)

// rulesetJSON is what nft 1.0.6 prints (nft -j list ruleset) for:
//
//	table inet filter {
//	 chain input {
//	  type filter hook input priority 0; policy drop;
//	  ct state established,related accept
//	  iifname "lo" accept
//	  ip saddr 10.0.0.0/8 udp dport 5353 accept
//	  tcp dport { 22, 47101 } accept
//	  udp dport 44000-45000 accept
//	  tcp dport 47102 jump sub
//	 }
//	 chain sub {
//	  counter drop
//	 }
//	}
const rulesetJSON = `{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "filter", "handle": 1}}, {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}, {"chain": {"family": "inet", "table": "filter", "name": "sub", "handle": 2}}, {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 3, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 4, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "lo"}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 5, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.0.0.0", "len": 8}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 5353}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 7, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": {"set": [22, 47101]}}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 8, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": {"range": [44000, 45000]}}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 9, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 47102}}, {"jump": {"target": "sub"}}]}}, {"rule": {"family": "inet", "table": "filter", "chain": "sub", "handle": 10, "expr": [{"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}}]}`

func TestFirewallVerdicts(t *testing.T) {
	rs, err := parseNftRuleset([]byte(rulesetJSON))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p     fwPacket
		want  fwVerdict
		where string
	}{
		{fwPacket{"tcp", 47101, "eth0"}, fwAccept, "tcp dport"},
		{fwPacket{"udp", 44721, "eth0"}, fwAccept, "udp dport"},
		{fwPacket{"tcp", 47102, "eth0"}, fwDrop, "inet filter sub: drop"},
		{fwPacket{"tcp", 47103, "eth0"}, fwDrop, "inet filter input policy drop"},
		{fwPacket{"tcp", 47103, "lo"}, fwAccept, `meta iifname "lo" accept`},
		{fwPacket{"udp", 5353, "eth0"}, fwUnknown, "ip saddr"}, // only from some sources
	} {
		r := rs.verdict(tc.p)
		if r.verdict != tc.want || !strings.Contains(r.where, tc.where) {
			t.Errorf("%v: verdict %d (%s), want %d (%s)", tc.p, r.verdict, r.where, tc.want, tc.where)
		}
	}
	if fix := allowCommand(rs.verdict(fwPacket{"tcp", 47103, "eth0"}), fwPacket{"tcp", 47103, "eth0"}); !strings.Contains(fix, "47103") {
		t.Errorf("fix %q does not name the port", fix)
	}
}

// No ruleset, an accept policy, a drop in a chain of another hook: all let
// the packet in; a later base chain still drops what an earlier accepts.
func TestFirewallChains(t *testing.T) {
	chain := func(name, hook, policy string, prio int) string {
		return `{"chain": {"family": "inet", "table": "t", "name": "` + name + `", "hook": "` + hook + `", "prio": ` +
			strconv.Itoa(prio) + `, "policy": "` + policy + `"}}`
	}
	rule := func(chain, expr string) string {
		return `{"rule": {"family": "inet", "table": "t", "chain": "` + chain + `", "expr": [` + expr + `]}}`
	}
	dropTCP := `{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 47101}}, {"drop": null}`
	for _, tc := range []struct {
		name  string
		items []string
		want  fwVerdict
	}{
		{"empty", nil, fwAccept},
		{"policy accept", []string{chain("in", "input", "accept", 0)}, fwAccept},
		{"output hook", []string{chain("out", "output", "drop", 0)}, fwAccept},
		{"drop in a later base chain", []string{chain("a", "input", "accept", -10), chain("b", "input", "accept", 10), rule("b", dropTCP)}, fwDrop},
		{"unknown expression decides", []string{chain("in", "input", "accept", 0), rule("in", `{"match": {"op": "==", "left": {"socket": {"key": "transparent"}}, "right": 1}}, {"drop": null}`)}, fwUnknown},
	} {
		rs, err := parseNftRuleset([]byte(`{"nftables": [` + strings.Join(tc.items, ",") + `]}`))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r := rs.verdict(fwPacket{"tcp", 47101, "eth0"}); r.verdict != tc.want {
			t.Errorf("%s: verdict %d (%s), want %d", tc.name, r.verdict, r.where, tc.want)
		}
	}
	if _, err := parseNftRuleset([]byte("not json")); err == nil {
		t.Error("junk parsed as a ruleset")
	}
}
