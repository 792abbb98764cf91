package control

import (
	"context"
	"errors"
	"fmt"

	"github.com/lanchat/lanchat/chat"
	"github.com/lanchat/lanchat/storage"
)

// Local is the API over a data dir's database when no node runs on it: what
// is stored is answered from the file, and what needs a node (send, rooms,
// events) is ErrNoNode. It owns db and closes it.
type Local struct {
	db      *storage.DB
	dataDir string
}

// NewLocal answers from db, the database of dataDir. Close closes db.
func NewLocal(db *storage.DB, dataDir string) *Local { return &Local{db: db, dataDir: dataDir} }

var _ API = (*Local)(nil)

// DB returns the database, for the commands that start a node on it.
func (l *Local) DB() *storage.DB { return l.db }

func (l *Local) self() (storage.IdentityRecord, error) { return l.db.Identity() }

func noNode(what string) error {
	return fmt.Errorf("%s: %w", what, ErrNoNode)
}

// Identity implements API: no node runs, so Node is null.
func (l *Local) Identity(context.Context) (*Identity, error) { return identityOf(l.db, l.dataDir) }

// History implements API.
func (l *Local) History(_ context.Context, p HistoryParams) ([]*chat.MessageView, error) {
	if err := l.db.UnlockNow(); err != nil { // the history and the nickname are sealed
		return nil, err
	}
	rec, err := l.self()
	if err != nil {
		return nil, err
	}
	q, err := historyQuery(p, func(p HistoryParams) ([]string, error) {
		return historyRooms(p, l.db, rec.Key, l.joined, l.resolvePrivate(rec.Key))
	})
	if err != nil {
		return nil, err
	}
	views, err := chat.ReadHistory(l.db, rec.Key, rec.Nickname, q)
	return nonNil(views), err
}

// Peers implements API: only a node hears beacons.
func (l *Local) Peers(context.Context) ([]chat.PeerEntry, error) { return nil, noNode("peers") }

// Trust implements API.
func (l *Local) Trust(_ context.Context, p FingerprintParams) (*TrustResult, error) {
	rec, err := l.self()
	if err != nil && !errors.Is(err, storage.ErrNoIdentity) {
		return nil, err
	}
	return trustIn(l.db, rec.Key, p, l.db.Trust)
}

// Untrust implements API.
func (l *Local) Untrust(_ context.Context, fingerprint string) (*TrustedPeer, error) {
	return untrustIn(l.db, fingerprint, l.db.Untrust)
}

// Trusted implements API.
func (l *Local) Trusted(context.Context) ([]TrustedPeer, error) { return trustedOf(l.db) }

// CheckPassphrase implements API.
func (l *Local) CheckPassphrase(_ context.Context, passphrase []byte) error {
	return checkPassphrase(l.db, passphrase)
}

// Send implements API: ErrNoNode (a command may start a node for it).
func (l *Local) Send(context.Context, SendParams) (*SendResult, error) { return nil, noNode("send") }

// Rooms implements API: the rooms remembered as joined.
func (l *Local) Rooms(context.Context) ([]string, error) { return l.db.JoinedRooms() }

// Join implements API: ErrNoNode.
func (l *Local) Join(context.Context, string) (*RoomResult, error) { return nil, noNode("join") }

// Leave implements API: ErrNoNode.
func (l *Local) Leave(context.Context, string) (*RoomResult, error) { return nil, noNode("leave") }

// SetNick implements API: kept in the stored identity.
func (l *Local) SetNick(_ context.Context, nick string) (*NickResult, error) {
	if err := chat.CheckNick(nick); err != nil {
		return nil, err
	}
	if err := l.db.SetNickname(nick); err != nil {
		return nil, err
	}
	return &NickResult{Nick: nick}, nil
}

// Subscribe implements API: ErrNoNode.
func (l *Local) Subscribe(context.Context) (<-chan chat.Event, error) {
	return nil, noNode("subscribe")
}

// Close implements API: it closes the database.
func (l *Local) Close() error { return l.db.Close() }

// Diagnose implements API: only a running node can.
func (l *Local) Diagnose(context.Context, DiagnoseParams) (*Diagnosis, error) {
	return nil, noNode("diagnose")
}

// WebLogin implements API: ErrNoNode.
func (l *Local) WebLogin(context.Context) (*WebLoginResult, error) {
	return nil, noNode("the web UI")
}

// SendFile implements API: offering needs a node to serve the chunks.
func (l *Local) SendFile(context.Context, SendFileParams) (*chat.FileView, error) {
	return nil, noNode("send-file")
}

// Fetch implements API: fetching needs a node.
func (l *Local) Fetch(context.Context, FetchParams) (*chat.FileView, error) {
	return nil, noNode("fetch")
}

// Files implements API, from the history and the file records.
func (l *Local) Files(context.Context) ([]*chat.FileView, error) {
	rec, err := l.self()
	if err != nil {
		return nil, err
	}
	return chat.ReadFiles(l.db, FilesDir(l.dataDir), rec.Key, rec.Nickname)
}

// ChangePassphrase implements API.
func (l *Local) ChangePassphrase(_ context.Context, p ChangePassphraseParams) (*PassphraseResult, error) {
	return changePassphraseIn(l.db, p)
}

// Forget implements API.
func (l *Local) Forget(_ context.Context, p ForgetParams) (*ForgetResult, error) {
	return forgetIn(l.db, p)
}

// Export implements API.
func (l *Local) Export(_ context.Context, p ExportParams) (*ExportResult, error) {
	return exportIn(l.db, p)
}

// Retention implements API.
func (l *Local) Retention(context.Context) (*RetentionResult, error) { return retentionOf(l.db, 0) }

// SetRetention implements API.
func (l *Local) SetRetention(_ context.Context, p RetentionParams) (*RetentionResult, error) {
	return setRetentionIn(l.db, p)
}

// Delete implements API: ErrNoNode (the request is signed and sent by a node).
func (l *Local) Delete(context.Context, DeleteParams) (*DeleteResult, error) {
	return nil, noNode("delete")
}
