package storage

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/crypto/chacha20poly1305"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Export file (lanchat export): the identity, and optionally the trust list
// and the history, sealed with a passphrase of its own.
//
//	magic   "LCEXPORT1\n"
//	keyLen  u32, then crypto.Seal(file key (32 bytes), passphrase)
//	records each: u32 length, then XChaCha20-Poly1305 under the file key:
//	        nonce (24) ‖ ciphertext, with AD exportAD ‖ u64 record index
//
// A record is a type byte and its body:
//
//	1 identity  encodeIdentity, the secret key in the clear (Sealed false)
//	2 trusted   fingerprint (32) ‖ encodeTrustedPeer
//	3 room      a joined room's name
//	4 message   nameLen byte ‖ room ‖ clock u64 ‖ author (32) ‖ seq u64 ‖ raw
//	0 end       the number of records before it, u64
//
// The identity comes first and the end record last: a file cut short, or
// with records dropped, reordered or altered, is refused before anything is
// imported.
const (
	exportMagic     = "LCEXPORT1\n"
	exportAD        = "lanchat/v1/export"
	maxExportRecord = 1 << 20

	recEnd      = 0
	recIdentity = 1
	recTrusted  = 2
	recRoom     = 3
	recMessage  = 4
)

// Errors of export and import.
var (
	// ErrExportFormat: the file is not a lanchat export, or is damaged.
	ErrExportFormat = errors.New("not a lanchat export file, or a damaged one")
	// ErrIdentityExists: importing over an identity needs Force.
	ErrIdentityExists = errors.New("this data dir already has an identity")
)

// ExportOptions select what Export writes and how it is sealed.
type ExportOptions struct {
	Passphrase     []byte            // unlocks the stored secret key (ignored when it is unsealed)
	FilePassphrase []byte            // seals the file
	KDF            lcrypto.KDFParams // argon2id parameters for the file's key
	Trust          bool              // the trust list too
	History        bool              // the joined rooms and every stored message too
}

// ExportSummary counts what an export or import moved.
type ExportSummary struct {
	Fingerprint lcrypto.Fingerprint
	Trusted     int
	Rooms       int
	Messages    int
}

type exportWriter struct {
	w    *bufio.Writer
	aead interface {
		Seal(dst, nonce, plaintext, additionalData []byte) []byte
	}
	n uint64
}

func (e *exportWriter) record(typ byte, body []byte) error {
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	ad := binary.BigEndian.AppendUint64([]byte(exportAD), e.n)
	out := e.aead.Seal(nonce, nonce, append([]byte{typ}, body...), ad)
	e.n++
	if _, err := e.w.Write(binary.BigEndian.AppendUint32(nil, uint32(len(out)))); err != nil {
		return err
	}
	_, err := e.w.Write(out)
	return err
}

// ExportFile writes an export to a new file at path (mode 0600; it must
// not exist), fsynced. A failed export leaves no file.
func (db *DB) ExportFile(path string, o ExportOptions) (ExportSummary, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return ExportSummary{}, fmt.Errorf("export: %w", err)
	}
	sum, err := db.export(f, o)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		_ = os.Remove(path)
		return ExportSummary{}, fmt.Errorf("export to %s: %w", path, err)
	}
	return sum, nil
}

func (db *DB) export(w io.Writer, o ExportOptions) (ExportSummary, error) {
	var sum ExportSummary
	rec, err := db.Identity()
	if err != nil {
		return sum, err
	}
	if rec.NickLocked {
		if _, err := db.ring(); err != nil {
			return sum, err
		}
		if rec, err = db.Identity(); err != nil {
			return sum, err
		}
	}
	if rec.Sealed {
		secret, err := lcrypto.Unseal(rec.Secret, o.Passphrase)
		if err != nil {
			return sum, fmt.Errorf("unlock your key: %w", err)
		}
		defer clear(secret)
		rec.Secret, rec.Sealed = secret, false
	}
	idRec, err := encodeIdentity(rec)
	if err != nil {
		return sum, err
	}
	fileKey := make([]byte, chacha20poly1305.KeySize)
	if _, err := rand.Read(fileKey); err != nil {
		return sum, err
	}
	defer clear(fileKey)
	sealedKey, err := lcrypto.Seal(fileKey, o.FilePassphrase, o.KDF, rand.Reader)
	if err != nil {
		return sum, err
	}
	aead, err := chacha20poly1305.NewX(fileKey)
	if err != nil {
		return sum, err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(exportMagic)
	bw.Write(binary.BigEndian.AppendUint32(nil, uint32(len(sealedKey))))
	bw.Write(sealedKey)
	ew := &exportWriter{w: bw, aead: aead}
	sum.Fingerprint = rec.Key.Fingerprint()
	if err := ew.record(recIdentity, idRec); err != nil {
		return sum, err
	}
	if o.Trust {
		peers, err := db.TrustedPeers()
		if err != nil {
			return sum, err
		}
		for _, p := range peers {
			if p.NameSealed {
				return sum, ErrSealed
			}
			enc, err := encodeTrustedPeer(p)
			if err != nil {
				return sum, err
			}
			if err := ew.record(recTrusted, append(p.Fingerprint[:], enc...)); err != nil {
				return sum, err
			}
			sum.Trusted++
		}
	}
	if o.History {
		if err := db.exportHistory(ew, &sum); err != nil {
			return sum, err
		}
	}
	if err := ew.record(recEnd, binary.BigEndian.AppendUint64(nil, ew.n)); err != nil {
		return sum, err
	}
	return sum, bw.Flush()
}

func (db *DB) exportHistory(ew *exportWriter, sum *ExportSummary) error {
	joined, err := db.JoinedRooms()
	if err != nil {
		return err
	}
	for _, r := range joined {
		if err := ew.record(recRoom, []byte(r)); err != nil {
			return err
		}
		sum.Rooms++
	}
	rooms, err := db.MessageRooms()
	if err != nil {
		return err
	}
	for _, room := range rooms {
		msgs, err := db.History(HistoryQuery{Rooms: []string{room}})
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Damaged {
				continue // never passed on as genuine
			}
			b := append([]byte{byte(len(room))}, room...)
			b = binary.BigEndian.AppendUint64(b, m.Clock)
			b = append(b, m.Author[:]...)
			b = binary.BigEndian.AppendUint64(b, m.Seq)
			if err := ew.record(recMessage, append(b, m.Raw...)); err != nil {
				return err
			}
			sum.Messages++
		}
	}
	return nil
}

// exportReader reads and authenticates an export's records in order.
type exportReader struct {
	r    *bufio.Reader
	aead interface {
		Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
	}
	n   uint64
	end bool
}

func openExport(r io.Reader, filePass []byte) (*exportReader, error) {
	br := bufio.NewReader(r)
	head := make([]byte, len(exportMagic)+4)
	if _, err := io.ReadFull(br, head); err != nil || string(head[:len(exportMagic)]) != exportMagic {
		return nil, ErrExportFormat
	}
	n := binary.BigEndian.Uint32(head[len(exportMagic):])
	if n > lcrypto.MaxSealedSize {
		return nil, ErrExportFormat
	}
	sealedKey := make([]byte, n)
	if _, err := io.ReadFull(br, sealedKey); err != nil {
		return nil, ErrExportFormat
	}
	key, err := lcrypto.Unseal(sealedKey, filePass)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, ErrExportFormat
	}
	return &exportReader{r: br, aead: aead}, nil
}

// next returns the next record, io.EOF after the end record.
func (e *exportReader) next() (byte, []byte, error) {
	if e.end {
		return 0, nil, io.EOF
	}
	var l [4]byte
	if _, err := io.ReadFull(e.r, l[:]); err != nil {
		return 0, nil, fmt.Errorf("%w: cut short", ErrExportFormat)
	}
	n := binary.BigEndian.Uint32(l[:])
	if n < chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead+1 || n > maxExportRecord {
		return 0, nil, fmt.Errorf("%w: a record of %d bytes", ErrExportFormat, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(e.r, b); err != nil {
		return 0, nil, fmt.Errorf("%w: cut short", ErrExportFormat)
	}
	ad := binary.BigEndian.AppendUint64([]byte(exportAD), e.n)
	plain, err := e.aead.Open(nil, b[:chacha20poly1305.NonceSizeX], b[chacha20poly1305.NonceSizeX:], ad)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: record %d was altered", ErrExportFormat, e.n)
	}
	if e.n == 0 && plain[0] != recIdentity {
		return 0, nil, fmt.Errorf("%w: it does not start with an identity", ErrExportFormat)
	}
	if plain[0] == recEnd {
		if len(plain) != 9 || binary.BigEndian.Uint64(plain[1:]) != e.n {
			return 0, nil, fmt.Errorf("%w: its end record does not match", ErrExportFormat)
		}
		if _, err := e.r.ReadByte(); err != io.EOF {
			return 0, nil, fmt.Errorf("%w: bytes after its end", ErrExportFormat)
		}
		e.end = true
		return 0, nil, io.EOF
	}
	e.n++
	return plain[0], plain[1:], nil
}

// ImportOptions say how ImportFile seals what it imports.
type ImportOptions struct {
	FilePassphrase []byte            // opens the file
	Passphrase     []byte            // seals the imported secret key and the history here (nil: in the clear)
	KDF            lcrypto.KDFParams // argon2id parameters for those
	// Force replaces an existing identity (the caller keeps a backup
	// first). The existing history's data key must then open with
	// Passphrase; the trust list and history are merged.
	Force bool
}

// importRec is one decoded record of an export.
type importRec struct {
	typ  byte
	id   IdentityRecord
	peer TrustedPeer
	room string
	msg  StoredMessage
}

func decodeImportRec(typ byte, b []byte) (importRec, error) {
	r := importRec{typ: typ}
	var err error
	switch typ {
	case recIdentity:
		r.id, err = decodeIdentity(b)
	case recTrusted:
		if len(b) < 32 {
			return r, ErrExportFormat
		}
		r.peer, err = decodeTrustedPeer(lcrypto.Fingerprint(b[:32]), b[32:])
	case recRoom:
		r.room = string(b)
	case recMessage:
		rd := reader{b: b}
		room := string(rd.take(int(rd.byte())))
		r.msg = StoredMessage{Room: room, Clock: rd.uint64()}
		copy(r.msg.Author[:], rd.take(AuthorKeySize))
		r.msg.Seq = rd.uint64()
		r.msg.Raw = append([]byte(nil), rd.b...)
		err = rd.err
	default:
		return r, fmt.Errorf("%w: unknown record type %d", ErrExportFormat, typ)
	}
	if err != nil {
		return r, fmt.Errorf("%w: %w", ErrExportFormat, err)
	}
	return r, nil
}

// readImport reads the whole export at path, checking every record,
// and calls fn on each (nil fn: only check).
func readImport(path string, filePass []byte, fn func(importRec) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	er, err := openExport(f, filePass)
	if err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	}
	for {
		typ, b, err := er.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("import %s: %w", path, err)
		}
		rec, err := decodeImportRec(typ, b)
		if err != nil {
			return fmt.Errorf("import %s: %w", path, err)
		}
		if fn != nil {
			if err := fn(rec); err != nil {
				return err
			}
		}
	}
}

// ImportFile restores an export into db: first the whole file is read and
// checked (nothing is written if it does not open or is damaged), then the
// identity replaces (with Force) or becomes the stored one, and the trust
// list and messages are merged in. The data key is then sealed with
// o.Passphrase and the file compacted.
func (db *DB) ImportFile(path string, o ImportOptions) (ExportSummary, error) {
	var sum ExportSummary
	if err := readImport(path, o.FilePassphrase, nil); err != nil {
		return sum, err
	}
	old, err := db.Identity()
	switch {
	case err == nil && !o.Force:
		return sum, fmt.Errorf("import: %w (fingerprint %s)", ErrIdentityExists, old.Key.Fingerprint())
	case err != nil && !errors.Is(err, ErrNoIdentity):
		return sum, err
	}
	if info, err := db.DataKey(); err != nil {
		return sum, err
	} else if info.Exists && info.Sealed && !db.Unlocked() {
		if err := db.Unlock(o.Passphrase); err != nil {
			return sum, fmt.Errorf("import: the history here is sealed with another passphrase: %w", err)
		}
	}
	var batch []StoredMessage
	var rooms []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		added, err := db.AddMessages(batch)
		for _, a := range added {
			if a {
				sum.Messages++
			}
		}
		batch = batch[:0]
		return err
	}
	err = readImport(path, o.FilePassphrase, func(r importRec) error {
		switch r.typ {
		case recIdentity:
			return db.importIdentity(r.id, o, &sum)
		case recTrusted:
			sum.Trusted++
			return db.importPeer(r.peer)
		case recRoom:
			rooms = append(rooms, r.room)
		case recMessage:
			if batch = append(batch, r.msg); len(batch) >= 1000 {
				return flush()
			}
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil && len(rooms) > 0 {
		have, jerr := db.JoinedRooms()
		if err = jerr; err == nil {
			err = db.SetJoinedRooms(append(have, rooms...))
			sum.Rooms = len(rooms)
		}
	}
	if err != nil {
		return sum, fmt.Errorf("import %s: %w", path, err)
	}
	return sum, db.SealDataKey(o.Passphrase, o.KDF)
}

func (db *DB) importIdentity(rec IdentityRecord, o ImportOptions, sum *ExportSummary) error {
	if o.Passphrase != nil {
		sealed, err := lcrypto.Seal(rec.Secret, o.Passphrase, o.KDF, rand.Reader)
		if err != nil {
			return err
		}
		clear(rec.Secret)
		rec.Secret, rec.Sealed = sealed, true
	}
	sum.Fingerprint = rec.Key.Fingerprint()
	return db.PutIdentity(rec)
}

// importPeer adds a trusted peer with its times, keeping an entry that is
// already there (and its name, unless it has none).
func (db *DB) importPeer(p TrustedPeer) error {
	return db.updatePeer(p.Fingerprint, func(cur *TrustedPeer, found bool) bool {
		if found && (cur.Name != "" || p.Name == "") {
			return false
		}
		if !found {
			*cur = p
			return true
		}
		cur.Name = p.Name
		return true
	})
}
