package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// The firewall check reads the nftables ruleset (nft -j list ruleset: the
// rules of nft, and of iptables-nft, Debian's and Fedora's iptables) and
// follows each input chain, in priority order, for a new IPv4 connection on
// one interface to one port, as the kernel would, for the matches it
// understands: protocol, destination port (value, range, set), input
// interface, conntrack state; accept, drop, reject, jump, goto, return and
// the chain's policy. A rule it does not understand that could decide is
// reported as such (warn), never guessed. iptables-legacy rules are not
// read; nor are firewalls of other systems (README: Firewall).

// fwVerdict is what the rules do to one packet.
type fwVerdict int

const (
	fwAccept  fwVerdict = iota // accepted (or no input chain at all)
	fwDrop                     // dropped or rejected
	fwUnknown                  // a rule we cannot evaluate may decide
	fwReturn  fwVerdict = -1   // a regular chain returned to its caller
)

// fwPacket is the packet the rules are followed for: a new connection.
type fwPacket struct {
	proto string // "tcp" or "udp"
	port  int
	iface string
}

// fwResult is the verdict and the rule (or policy) that gave it.
type fwResult struct {
	verdict fwVerdict
	where   string // e.g. `inet filter input: tcp dport 47101 drop` or `inet filter input policy drop`
	family  string
	table   string
	chain   string
}

type nftRuleset struct {
	chains map[string]*nftChain // by family/table/name
	base   []*nftChain          // input base chains, by priority
}

type nftChain struct {
	family, table, name string
	hook, policy        string
	prio                int
	rules               [][]json.RawMessage
}

// parseNftRuleset reads the JSON of nft -j list ruleset.
func parseNftRuleset(b []byte) (*nftRuleset, error) {
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("nft -j list ruleset: %w", err)
	}
	rs := &nftRuleset{chains: map[string]*nftChain{}}
	key := func(f, t, n string) string { return f + "/" + t + "/" + n }
	for _, obj := range doc.Nftables {
		if raw, ok := obj["chain"]; ok {
			var c struct {
				Family, Table, Name, Hook, Policy string
				Prio                              int
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				return nil, fmt.Errorf("nft chain: %w", err)
			}
			ch := &nftChain{family: c.Family, table: c.Table, name: c.Name, hook: c.Hook, policy: c.Policy, prio: c.Prio}
			rs.chains[key(c.Family, c.Table, c.Name)] = ch
			if c.Hook == "input" && (c.Family == "inet" || c.Family == "ip") {
				rs.base = append(rs.base, ch)
			}
		}
		if raw, ok := obj["rule"]; ok {
			var r struct {
				Family, Table, Chain string
				Expr                 []json.RawMessage
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				return nil, fmt.Errorf("nft rule: %w", err)
			}
			if ch := rs.chains[key(r.Family, r.Table, r.Chain)]; ch != nil {
				ch.rules = append(ch.rules, r.Expr)
			}
		}
	}
	slices.SortStableFunc(rs.base, func(a, b *nftChain) int { return a.prio - b.prio })
	return rs, nil
}

// verdict follows every input base chain for p: a drop anywhere drops, an
// accept goes on to the next base chain (nftables semantics).
func (rs *nftRuleset) verdict(p fwPacket) fwResult {
	res := fwResult{verdict: fwAccept, where: "no input chain drops it"}
	for _, ch := range rs.base {
		r := rs.run(ch, p, 0)
		switch {
		case r.verdict == fwDrop:
			return r
		case r.verdict == fwUnknown, res.verdict == fwAccept:
			res = r // the rule (or policy) that let it through, unless unsure
		}
	}
	return res
}

// run evaluates chain ch (a base chain at depth 0) for p. A rule that
// may match (it depends on what we cannot know, e.g. the source address)
// makes a later definite verdict the other way unknown.
func (rs *nftRuleset) run(ch *nftChain, p fwPacket, depth int) fwResult {
	where := func(rule string, v fwVerdict) fwResult {
		return fwResult{verdict: v, where: fmt.Sprintf("%s %s %s: %s", ch.family, ch.table, ch.name, rule),
			family: ch.family, table: ch.table, chain: ch.name}
	}
	var unsure *fwResult // the first rule that may decide
	var unsureDrops bool
	settle := func(r fwResult) fwResult {
		if unsure != nil && (r.verdict == fwDrop || unsureDrops) {
			u := *unsure
			u.verdict = fwUnknown
			return u
		}
		return r
	}
	for _, exprs := range ch.rules {
		m, verdict, target, text := evalRule(exprs, p)
		if m == matchNo || verdict == "" {
			continue
		}
		if m == matchMaybe {
			if unsure == nil && verdict != "return" {
				r := where(text, fwUnknown)
				unsure, unsureDrops = &r, verdict != "accept"
			}
			continue
		}
		switch verdict {
		case "accept":
			return settle(where(text, fwAccept))
		case "drop", "reject":
			return settle(where(text, fwDrop))
		case "return":
			return fwResult{verdict: fwReturn}
		case "jump", "goto":
			sub := rs.chains[ch.family+"/"+ch.table+"/"+target]
			if sub == nil || depth > 16 {
				return where(text, fwUnknown)
			}
			if r := rs.run(sub, p, depth+1); r.verdict != fwReturn {
				return settle(r)
			}
			if verdict == "goto" {
				return rs.policy(ch, settle, depth)
			}
		}
	}
	return rs.policy(ch, settle, depth)
}

// policy is what ends chain ch: back to the caller for a regular chain,
// the policy for a base chain.
func (rs *nftRuleset) policy(ch *nftChain, settle func(fwResult) fwResult, depth int) fwResult {
	if depth > 0 {
		return fwResult{verdict: fwReturn}
	}
	pol := cmpOr(ch.policy, "accept")
	r := fwResult{verdict: fwAccept, where: fmt.Sprintf("%s %s %s policy %s", ch.family, ch.table, ch.name, pol),
		family: ch.family, table: ch.table, chain: ch.name}
	if pol == "drop" {
		r.verdict = fwDrop
	}
	return settle(r)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

type match int

const (
	matchYes match = iota
	matchNo
	matchMaybe
)

// evalRule says whether the rule's matches hold for p, its verdict, a jump
// or goto target, and a short text of the rule for people.
func evalRule(exprs []json.RawMessage, p fwPacket) (m match, verdict, target, text string) {
	m = matchYes
	var parts []string
	for _, raw := range exprs {
		var e map[string]json.RawMessage
		if json.Unmarshal(raw, &e) != nil {
			return matchMaybe, "", "", ""
		}
		for k, v := range e {
			switch k {
			case "match":
				r, t := evalMatch(v, p)
				parts = append(parts, t)
				if r == matchNo {
					m = matchNo
				} else if r == matchMaybe && m == matchYes {
					m = matchMaybe
				}
			case "accept", "drop", "reject", "return":
				verdict = k
				parts = append(parts, k)
			case "jump", "goto":
				var j struct{ Target string }
				_ = json.Unmarshal(v, &j)
				verdict, target = k, j.Target
				parts = append(parts, k+" "+j.Target)
			case "counter", "log", "limit", "comment", "xt", "notrack", "mangle", "quota":
				// no decision here (limit: treated as always under the rate)
			default:
				if m == matchYes {
					m = matchMaybe
				}
				parts = append(parts, k)
			}
		}
	}
	return m, verdict, target, strings.Join(parts, " ")
}

// evalMatch evaluates one match expression for p.
func evalMatch(raw json.RawMessage, p fwPacket) (match, string) {
	var mt struct {
		Op    string
		Left  map[string]json.RawMessage
		Right json.RawMessage
	}
	if json.Unmarshal(raw, &mt) != nil {
		return matchMaybe, "?"
	}
	var got any // the packet's value of the left side
	var name string
	if v, ok := mt.Left["payload"]; ok {
		var pl struct{ Protocol, Field string }
		_ = json.Unmarshal(v, &pl)
		name = pl.Protocol + " " + pl.Field
		switch {
		case (pl.Protocol == "tcp" || pl.Protocol == "udp") && pl.Field == "dport":
			if pl.Protocol != p.proto {
				return matchNo, name // tcp dport on a udp packet: no match
			}
			got = float64(p.port)
		case pl.Protocol == "ip" && pl.Field == "protocol":
			got = p.proto
		default:
			return matchMaybe, name // addresses, source ports: depend on the peer
		}
	} else if v, ok := mt.Left["meta"]; ok {
		var me struct{ Key string }
		_ = json.Unmarshal(v, &me)
		name = "meta " + me.Key
		switch me.Key {
		case "l4proto", "protocol":
			if me.Key == "protocol" {
				got = "ip"
			} else {
				got = p.proto
			}
		case "iifname", "iif":
			got = p.iface
		case "nfproto":
			got = "ipv4"
		default:
			return matchMaybe, name
		}
	} else if v, ok := mt.Left["ct"]; ok {
		var ct struct{ Key string }
		_ = json.Unmarshal(v, &ct)
		name = "ct " + ct.Key
		if ct.Key != "state" {
			return matchMaybe, name
		}
		got = "new"
	} else {
		return matchMaybe, "?"
	}
	hit, known := compare(got, mt.Right)
	if !known {
		return matchMaybe, name
	}
	if mt.Op == "!=" {
		hit = !hit
	}
	text := name + " " + strings.TrimSpace(string(mt.Right))
	if hit {
		return matchYes, text
	}
	return matchNo, text
}

// compare reports whether got matches right (a value, a set, a range, a
// prefix of names with '*'); known is false for forms it does not read.
func compare(got any, right json.RawMessage) (hit, known bool) {
	var v any
	if json.Unmarshal(right, &v) != nil {
		return false, false
	}
	return compareValue(got, v)
}

func compareValue(got, v any) (hit, known bool) {
	switch x := v.(type) {
	case float64:
		g, ok := got.(float64)
		return ok && g == x, ok
	case string:
		g, ok := got.(string)
		if !ok {
			return false, false
		}
		if strings.HasSuffix(x, "*") {
			return strings.HasPrefix(g, strings.TrimSuffix(x, "*")), true
		}
		return g == x, true
	case []any: // a flags list, e.g. ct state established,related
		for _, e := range x {
			if h, k := compareValue(got, e); !k || h {
				return h, k
			}
		}
		return false, true
	case map[string]any:
		if set, ok := x["set"].([]any); ok {
			return compareValue(got, set)
		}
		if r, ok := x["range"].([]any); ok && len(r) == 2 {
			lo, ok1 := r[0].(float64)
			hi, ok2 := r[1].(float64)
			g, ok3 := got.(float64)
			return ok1 && ok2 && ok3 && g >= lo && g <= hi, ok1 && ok2 && ok3
		}
	}
	return false, false
}

// readNftRuleset runs nft -j list ruleset; errNftUnreadable when nft is
// missing or may not read the rules (not root).
func readNftRuleset(ctx context.Context) (*nftRuleset, error) {
	if _, err := exec.LookPath("nft"); err != nil {
		return nil, fmt.Errorf("%w: the nft command is not installed", errNftUnreadable)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "nft", "-j", "list", "ruleset")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: nft -j list ruleset: %v: %s", errNftUnreadable, err, strings.TrimSpace(stderr.String()))
	}
	return parseNftRuleset(out)
}

var errNftUnreadable = errors.New("cannot read the firewall rules")

// allowCommand is the command that lets p in, for the firewall tool of
// this system: ufw or firewalld where installed, else nft itself (into
// the chain that drops it).
func allowCommand(r fwResult, p fwPacket) string {
	switch {
	case lookPath("ufw"):
		return fmt.Sprintf("sudo ufw allow %d/%s", p.port, p.proto)
	case lookPath("firewall-cmd"):
		return fmt.Sprintf("sudo firewall-cmd --permanent --add-port=%d/%s && sudo firewall-cmd --reload", p.port, p.proto)
	case r.chain != "":
		return fmt.Sprintf("sudo nft insert rule %s %s %s %s dport %d accept", r.family, r.table, r.chain, p.proto, p.port)
	}
	return fmt.Sprintf("allow %s port %d in your firewall", strings.ToUpper(p.proto), p.port)
}

func lookPath(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}
