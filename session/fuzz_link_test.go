package session

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/flynn/noise"
	"github.com/lanchat/lanchat/internal/fuzzseed"
)

// FuzzLinkReader runs the link's own receiving path (length prefix, in-place
// decryption into carved or frame-owned memory, chunks decrypted into the
// body) on the plaintext records of FuzzFrameDecoder's inputs, sealed as a
// peer would seal them. It must read exactly the frames the reference
// decoder (readFrame over the plaintexts) reads, and fail where it fails.
func FuzzLinkReader(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "FuzzFrameDecoder") {
		f.Add(s)
	}
	suite := newSuite(nil)
	key := [32]byte{3}
	f.Fuzz(func(t *testing.T, in []byte) {
		records := splitRecords(in)
		tx := noise.UnsafeNewCipherState(suite, key, 0)
		var stream []byte
		for _, r := range records {
			start := len(stream)
			var err error
			if stream, err = tx.Encrypt(append(stream, 0, 0), nil, r); err != nil {
				t.Fatal(err)
			}
			binary.BigEndian.PutUint16(stream[start:], uint16(len(stream)-start-LengthPrefixSize))
		}
		d := newRecvDir(noise.UnsafeNewCipherState(suite, key, 0), nil,
			bufio.NewReaderSize(bytes.NewReader(stream), readBufferSize))
		ref := reader(records)
		for i := 0; ; i++ {
			want, werr := readFrame(ref, fuzzMaxFrame)
			got, gerr := d.readFrame(fuzzMaxFrame)
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("frame %d: the link reader says %v, the reference %v", i, gerr, werr)
			}
			if werr != nil {
				return
			}
			if got.Type != want.Type || !bytes.Equal(got.Body, want.Body) || cap(got.Body) != len(got.Body) {
				t.Fatalf("frame %d: the link reader read %s of %d bytes (cap %d), the reference %s of %d",
					i, got.Type, len(got.Body), cap(got.Body), want.Type, len(want.Body))
			}
		}
	})
}
