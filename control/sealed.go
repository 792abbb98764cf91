package control

import (
	"path/filepath"
	"time"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// The keys-and-history methods, the same whether a node runs (Service) or
// not (Local): they work on the database.

func kdfOf(k *KDF) lcrypto.KDFParams {
	if k == nil {
		return lcrypto.DefaultKDFParams()
	}
	return lcrypto.KDFParams{Time: k.Time, MemoryKiB: k.MemoryKiB, Threads: k.Threads}
}

func changePassphraseIn(db *storage.DB, p ChangePassphraseParams) (*PassphraseResult, error) {
	var newPass []byte
	switch {
	case p.NoPassphrase && p.New != "":
		return nil, &Error{Code: CodeInvalidParams, Message: "no_passphrase with a new passphrase"}
	case !p.NoPassphrase && p.New == "":
		return nil, &Error{Code: CodeInvalidParams, Message: "the new passphrase is empty"}
	case !p.NoPassphrase:
		newPass = []byte(p.New)
	}
	if err := db.ChangePassphrase([]byte(p.Old), newPass, kdfOf(p.KDF)); err != nil {
		return nil, err
	}
	return &PassphraseResult{Sealed: newPass != nil}, nil
}

func forgetIn(db *storage.DB, p ForgetParams) (*ForgetResult, error) {
	var before time.Time
	if p.Before != nil {
		before = *p.Before
	}
	n, err := chat.ForgetHistory(db, p.Room, before)
	if err != nil {
		return nil, err
	}
	room, _ := chat.NormalizeRoom(p.Room) // ForgetHistory checked it
	return &ForgetResult{Room: room, Before: p.Before, Deleted: n}, nil
}

func exportIn(db *storage.DB, p ExportParams) (*ExportResult, error) {
	if !filepath.IsAbs(p.Path) {
		return nil, &Error{Code: CodeInvalidParams, Message: "the export path must be absolute"}
	}
	if p.FilePassphrase == "" {
		return nil, &Error{Code: CodeInvalidParams, Message: "the export file's passphrase is empty"}
	}
	sum, err := db.ExportFile(p.Path, storage.ExportOptions{
		Passphrase: []byte(p.Passphrase), FilePassphrase: []byte(p.FilePassphrase),
		KDF: kdfOf(p.KDF), Trust: p.Trust, History: p.History,
	})
	if err != nil {
		return nil, err
	}
	return &ExportResult{Path: p.Path, Fingerprint: sum.Fingerprint.String(), Trusted: sum.Trusted, Rooms: sum.Rooms, Messages: sum.Messages}, nil
}

// RetentionInterval is how often a running node applies the retention
// settings (and once at its start).
const RetentionInterval = time.Hour

func retentionOf(db *storage.DB, deleted int) (*RetentionResult, error) {
	r, err := db.Retention()
	if err != nil {
		return nil, err
	}
	res := &RetentionResult{DefaultSeconds: int64(r.Default / time.Second), Rooms: map[string]int64{}, Deleted: deleted}
	for room, keep := range r.Rooms {
		res.Rooms[room] = int64(keep / time.Second)
	}
	return res, nil
}

func setRetentionIn(db *storage.DB, p RetentionParams) (*RetentionResult, error) {
	if p.KeepSeconds < 0 {
		return nil, &Error{Code: CodeInvalidParams, Message: "keep_seconds is negative"}
	}
	keep := time.Duration(p.KeepSeconds) * time.Second
	var err error
	switch {
	case p.Room == "*" && p.Clear:
		err = db.SetRetention("", 0)
	case p.Room == "*":
		err = db.SetRetention("", keep)
	default:
		room, rerr := chat.NormalizeRoom(p.Room)
		if rerr != nil {
			return nil, rerr
		}
		if p.Clear {
			err = db.ClearRetention(room)
		} else {
			err = db.SetRetention(room, keep)
		}
	}
	if err != nil {
		return nil, err
	}
	n, err := chat.ApplyRetention(db, time.Now())
	if err != nil {
		return nil, err
	}
	return retentionOf(db, n)
}
