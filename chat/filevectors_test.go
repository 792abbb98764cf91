package chat

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/lanchat/lanchat/chat/files"
	"github.com/lanchat/lanchat/session"
)

// fileVectorFile holds the plaintext vectors of PROTOCOL.md 5.12 (apart
// from vectors.json, so the two sections grow without touching each other).
const fileVectorFile = "../testdata/chat/file-vectors.json"

// fileVectors: alice (the identity of 5.8) offers the folder "holiday"
// (a.txt = "hello", the folder sub, sub/b.txt = "world!") in lobby with
// 16 KiB chunks; bob asks for the manifest and a chunk.
type fileVectors struct {
	Description  string              `json:"description"`
	Manifest     string              `json:"manifest_hex"`
	ChunkHashes  []string            `json:"chunk_hashes_hex"`
	Root         string              `json:"root_hex"`
	Offer        string              `json:"offer_hex"`
	OfferBody    string              `json:"offer_message_body"`
	OfferMessage string              `json:"offer_message_hex"`
	OfferID      string              `json:"offer_id"`
	Frames       []frameVectorRecord `json:"frames"`
}

func generateFileVectors(t *testing.T) fileVectors {
	t.Helper()
	alice, _ := vectorIdentities(t)
	contents := [][]byte{[]byte("hello"), []byte("world!")}
	m := &files.Manifest{ChunkSize: files.MinChunkSize, Entries: []files.Entry{
		{Path: "a.txt", Mode: 0o644, Size: 5}, {Path: "sub", Dir: true, Mode: 0o755}, {Path: "sub/b.txt", Mode: 0o600, Size: 6}}}
	v := fileVectors{Description: "PROTOCOL.md 5.12: a folder offer, its manifest and the file frames, in the clear (regenerate: go test ./chat -run TestFileVectors -update)"}
	for _, c := range contents {
		h := sha256.Sum256(c)
		m.Hashes = append(m.Hashes, h)
		v.ChunkHashes = append(v.ChunkHashes, hex.EncodeToString(h[:]))
	}
	enc := m.Encode()
	root := files.Root(enc)
	o := &files.Offer{Name: "holiday", Folder: true, Size: 11, Files: 2, ChunkSize: files.MinChunkSize,
		ManifestSize: uint32(len(enc)), Root: root}
	msg := Message{Room: "lobby", Seq: 2, Clock: 3, Time: time.UnixMilli(1700000060000), Body: o.Body()}
	msg.Sign(alice)
	v.Manifest, v.Root, v.Offer = hex.EncodeToString(enc), hex.EncodeToString(root[:]), hex.EncodeToString(o.Encode())
	v.OfferBody, v.OfferMessage, v.OfferID = o.Body(), hex.EncodeToString(msg.Encode()), msg.ID()
	add := func(name string, typ session.FrameType, body []byte, fields any) {
		fj, err := json.Marshal(fields)
		if err != nil {
			t.Fatal(err)
		}
		v.Frames = append(v.Frames, frameVectorRecord{Name: name, Type: uint8(typ), TypeName: frameName(typ), Fields: fj,
			Body: hex.EncodeToString(body), Plaintext: hex.EncodeToString(framePlaintext(typ, body))})
	}
	type refFields struct {
		Root   string `json:"root_hex"`
		Kind   uint8  `json:"kind"`
		Index  uint32 `json:"index"`
		Data   string `json:"data_hex,omitempty"`
		Reason uint8  `json:"reason,omitempty"`
	}
	rf := func(r files.Ref) refFields {
		return refFields{Root: hex.EncodeToString(r.Root[:]), Kind: uint8(r.Kind), Index: r.Index}
	}
	man := files.Ref{Root: root, Kind: files.KindManifest, Index: 0}
	add("file-request of the manifest's piece 0", frameFileRequest, files.EncodeRequest(man), rf(man))
	f := rf(man)
	f.Data = hex.EncodeToString(enc)
	add("file-data: the manifest's piece 0 (all of it)", frameFileData, files.EncodeData(man, enc), f)
	c1 := files.Ref{Root: root, Kind: files.KindChunk, Index: 1}
	add("file-request of chunk 1 (sub/b.txt)", frameFileRequest, files.EncodeRequest(c1), rf(c1))
	f = rf(c1)
	f.Data = hex.EncodeToString(contents[1])
	add("file-data: chunk 1", frameFileData, files.EncodeData(c1, contents[1]), f)
	f = rf(c1)
	f.Reason = uint8(files.ReasonMissing)
	add("file-none: chunk 1 is missing here", frameFileNone, files.EncodeNone(c1, files.ReasonMissing), f)
	have := files.EncodeHave(root, 2, func(i int) bool { return i == 1 })
	add("file-have: bob holds chunk 1 of the 2", frameFileHave, have, struct {
		Root  string `json:"root_hex"`
		Count int    `json:"count"`
		Bits  string `json:"bits_hex"`
	}{hex.EncodeToString(root[:]), 2, "02"})
	return v
}

func TestFileVectors(t *testing.T) {
	got, err := json.MarshalIndent(generateFileVectors(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *updateVectors {
		if err := os.WriteFile(fileVectorFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(fileVectorFile)
	if err != nil {
		t.Fatalf("%v (go test ./chat -run TestFileVectors -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what the code encodes: run go test ./chat -run TestFileVectors -update and review the diff", fileVectorFile)
	}
}

// The vectors decode: the message verifies and carries the offer, the
// manifest matches the root and the offer, each chunk its hash, and every
// frame decodes to its fields and re-encodes to its bytes.
func TestFileVectorsDecode(t *testing.T) {
	var v fileVectors
	b, err := os.ReadFile(fileVectorFile)
	if err != nil {
		t.Fatal(err)
	}
	mustUnmarshal(t, b, &v)
	m, err := DecodeMessage(unhex(t, v.OfferMessage))
	if err != nil || m.Verify() != nil || m.ID() != v.OfferID {
		t.Fatalf("offer message: %v", err)
	}
	o, err := files.ParseBody(m.Body)
	if err != nil || o == nil || hex.EncodeToString(o.Encode()) != v.Offer {
		t.Fatalf("offer: %+v, %v", o, err)
	}
	enc := unhex(t, v.Manifest)
	man, err := files.DecodeManifest(enc)
	if err != nil || files.Root(enc) != o.Root || o.Matches(man) != nil {
		t.Fatalf("manifest: %v", err)
	}
	for _, f := range v.Frames {
		body := unhex(t, f.Body)
		var re []byte
		switch session.FrameType(f.Type) {
		case frameFileRequest:
			r, err := files.DecodeRequest(body)
			if err != nil {
				t.Fatal(err)
			}
			re = files.EncodeRequest(r)
		case frameFileData:
			r, data, err := files.DecodeData(body)
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind == files.KindChunk && sha256.Sum256(data) != man.Hashes[r.Index] {
				t.Fatalf("%s: the data does not match chunk %d's hash", f.Name, r.Index)
			}
			re = files.EncodeData(r, data)
		case frameFileNone:
			r, why, err := files.DecodeNone(body)
			if err != nil {
				t.Fatal(err)
			}
			re = files.EncodeNone(r, why)
		case frameFileHave:
			root, count, bits, err := files.DecodeHave(body)
			if err != nil || root != o.Root || count != man.Chunks() {
				t.Fatalf("%s: root %x, %d chunks, %v", f.Name, root, count, err)
			}
			re = files.EncodeHave(root, count, func(i int) bool { return files.HaveBit(bits, i) })
		default:
			t.Fatalf("%s: frame type %#x", f.Name, f.Type)
		}
		if !bytes.Equal(re, body) {
			t.Fatalf("%s does not re-encode", f.Name)
		}
	}
}
