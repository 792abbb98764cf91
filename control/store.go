package control

import (
	"encoding/hex"
	"fmt"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// The parts of the API answered from the database, the same whether a node
// runs (Service) or not (Local).

// identityOf is the "id" result for the identity stored in db.
func identityOf(db *storage.DB, dataDir string) (*Identity, error) {
	rec, err := db.Identity()
	if err != nil {
		return nil, err
	}
	fp := rec.Key.Fingerprint()
	id := &Identity{
		Schema: SchemaVersion, Fingerprint: fp.String(), Short: fp.Short(),
		IdentityKey:    hex.EncodeToString(rec.Key[:]),
		NoiseStaticKey: hex.EncodeToString(rec.NoiseStatic[:]),
		Nick:           rec.Nickname, CreatedAt: timeOrNil(rec.Created), Sealed: rec.Sealed,
		DataDir: dataDir, NickSealed: rec.NickLocked, HistoryKey: HistoryKeyNone,
	}
	switch info, err := db.DataKey(); {
	case err != nil:
		return nil, err
	case info.Exists && info.Sealed:
		id.HistoryKey = HistoryKeyPassphrase
	case info.Exists:
		id.HistoryKey = HistoryKeyUnsealed
	}
	if p, err := lcrypto.SealedParams(rec.Secret); rec.Sealed && err == nil {
		id.KDF = &KDF{Algorithm: "argon2id", Time: p.Time, MemoryKiB: p.MemoryKiB, Threads: p.Threads}
	}
	return id, nil
}

// trustedOf lists db's trust list.
func trustedOf(db *storage.DB) ([]TrustedPeer, error) {
	peers, err := db.TrustedPeers()
	if err != nil {
		return nil, err
	}
	out := make([]TrustedPeer, 0, len(peers))
	for _, p := range peers {
		out = append(out, trustedPeer(p))
	}
	return out, nil
}

func trustedPeer(p storage.TrustedPeer) TrustedPeer {
	return TrustedPeer{Fingerprint: p.Fingerprint.String(), Name: p.Name,
		AddedAt: timeOrNil(p.AddedAt), LastSeen: timeOrNil(p.LastSeen), NameSealed: p.NameSealed}
}

// trustIn adds p's fingerprint to db's trust list through add (the node's
// Trust, which links at once, or the database's).
func trustIn(db *storage.DB, self lcrypto.IdentityKey, p FingerprintParams,
	add func(lcrypto.Fingerprint, string) (bool, error)) (*TrustResult, error) {
	fp, err := lcrypto.ParseFingerprint(p.Fingerprint)
	if err != nil {
		return nil, err
	}
	if fp == self.Fingerprint() {
		return nil, fmt.Errorf("trust %s: %w", fp.Short(), storage.ErrSelf)
	}
	before, _, err := db.IsTrusted(fp)
	if err != nil {
		return nil, err
	}
	added, err := add(fp, p.Name)
	if err != nil {
		return nil, err
	}
	res := &TrustResult{Fingerprint: fp.String(), Added: added, Name: before.Name, PreviousName: before.Name}
	if p.Name != "" {
		res.Name = p.Name
	}
	return res, nil
}

// untrustIn removes fingerprint from db's trust list through remove.
func untrustIn(db *storage.DB, fingerprint string, remove func(lcrypto.Fingerprint) error) (*TrustedPeer, error) {
	fp, err := lcrypto.ParseFingerprint(fingerprint)
	if err != nil {
		return nil, err
	}
	tp, found, err := db.IsTrusted(fp)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s is not in your trust list: %w", fp, storage.ErrNotTrusted)
	}
	if err := remove(fp); err != nil {
		return nil, err
	}
	v := trustedPeer(tp)
	return &v, nil
}

// historyQuery checks p and turns it into chat's query.
func historyQuery(p HistoryParams, rooms func(HistoryParams) ([]string, error)) (chat.HistoryQuery, error) {
	if p.Limit < 0 {
		return chat.HistoryQuery{}, &Error{Code: CodeInvalidParams, Message: "limit is negative"}
	}
	for _, r := range p.Rooms {
		if _, err := chat.NormalizeRoom(r); err != nil {
			return chat.HistoryQuery{}, err
		}
	}
	q := chat.HistoryQuery{Rooms: p.Rooms, Limit: p.Limit, Since: p.Since, Grep: p.Grep, Unread: p.Unread, Deleted: p.Deleted}
	if len(p.Rooms) > 0 || p.With != "" {
		var err error
		if q.Rooms, err = rooms(p); err != nil {
			return chat.HistoryQuery{}, err
		}
	}
	return q, nil
}

// nonNil keeps an empty result a JSON array, never null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// checkPassphrase unlocks db's secret key with passphrase and checks it
// against the stored public key.
func checkPassphrase(db *storage.DB, passphrase []byte) error {
	rec, err := db.Identity()
	if err != nil {
		return err
	}
	secret := rec.Secret
	if rec.Sealed {
		if secret, err = lcrypto.Unseal(rec.Secret, passphrase); err != nil {
			return err
		}
		defer clear(secret)
	}
	id, err := lcrypto.IdentityFromSecret(secret)
	if err != nil {
		return err
	}
	if _, static := id.NoiseStatic(); id.Public() != rec.Key || static != rec.NoiseStatic {
		return fmt.Errorf("%w: the secret key does not match the stored public key", storage.ErrCorrupt)
	}
	return nil
}
