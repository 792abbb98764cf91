// Package files is lanchat's file transfer, apart from the network: the
// offer a sender posts in a room (a signed chat message), the manifest it
// roots (every path, size and chunk hash), the checks a receiver applies to
// both, the partial file a receiver writes verified chunks into and renames
// into place only when every chunk verifies, the reader a member serves
// chunks from (verifying what it sends), the request and response frames,
// and the records that let a transfer resume after a restart.
//
// PROTOCOL.md 5.12 is the wire format; package chat moves the frames.
package files
