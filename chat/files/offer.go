package files

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// offerVersion is the first byte of an encoded offer.
const offerVersion = 1

// OfferPrefix starts the line of a message body that carries an offer.
const OfferPrefix = "lanchat-file/1 "

// maxMIME bounds an offer's media type.
const maxMIME = 127

// Offer is what a sender posts in a room: a signed chat message whose body
// carries it (Body), so it is stored, synced and ordered like any message.
// It names the manifest by its root; everything else a receiver learns
// from the manifest, which it checks against the root.
type Offer struct {
	Name         string // the file's or folder's name (CheckName)
	Folder       bool
	Size         uint64 // bytes of all files
	Files        uint32 // file entries
	ChunkSize    uint32
	ManifestSize uint32
	Root         [HashSize]byte
	MIME         string // media type guessed by the sender, for display; may be empty
}

// Encode returns the offer's binary form (PROTOCOL.md 5.12):
//
//	version u8 (1) | flags u8 (bit 0: folder) | name_len u8 | name |
//	size u64 | files u32 | chunk_size u32 | manifest_size u32 | root [32] |
//	mime_len u8 | mime
func (o *Offer) Encode() []byte {
	b := make([]byte, 0, 60+len(o.Name)+len(o.MIME))
	var flags byte
	if o.Folder {
		flags = 1
	}
	b = append(b, offerVersion, flags, byte(len(o.Name)))
	b = append(b, o.Name...)
	b = binary.BigEndian.AppendUint64(b, o.Size)
	b = binary.BigEndian.AppendUint32(b, o.Files)
	b = binary.BigEndian.AppendUint32(b, o.ChunkSize)
	b = binary.BigEndian.AppendUint32(b, o.ManifestSize)
	b = append(b, o.Root[:]...)
	b = append(b, byte(len(o.MIME)))
	return append(b, o.MIME...)
}

// DecodeOffer parses an offer's binary form strictly.
func DecodeOffer(b []byte) (*Offer, error) {
	if len(b) < 3 || b[0] != offerVersion || b[1] > 1 {
		return nil, fmt.Errorf("%w: offer header", ErrMalformed)
	}
	o := &Offer{Folder: b[1] == 1}
	nl := int(b[2])
	p := b[3:]
	if len(p) < nl+20+HashSize+1 {
		return nil, fmt.Errorf("%w: truncated offer", ErrMalformed)
	}
	o.Name, p = string(p[:nl]), p[nl:]
	o.Size = binary.BigEndian.Uint64(p)
	o.Files = binary.BigEndian.Uint32(p[8:])
	o.ChunkSize = binary.BigEndian.Uint32(p[12:])
	o.ManifestSize = binary.BigEndian.Uint32(p[16:])
	copy(o.Root[:], p[20:])
	p = p[20+HashSize:]
	ml := int(p[0])
	if len(p) != 1+ml {
		return nil, fmt.Errorf("%w: offer length", ErrMalformed)
	}
	o.MIME = string(p[1:])
	if err := o.validate(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *Offer) validate() error {
	if err := CheckName(o.Name); err != nil {
		return err
	}
	switch {
	case o.ChunkSize < MinChunkSize || o.ChunkSize > MaxChunkSize:
		return fmt.Errorf("%w: chunk size %d", ErrMalformed, o.ChunkSize)
	case o.ManifestSize < 9 || o.ManifestSize > MaxManifestBytes:
		return fmt.Errorf("%w: manifest size %d", ErrMalformed, o.ManifestSize)
	case o.Size > maxTotalSize || o.Files > MaxEntries || !o.Folder && o.Files != 1:
		return fmt.Errorf("%w: size %d, %d files", ErrMalformed, o.Size, o.Files)
	case len(o.MIME) > maxMIME || !utf8.ValidString(o.MIME) || strings.ContainsAny(o.MIME, "\r\n"):
		return fmt.Errorf("%w: media type", ErrMalformed)
	}
	return nil
}

// Matches checks that m is the manifest the offer describes (its root was
// checked by the caller): sizes, counts, chunk size, and for a file offer
// one file entry named as the offer.
func (o *Offer) Matches(m *Manifest) error {
	if m.ChunkSize != o.ChunkSize || m.Size() != o.Size || m.FileCount() != int(o.Files) {
		return fmt.Errorf("%w: the manifest does not match the offer", ErrMalformed)
	}
	if !o.Folder && (len(m.Entries) != 1 || m.Entries[0].Dir || m.Entries[0].Path != o.Name) {
		return fmt.Errorf("%w: a file offer's manifest must hold that one file", ErrMalformed)
	}
	return nil
}

// Body returns a chat message body carrying the offer: a line for people
// (what a node that does not know offers shows) and the offer line.
func (o *Offer) Body() string {
	kind := "file"
	if o.Folder {
		kind = fmt.Sprintf("folder of %d files", o.Files)
	}
	return fmt.Sprintf("[%s] %s (%s)\n%s%s", kind, o.Name, HumanSize(o.Size), OfferPrefix,
		base64.RawURLEncoding.EncodeToString(o.Encode()))
}

// ParseBody returns the offer a message body carries, or nil if it carries
// none (an ordinary message). A body with an offer line that does not
// decode is an error.
func ParseBody(body string) (*Offer, error) {
	i := strings.LastIndex(body, "\n"+OfferPrefix)
	if i < 0 {
		return nil, nil
	}
	enc := body[i+1+len(OfferPrefix):]
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: offer line: %w", ErrMalformed, err)
	}
	return DecodeOffer(raw)
}

// HumanSize formats a byte count for people: 512 B, 1.5 KiB, 3.2 GiB.
func HumanSize(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
