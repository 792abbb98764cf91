package control

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/lanchat/lanchat/chat"
	"github.com/lanchat/lanchat/storage"
)

// Service is the API of a node running in this process: what the control
// socket's server answers, and what a front end that started its own node
// talks to. It holds no protocol logic: every call is the node's, or the
// database's for what the node does not hold.
type Service struct {
	node    *chat.Node
	db      *storage.DB // the node's store
	dataDir string
	web     atomic.Pointer[WebLoginFunc] // nil: no web UI
}

// WebLoginFunc mints a login URL of a web UI; page is its address.
type WebLoginFunc func(ctx context.Context) (url, page string, err error)

// NewService serves node, whose store is db, for the data dir dataDir.
func NewService(node *chat.Node, db *storage.DB, dataDir string) *Service {
	return &Service{node: node, db: db, dataDir: dataDir}
}

var _ API = (*Service)(nil)

// Identity implements API.
func (s *Service) Identity(context.Context) (*Identity, error) {
	id, err := identityOf(s.db, s.dataDir)
	if errors.Is(err, storage.ErrNoIdentity) { // a node given its identity directly stores none
		key, static := s.node.Identity(), s.node.NoiseStaticKey()
		fp := key.Fingerprint()
		id, err = &Identity{Schema: SchemaVersion, Fingerprint: fp.String(), Short: fp.Short(),
			IdentityKey: hex.EncodeToString(key[:]), NoiseStaticKey: hex.EncodeToString(static[:]),
			DataDir: s.dataDir}, nil
	}
	if err != nil {
		return nil, err
	}
	id.Node = &NodeState{PID: os.Getpid(), Nick: s.node.Nickname(), Addr: s.node.ListenAddr(),
		Rooms: s.node.Rooms(), Linked: len(s.node.LinkedPeers())}
	presence, status := s.node.OwnPresence()
	id.Node.Presence, id.Node.Status = presence.String(), status
	return id, nil
}

// History implements API.
func (s *Service) History(_ context.Context, p HistoryParams) ([]*chat.MessageView, error) {
	q, err := historyQuery(p, func(p HistoryParams) ([]string, error) {
		return historyRooms(p, s.db, s.node.Identity(), s.node.InRoom, s.node.ResolvePrivate)
	})
	if err != nil {
		return nil, err
	}
	views, err := s.node.History(q)
	return nonNil(views), err
}

// Peers implements API.
func (s *Service) Peers(context.Context) ([]chat.PeerEntry, error) {
	return nonNil(s.node.PeerEntries()), nil
}

// Trust implements API: the node links the peer as soon as it is found.
func (s *Service) Trust(_ context.Context, p FingerprintParams) (*TrustResult, error) {
	return trustIn(s.db, s.node.Identity(), p, s.node.Trust)
}

// Untrust implements API: the peer's link is closed.
func (s *Service) Untrust(_ context.Context, fingerprint string) (*TrustedPeer, error) {
	return untrustIn(s.db, fingerprint, s.node.Untrust)
}

// Trusted implements API.
func (s *Service) Trusted(context.Context) ([]TrustedPeer, error) { return trustedOf(s.db) }

// CheckPassphrase implements API.
func (s *Service) CheckPassphrase(_ context.Context, passphrase []byte) error {
	return checkPassphrase(s.db, passphrase)
}

// Send implements API.
func (s *Service) Send(ctx context.Context, p SendParams) (*SendResult, error) {
	room := p.Room
	if room == "" {
		room = chat.DefaultRoom
	}
	if p.Kind != KindRoom {
		target, err := resolveRoom(room, p.Kind, s.node.InRoom, s.node.ResolvePrivate)
		if err != nil {
			return nil, err
		}
		if chat.ConvoKind(target) == KindPrivate {
			return s.sendPrivate(ctx, target, p.Body)
		}
	}
	name, err := chat.NormalizeOpenRoom(room)
	if err != nil {
		return nil, err
	}
	if !s.node.InRoom(name) {
		if !p.Join {
			return nil, withHint(&Error{Code: CodeNotJoined, Message: "not in room " + name},
				"join it first (/join "+name+", or send --join)")
		}
		if _, err := s.node.Join(name); err != nil {
			return nil, err
		}
	}
	v, handed, err := s.node.Send(ctx, name, p.Body)
	if err != nil {
		return nil, err
	}
	res := &SendResult{Message: v, HandedTo: handed, Linked: []string{}}
	if r, err := s.node.Receipt(name, s.node.Identity(), v.Seq); err == nil {
		res.Stored, res.Members, res.Read = r.Stored, r.Members, r.Read
	}
	for _, pv := range s.node.LinkedPeers() {
		res.Linked = append(res.Linked, pv.Fingerprint)
	}
	return res, nil
}

// sendPrivate sends to a private room by its id.
func (s *Service) sendPrivate(ctx context.Context, id, body string) (*SendResult, error) {
	v, handed, err := s.node.Send(ctx, id, body)
	if err != nil {
		return nil, err
	}
	return s.sendResult(v, handed), nil
}

// sendResult is a sent message's result: to whom it was handed, and its
// receipt so far.
func (s *Service) sendResult(v *MessageView, handed int) *SendResult {
	res := &SendResult{Message: v, HandedTo: handed, Linked: []string{}}
	if r, err := s.node.Receipt(v.Room, s.node.Identity(), v.Seq); err == nil {
		res.Stored, res.Members, res.Read = r.Stored, r.Members, r.Read
	}
	for _, pv := range s.node.LinkedPeers() {
		res.Linked = append(res.Linked, pv.Fingerprint)
	}
	return res
}

// Rooms implements API.
func (s *Service) Rooms(context.Context) ([]string, error) { return s.node.Rooms(), nil }

// Join implements API.
func (s *Service) Join(_ context.Context, room string) (*RoomResult, error) {
	name, err := s.node.Join(room)
	if err != nil {
		return nil, err
	}
	return &RoomResult{Room: name}, nil
}

// Leave implements API.
func (s *Service) Leave(_ context.Context, room string) (*RoomResult, error) {
	name, err := s.node.Leave(room)
	if err != nil {
		return nil, err
	}
	return &RoomResult{Room: name}, nil
}

// SetNick implements API.
func (s *Service) SetNick(_ context.Context, nick string) (*NickResult, error) {
	if err := s.node.SetNick(nick); err != nil {
		return nil, err
	}
	return &NickResult{Nick: s.node.Nickname()}, nil
}

// Subscribe implements API.
func (s *Service) Subscribe(ctx context.Context) (<-chan chat.Event, error) {
	events, stop := s.node.Subscribe()
	context.AfterFunc(ctx, stop)
	return events, nil
}

// Close implements API; the node keeps running.
func (s *Service) Close() error { return nil }

// Diagnose implements API.
func (s *Service) Diagnose(ctx context.Context, p DiagnoseParams) (*Diagnosis, error) {
	d := s.node.Diagnose(ctx, p.Probe)
	return &d, nil
}

// SetWebLogin makes WebLogin answer with f, the node's web UI (nil: none).
func (s *Service) SetWebLogin(f WebLoginFunc) {
	if f == nil {
		s.web.Store(nil)
		return
	}
	s.web.Store(&f)
}

// WebLogin implements API.
func (s *Service) WebLogin(ctx context.Context) (*WebLoginResult, error) {
	f := s.web.Load()
	if f == nil {
		return nil, withHint(&Error{Code: CodeNoWeb, Message: "this node serves no web UI (it was started with --web-addr off, or its address was taken)"},
			"stop it and start it again with --web-addr 127.0.0.1:47180 (or 127.0.0.1:0 for any free port)")
	}
	url, page, err := (*f)(ctx)
	if err != nil {
		return nil, err
	}
	return &WebLoginResult{URL: url, Page: page}, nil
}

// SendFile implements API.
func (s *Service) SendFile(ctx context.Context, p SendFileParams) (*chat.FileView, error) {
	if !filepath.IsAbs(p.Path) {
		return nil, withHint(&Error{Code: CodeInvalidParams, Message: fmt.Sprintf("path %q is not absolute", p.Path)},
			"the node may run in another folder: give the full path")
	}
	if p.To != "" {
		if p.Room != "" || p.Join {
			return nil, withHint(&Error{Code: CodeInvalidParams, Message: "to with room or join"},
				"a file for one person goes to them alone: leave out room and join")
		}
		fp, err := peerFingerprint(s.db, p.To)
		if err != nil {
			return nil, err
		}
		return s.node.OfferFileTo(ctx, fp, p.Path)
	}
	room := p.Room
	if room == "" {
		room = chat.DefaultRoom
	}
	name, err := chat.NormalizeRoom(room)
	if err != nil {
		return nil, err
	}
	if id, err := s.node.ResolvePrivate(room); err == nil && !s.node.InRoom(name) {
		return s.node.OfferFile(ctx, id, p.Path) // a private room by name or id
	}
	if !s.node.InRoom(name) {
		if !p.Join {
			return nil, withHint(&Error{Code: CodeNotJoined, Message: "not in room " + name},
				"join it first (/join "+name+", or send-file --join)")
		}
		if _, err := s.node.Join(name); err != nil {
			return nil, err
		}
	}
	return s.node.OfferFile(ctx, name, p.Path)
}

// Fetch implements API.
func (s *Service) Fetch(ctx context.Context, p FetchParams) (*chat.FileView, error) {
	if !filepath.IsAbs(p.Out) {
		return nil, withHint(&Error{Code: CodeInvalidParams, Message: fmt.Sprintf("folder %q is not absolute", p.Out)},
			"the node may run in another folder: give the full path")
	}
	return s.node.Fetch(ctx, p.ID, p.Out)
}

// Files implements API.
func (s *Service) Files(context.Context) ([]*chat.FileView, error) { return s.node.Files() }

// ChangePassphrase implements API.
func (s *Service) ChangePassphrase(_ context.Context, p ChangePassphraseParams) (*PassphraseResult, error) {
	return changePassphraseIn(s.db, p)
}

// Forget implements API.
func (s *Service) Forget(_ context.Context, p ForgetParams) (*ForgetResult, error) {
	return forgetIn(s.db, p)
}

// Export implements API.
func (s *Service) Export(_ context.Context, p ExportParams) (*ExportResult, error) {
	return exportIn(s.db, p)
}

// Retention implements API.
func (s *Service) Retention(context.Context) (*RetentionResult, error) { return retentionOf(s.db, 0) }

// SetRetention implements API.
func (s *Service) SetRetention(_ context.Context, p RetentionParams) (*RetentionResult, error) {
	return setRetentionIn(s.db, p)
}

// Delete implements API.
func (s *Service) Delete(_ context.Context, p DeleteParams) (*DeleteResult, error) {
	room, err := chat.NormalizeRoom(p.Room)
	if err != nil {
		return nil, err
	}
	n, err := s.node.DeleteForEveryone(room, p.Seq)
	if err != nil {
		return nil, err
	}
	return &DeleteResult{Room: room, Seq: p.Seq, HandedTo: n}, nil
}
