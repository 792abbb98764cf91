package chat

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lanchat/lanchat/chat/files"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// File states, as FileView.State (and `files --json`) shows them.
const (
	FileOffered  = "offered"  // in the room; not fetched here (or this node's own offer)
	FileFetching = "fetching" // being fetched
	FilePaused   = "paused"   // being fetched, waiting: the disk is full, or no member serves it now
	FileDone     = "done"     // complete and verified, at Path
	FileFailed   = "failed"   // given up; Error says why
)

// FileOfferView is what a message carrying a file offer offers.
type FileOfferView struct {
	Name   string `json:"name"`
	Folder bool   `json:"folder,omitempty"`
	Size   uint64 `json:"size"`
	Files  uint32 `json:"files"`
	MIME   string `json:"mime,omitempty"`
	Root   string `json:"root"` // hex SHA-256 naming the chunk list
}

// FileView is one file offer and what this node did with it.
type FileView struct {
	ID        string    `json:"id"` // the offer message's id: what `fetch` takes
	Room      string    `json:"room"`
	From      string    `json:"from"` // the offering author's fingerprint
	FromShort string    `json:"from_short"`
	Nick      string    `json:"nick,omitempty"`
	Time      time.Time `json:"time"`
	Own       bool      `json:"own,omitempty"`
	Trusted   bool      `json:"trusted"`
	FileOfferView
	State string `json:"state"`
	// Have is the verified bytes held here; Fetched the bytes received by
	// this run of the fetch (what a resume did not have to fetch again is
	// Have − Fetched at its start).
	Have    uint64 `json:"have"`
	Fetched uint64 `json:"fetched,omitempty"`
	// Rate is the fetch's recent speed in bytes per second.
	Rate    float64  `json:"rate,omitempty"`
	Sources int      `json:"sources,omitempty"` // members that served chunks of it this run
	Path    string   `json:"path,omitempty"`    // where it is (done, or an offer of this node)
	Error   string   `json:"error,omitempty"`
	Skipped []string `json:"skipped,omitempty"` // left out of an offered folder: symlinks, special files
}

// fileOfferOf returns the offer a message view carries, if any.
func fileOfferOf(body string) *files.Offer {
	o, err := files.ParseBody(body)
	if err != nil {
		return nil
	}
	return o
}

func offerView(o *files.Offer) *FileOfferView {
	return &FileOfferView{Name: o.Name, Folder: o.Folder, Size: o.Size, Files: o.Files, MIME: o.MIME, Root: hex.EncodeToString(o.Root[:])}
}

func fileViewOf(v *MessageView, o *files.Offer) *FileView {
	return &FileView{ID: v.ID, Room: v.Room, From: v.Author, FromShort: v.AuthorShort, Nick: v.Nick,
		Time: v.Time, Own: v.Own, Trusted: v.Trusted, FileOfferView: *offerView(o), State: FileOffered}
}

// findOffer returns the offer message whose id is id or starts with it.
func findOffer(views []*MessageView, id string) (*MessageView, *files.Offer, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) < 4 {
		return nil, nil, fmt.Errorf("file id %q is too short: give at least 4 characters of it (see `lanchat files`)", id)
	}
	var hit *MessageView
	var offer *files.Offer
	for _, v := range views {
		if o := fileOfferOf(v.Body); o != nil && strings.HasPrefix(v.ID, id) && !v.Damaged {
			if hit != nil && hit.ID != v.ID {
				return nil, nil, fmt.Errorf("file id %q is ambiguous: give more characters of it", id)
			}
			hit, offer = v, o
		}
	}
	if hit == nil {
		return nil, nil, fmt.Errorf("no file offer with id %q in your rooms: see `lanchat files`", id)
	}
	return hit, offer, nil
}

// offerMessages returns the stored messages that may carry offers.
func offerMessages(store *storage.DB, self lcrypto.IdentityKey, nick string) ([]*MessageView, error) {
	return ReadHistory(store, self, nick, HistoryQuery{Grep: files.OfferPrefix})
}

// ReadFiles lists the file offers in the store's history with what the
// records in filesDir say about them (for a front end when no node runs).
func ReadFiles(store *storage.DB, filesDir string, self lcrypto.IdentityKey, selfNick string) ([]*FileView, error) {
	views, err := offerMessages(store, self, selfNick)
	if err != nil {
		return nil, err
	}
	return filesOf(store, views, filesDir, nil), nil
}

// Files lists the file offers in the node's history, newest last, with
// the state of each fetch.
func (n *Node) Files() ([]*FileView, error) {
	views, err := n.History(HistoryQuery{Grep: files.OfferPrefix})
	if err != nil {
		return nil, err
	}
	return filesOf(n.store, views, n.cfg.FilesDir, n.liveTransfers()), nil
}

// filesOf joins offers with the records and the live transfers.
func filesOf(store *storage.DB, views []*MessageView, filesDir string, live map[string]*FileView) []*FileView {
	var shares []files.Share
	var fetches []files.Fetch
	if filesDir != "" { // reading moves and creates nothing
		st := files.ViewStore(filesDir, store)
		shares, _ = st.Shares()
		fetches, _ = st.Fetches()
	}
	out := []*FileView{}
	for _, v := range views {
		o := fileOfferOf(v.Body)
		if o == nil || v.Damaged {
			continue
		}
		fv := fileViewOf(v, o)
		if i := slices.IndexFunc(shares, func(s files.Share) bool { return s.OfferID == v.ID }); i >= 0 {
			fv.Path, fv.Have, fv.Error = shares[i].Path, o.Size, shares[i].Changed
		}
		if i := slices.IndexFunc(fetches, func(f files.Fetch) bool { return f.OfferID == v.ID }); i >= 0 {
			switch fetches[i].State {
			case files.FetchDone:
				fv.State, fv.Path, fv.Have = FileDone, fetches[i].Final, o.Size
			case files.FetchActive:
				fv.State = FilePaused
			case files.FetchFailed:
				fv.State, fv.Error = FileFailed, fetches[i].Error
			}
		}
		if lv := live[v.ID]; lv != nil {
			fv.State, fv.Have, fv.Fetched, fv.Rate, fv.Sources, fv.Path, fv.Error = lv.State, lv.Have, lv.Fetched, lv.Rate, lv.Sources, lv.Path, lv.Error
		}
		out = append(out, fv)
	}
	return out
}
