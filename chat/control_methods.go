package chat

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// controlMethods are the request methods besides subscribe.
var controlMethods = map[string]func(s *ControlServer, ctx context.Context, params json.RawMessage) (any, error){
	MethodID:      (*ControlServer).id,
	MethodHistory: (*ControlServer).history,
	MethodPeers: func(s *ControlServer, _ context.Context, _ json.RawMessage) (any, error) {
		return s.node.PeerEntries(), nil
	},
	MethodTrust:   (*ControlServer).trust,
	MethodUntrust: (*ControlServer).untrust,
	MethodTrusted: (*ControlServer).trusted,
	MethodSend:    (*ControlServer).send,
	MethodRooms:   func(s *ControlServer, _ context.Context, _ json.RawMessage) (any, error) { return s.node.Rooms(), nil },
	MethodJoin:    (*ControlServer).join,
	MethodLeave:   (*ControlServer).leave,
}

// call runs one method.
func (s *ControlServer) call(ctx context.Context, method string, params json.RawMessage) (any, error) {
	m, ok := controlMethods[method]
	if !ok {
		return nil, &ControlError{Code: CodeUnknownMethod, Message: fmt.Sprintf("unknown method %q", method)}
	}
	return m(s, ctx, params)
}

// decodeParams reads params into v; absent or null params leave v as it is.
// Unknown fields are refused, so a typo is not silently ignored.
func decodeParams(params json.RawMessage, v any) error {
	if len(params) == 0 || string(params) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &ControlError{Code: CodeInvalidParams, Message: "params: " + err.Error()}
	}
	return nil
}

func (s *ControlServer) id(_ context.Context, _ json.RawMessage) (any, error) {
	n := s.node
	key := n.id.Public()
	_, static := n.id.NoiseStatic()
	fp := key.Fingerprint()
	info := IdentityInfo{
		Fingerprint: fp.String(), Short: fp.Short(),
		IdentityKey:    hex.EncodeToString(key[:]),
		NoiseStaticKey: hex.EncodeToString(static[:]),
		DataDir:        filepath.Dir(n.store.Path()),
		Node: NodeStatus{PID: os.Getpid(), Nickname: n.cfg.Nickname, Rooms: n.Rooms(),
			Linked: len(n.allLinks())},
	}
	rec, err := n.store.Identity()
	switch {
	case err == nil:
		info.Nickname, info.Created, info.Sealed = rec.Nickname, rec.Created, rec.Sealed
		if p, err := lcrypto.SealedParams(rec.Secret); rec.Sealed && err == nil {
			info.KDF = &KDFInfo{Time: p.Time, MemoryKiB: p.MemoryKiB, Threads: p.Threads}
		}
	case !errors.Is(err, storage.ErrNoIdentity): // a node given its identity directly stores none
		return nil, err
	}
	select {
	case <-n.listening: // n.addr is set before listening closes
		info.Node.Addr = n.addr.String()
	default:
	}
	return info, nil
}

func (s *ControlServer) history(_ context.Context, params json.RawMessage) (any, error) {
	var p HistoryParams
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	if p.Limit < 0 {
		return nil, &ControlError{Code: CodeInvalidParams, Message: "limit is negative"}
	}
	views, err := ReadHistory(s.node.store, s.node.id.Public(), s.node.cfg.Nickname, HistoryQuery(p))
	if views == nil && err == nil {
		views = []*MessageView{}
	}
	return views, err
}

func parseFingerprintParam(params json.RawMessage, p *FingerprintParams) (lcrypto.Fingerprint, error) {
	if err := decodeParams(params, p); err != nil {
		return lcrypto.Fingerprint{}, err
	}
	return lcrypto.ParseFingerprint(p.Fingerprint)
}

func (s *ControlServer) trust(_ context.Context, params json.RawMessage) (any, error) {
	var p FingerprintParams
	fp, err := parseFingerprintParam(params, &p)
	if err != nil {
		return nil, err
	}
	if fp == s.node.id.Fingerprint() {
		return nil, fmt.Errorf("trust %s: %w", fp.Short(), storage.ErrSelf)
	}
	before, _, err := s.node.store.IsTrusted(fp)
	if err != nil {
		return nil, err
	}
	added, err := s.node.Trust(fp, p.Name)
	if err != nil {
		return nil, err
	}
	res := TrustResult{Fingerprint: fp.String(), Added: added, Name: before.Name, PreviousName: before.Name}
	if p.Name != "" {
		res.Name = p.Name
	}
	return res, nil
}

func (s *ControlServer) untrust(_ context.Context, params json.RawMessage) (any, error) {
	var p FingerprintParams
	fp, err := parseFingerprintParam(params, &p)
	if err != nil {
		return nil, err
	}
	tp, found, err := s.node.store.IsTrusted(fp)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s: %w", fp, storage.ErrNotTrusted)
	}
	if err := s.node.Untrust(fp); err != nil {
		return nil, err
	}
	return trustedPeerView(tp), nil
}

func (s *ControlServer) trusted(_ context.Context, _ json.RawMessage) (any, error) {
	peers, err := s.node.store.TrustedPeers()
	if err != nil {
		return nil, err
	}
	out := make([]TrustedPeerView, 0, len(peers))
	for _, p := range peers {
		out = append(out, trustedPeerView(p))
	}
	return out, nil
}

func trustedPeerView(p storage.TrustedPeer) TrustedPeerView {
	v := TrustedPeerView{Fingerprint: p.Fingerprint.String(), Name: p.Name}
	v.AddedAt, v.LastSeen = timeOrNil(p.AddedAt), timeOrNil(p.LastSeen)
	return v
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *ControlServer) send(ctx context.Context, params json.RawMessage) (any, error) {
	var p SendParams
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	room := p.Room
	if room == "" {
		room = DefaultRoom
	}
	name, err := NormalizeRoom(room)
	if err != nil {
		return nil, err
	}
	if p.Join && s.node.room(name) == nil {
		if _, err := s.node.Join(name); err != nil {
			return nil, err
		}
	}
	v, handed, err := s.node.Send(ctx, name, p.Body)
	if err != nil {
		return nil, err
	}
	res := SendResult{Message: v, HandedTo: handed, Linked: []string{}}
	for _, pv := range s.node.LinkedPeers() {
		res.Linked = append(res.Linked, pv.Fingerprint)
	}
	return res, nil
}

func (s *ControlServer) join(_ context.Context, params json.RawMessage) (any, error) {
	var p RoomParams
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	name, err := s.node.Join(p.Room)
	if err != nil {
		return nil, err
	}
	return RoomResult{Room: name}, nil
}

func (s *ControlServer) leave(_ context.Context, params json.RawMessage) (any, error) {
	var p RoomParams
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	name, err := s.node.Leave(p.Room)
	if err != nil {
		return nil, err
	}
	return RoomResult{Room: name}, nil
}
