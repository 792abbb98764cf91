package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

// Domain-separation strings of what the web key signs.
const (
	sessionDomain = "lanchat/v1/web-session:"
	csrfDomain    = "lanchat/v1/web-csrf:"
	cookieDomain  = "lanchat/v1/web-cookie-name:"
)

// Sizes of the secrets, in bytes.
const (
	keySize       = 32 // HMAC-SHA256 key of the sessions
	tokenSize     = 32 // a login token: 256 bits
	sessionNonce  = 16 // random part of a session
	sessionLength = 8 + sessionNonce
	macSize       = sha256.Size
)

// Errors of the session check.
var (
	errNoSession      = errors.New("not logged in")
	errBadSession     = errors.New("session not valid")
	errSessionExpired = errors.New("session expired")
)

// b64 is the encoding of tokens and cookies: URL-safe, no padding.
var b64 = base64.RawURLEncoding.Strict()

// loadKey reads the web key from path, or creates it (mode 0600) if there
// is none. A key file that others may read is refused: whoever reads it
// can make sessions.
func loadKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("web key: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("web key: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("web key %s: %w (mode %v)", path, ErrKeyExposed, info.Mode().Perm())
	}
	if len(key) != keySize {
		return nil, fmt.Errorf("web key %s: %w: %d bytes, want %d", path, ErrKeyDamaged, len(key), keySize)
	}
	return key, nil
}

// createKey writes a fresh key at path, never over an existing file.
func createKey(path string) ([]byte, error) {
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("web key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("web key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("web key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("web key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("web key %s: %w", path, err)
	}
	return key, nil
}

// ErrKeyExposed: the web key file is readable by other users.
var ErrKeyExposed = errors.New("the web key file is open to other users")

// ErrKeyDamaged: the web key file does not hold a key.
var ErrKeyDamaged = errors.New("the web key file is damaged")

// keys signs and checks sessions and CSRF tokens with the web key.
type keys struct{ key []byte }

func (k keys) mac(domain string, data []byte) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(domain))
	m.Write(data)
	return m.Sum(nil)
}

// cookieName is the session cookie's name: one per web key, so that two
// nodes of one user on one machine (cookies ignore the port) keep theirs.
func (k keys) cookieName() string {
	return "lanchat-" + hex.EncodeToString(k.mac(cookieDomain, nil)[:6])
}

// newSession returns a session cookie value that expires at exp.
func (k keys) newSession(exp time.Time) (string, error) {
	payload := make([]byte, sessionLength)
	binary.BigEndian.PutUint64(payload, uint64(exp.Unix()))
	if _, err := rand.Read(payload[8:]); err != nil {
		return "", fmt.Errorf("session: %w", err)
	}
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(k.mac(sessionDomain, payload)), nil
}

// parseSession checks a session cookie value and returns its payload.
func (k keys) parseSession(value string, now time.Time) ([]byte, error) {
	p, m, ok := strings.Cut(value, ".")
	if !ok || len(p) != b64.EncodedLen(sessionLength) || len(m) != b64.EncodedLen(macSize) {
		return nil, errBadSession
	}
	payload, err := b64.DecodeString(p)
	if err != nil {
		return nil, errBadSession
	}
	mac, err := b64.DecodeString(m)
	if err != nil {
		return nil, errBadSession
	}
	if !hmac.Equal(mac, k.mac(sessionDomain, payload)) {
		return nil, errBadSession
	}
	if exp := int64(binary.BigEndian.Uint64(payload)); now.Unix() >= exp {
		return nil, errSessionExpired
	}
	return payload, nil
}

// csrf is the CSRF token of the session with this payload.
func (k keys) csrf(payload []byte) string { return b64.EncodeToString(k.mac(csrfDomain, payload)) }

// checkCSRF reports whether token is the session's CSRF token, in constant time.
func (k keys) checkCSRF(payload []byte, token string) bool {
	return subtle.ConstantTimeCompare([]byte(token), []byte(k.csrf(payload))) == 1
}

// login is one outstanding one-time login token.
type login struct {
	token   [tokenSize]byte
	expires time.Time
}

// logins holds the outstanding login tokens (bounded; the oldest goes
// first). The caller holds the server's lock.
type logins struct {
	list []login
	max  int
}

// mintLocked returns a fresh token, valid until exp.
func (l *logins) mintLocked(exp time.Time) (string, error) {
	var t login
	if _, err := rand.Read(t.token[:]); err != nil {
		return "", fmt.Errorf("login token: %w", err)
	}
	t.expires = exp
	if len(l.list) >= l.max {
		l.list = l.list[1:]
	}
	l.list = append(l.list, t)
	return b64.EncodeToString(t.token[:]), nil
}

// redeemLocked removes and accepts token if it is outstanding and not
// expired. Every outstanding token is compared, in constant time each.
func (l *logins) redeemLocked(token string, now time.Time) bool {
	raw, err := b64.DecodeString(token)
	if err != nil || len(raw) != tokenSize {
		return false
	}
	found := -1
	for i := range l.list {
		if subtle.ConstantTimeCompare(raw, l.list[i].token[:]) == 1 {
			found = i
		}
	}
	ok := found >= 0 && now.Before(l.list[found].expires)
	kept := l.list[:0]
	for i, t := range l.list {
		if i != found && now.Before(t.expires) {
			kept = append(kept, t)
		}
	}
	l.list = kept
	return ok
}
