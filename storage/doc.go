// Package storage is lanchat's database: one bbolt file in the data directory
// holding the node's identity, its trusted peers, and its rooms and messages.
//
// # File layout
//
// Top-level buckets, all created when the file is first opened, in one
// transaction together with the schema version:
//
//	meta      "magic"  → "lanchat database" (marks the file as lanchat's)
//	          "schema" → uint32, big-endian: the schema version (see SchemaVersion)
//	identity  "self"   → the identity record (see encodeIdentity)
//	trusted   fingerprint (32 bytes) → a trusted-peer record (see encodeTrustedPeer)
//	rooms     defined by messages.go
//	messages  defined by messages.go
//	addrs     fingerprint → the peer's last link addresses (see addrs.go); optional,
//	          created by the first RememberAddr, so files without it are current
//
// Integer keys are big-endian so that cursor order is numeric order. Records
// are small versioned binary encodings with one valid byte form each: decoding
// and re-encoding a record gives back the same bytes.
//
// # Safety
//
// Open never rewrites a file it does not understand. It first opens the file
// read-only and checks it — a bounds-checked walk of every page in use (see
// walk.go: bbolt itself would fault or panic on a damaged page), bbolt's own
// consistency check before a write, the magic, the schema version — and only
// then opens it for writing. Every transaction turns a panic or page fault in
// bbolt into ErrCorrupt. A file that is not a
// bbolt database or not lanchat's is refused with ErrNotLanchat, a damaged one
// with ErrCorrupt, one written by a newer lanchat with ErrNewerSchema. Older
// schemas are upgraded by the steps in schema.go, all in one transaction.
//
// One process at a time may write the file. bbolt enforces this with a file
// lock; Open waits at most Options.Timeout for it and then reports who holds
// it (ErrLocked, with the pid from the pid file the holder keeps beside the
// database). Every commit is fsynced; values are copied out of transactions.
package storage
