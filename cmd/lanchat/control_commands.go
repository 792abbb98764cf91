package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// The commands' data, from the running node if there is one, else from the
// database. Each returns what the command prints, so both paths print alike.

// nodeOrStore runs viaNode if a node runs on the data dir, else direct on
// the database opened in mode. A node that is just starting holds the file
// before its socket is up: a lock error makes it ask the node once more
// (callNode then waits for the socket).
func (e *env) nodeOrStore(ctx context.Context, mode storeMode, viaNode func() (bool, error), direct func(*storage.DB) error) error {
	for try := 0; ; try++ {
		if running, err := viaNode(); running {
			return err
		}
		db, err := e.openStore(mode)
		if errors.Is(err, storage.ErrLocked) && try == 0 {
			continue
		}
		if err != nil {
			return err
		}
		defer db.Close()
		return direct(db)
	}
}

// trustPeer adds fp to the trust list; before is its entry until now.
func (e *env) trustPeer(ctx context.Context, fp lcrypto.Fingerprint, name string) (before storage.TrustedPeer, added bool, err error) {
	err = e.nodeOrStore(ctx, readWrite, func() (bool, error) {
		var res chat.TrustResult
		running, err := e.callNode(ctx, chat.MethodTrust, chat.FingerprintParams{Fingerprint: fp.String(), Name: name}, &res)
		before, added = storage.TrustedPeer{Fingerprint: fp, Name: res.PreviousName}, res.Added
		return running, err
	}, func(db *storage.DB) error {
		var err error
		if before, _, err = db.IsTrusted(fp); err != nil {
			return err
		}
		added, err = db.Trust(fp, name)
		return err
	})
	return before, added, err
}

// untrustPeer removes fp from the trust list and returns its entry.
func (e *env) untrustPeer(ctx context.Context, fp lcrypto.Fingerprint) (p storage.TrustedPeer, err error) {
	notTrusted := withHint(fmt.Errorf("untrust: %s is not in your trust list", fp), "lanchat trusted lists who you trust")
	err = e.nodeOrStore(ctx, readWrite, func() (bool, error) {
		var v chat.TrustedPeerView
		running, err := e.callNode(ctx, chat.MethodUntrust, chat.FingerprintParams{Fingerprint: fp.String()}, &v)
		if errors.Is(err, storage.ErrNotTrusted) {
			err = notTrusted
		}
		p = storage.TrustedPeer{Fingerprint: fp, Name: v.Name}
		return running, err
	}, func(db *storage.DB) error {
		var found bool
		var err error
		if p, found, err = db.IsTrusted(fp); err != nil {
			return err
		}
		if !found {
			return notTrusted
		}
		return db.Untrust(fp)
	})
	return p, err
}

// trustedPeers returns the trust list.
func (e *env) trustedPeers(ctx context.Context) (peers []storage.TrustedPeer, err error) {
	err = e.nodeOrStore(ctx, readOnly, func() (bool, error) {
		var views []chat.TrustedPeerView
		running, err := e.callNode(ctx, chat.MethodTrusted, nil, &views)
		if running && err == nil {
			peers, err = fromTrustedViews(views)
		}
		return running, err
	}, func(db *storage.DB) error {
		var err error
		peers, err = db.TrustedPeers()
		return err
	})
	return peers, err
}

func fromTrustedViews(views []chat.TrustedPeerView) ([]storage.TrustedPeer, error) {
	out := make([]storage.TrustedPeer, 0, len(views))
	for _, v := range views {
		fp, err := lcrypto.ParseFingerprint(v.Fingerprint)
		if err != nil {
			return nil, fmt.Errorf("the running lanchat sent a bad fingerprint: %w", err)
		}
		out = append(out, storage.TrustedPeer{Fingerprint: fp, Name: v.Name,
			AddedAt: timeOrZero(v.AddedAt), LastSeen: timeOrZero(v.LastSeen)})
	}
	return out, nil
}

func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// historyFromNode reads the history through the running node.
func (e *env) historyFromNode(ctx context.Context, q chat.HistoryQuery) (views []*chat.MessageView, running bool, err error) {
	running, err = e.callNode(ctx, chat.MethodHistory, chat.HistoryParams(q), &views)
	return views, running, err
}

// sendViaNode hands the message to the running node, which joins the room
// if it is not in it. running is false when no node runs.
func (e *env) sendViaNode(ctx context.Context, nf *nodeFlags, text string) (res *sendResult, running bool, err error) {
	room := chat.DefaultRoom
	if len(nf.rooms) > 0 {
		room = nf.rooms[0]
	}
	if _, err := chat.NormalizeRoom(room); err != nil {
		return nil, true, usageErrorf("room names use a-z, 0-9, '-', '_' and '.'", "send: %v", err)
	}
	var sr chat.SendResult
	running, err = e.callNode(ctx, chat.MethodSend, chat.SendParams{Room: room, Body: text, Join: true}, &sr)
	if !running || err != nil {
		return nil, running, err
	}
	return &sendResult{Message: sr.Message, HandedTo: sr.HandedTo, Linked: sr.Linked}, true, nil
}

// idFromNode returns lanchat id's output from the running node. Checking
// the passphrase needs the file, so with check it asks no node.
func (e *env) idFromNode(ctx context.Context, check bool) (out idJSON, created time.Time, running bool, err error) {
	if check {
		return out, created, false, nil
	}
	var info chat.IdentityInfo
	if running, err = e.callNode(ctx, chat.MethodID, nil, &info); !running || err != nil {
		return out, created, running, err
	}
	out = idJSON{Fingerprint: info.Fingerprint, Short: info.Short, IdentityKey: info.IdentityKey,
		NoiseStaticKey: info.NoiseStaticKey, Nickname: info.Nickname, DataDir: info.DataDir,
		Created: jsonTime(info.Created), Sealed: info.Sealed}
	if k := info.KDF; k != nil {
		out.KDF = &kdfJSON{Algorithm: "argon2id", Time: k.Time, MemoryKiB: k.MemoryKiB, Threads: k.Threads}
	}
	return out, info.Created, true, nil
}
