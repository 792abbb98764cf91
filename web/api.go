package web

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lanchat/lanchat/control"
)

// sessionInfo is the answer of GET /api/session: who the node is, and what
// the page needs to act.
type sessionInfo struct {
	CSRF         string   `json:"csrf"`
	Fingerprint  string   `json:"fingerprint"`
	Short        string   `json:"short"`
	Nick         string   `json:"nick"`
	Rooms        []string `json:"rooms"`
	MaxBodyBytes int      `json:"max_body_bytes"`
	DefaultRoom  string   `json:"default_room"`
	// Presence and Status are what the node tells its peers now.
	Presence string `json:"presence"`
	Status   string `json:"status"`
	// DownloadDir is the folder on the node's machine the page proposes
	// to fetch files into.
	DownloadDir string `json:"download_dir"`
}

func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	p, ok := s.session(w, r)
	if !ok {
		return
	}
	id, err := s.api.Identity(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	info := sessionInfo{CSRF: s.keys.csrf(p), Fingerprint: id.Fingerprint, Short: id.Short, Nick: id.Nick,
		Rooms: []string{}, MaxBodyBytes: control.MaxBodyBytes, DefaultRoom: control.DefaultRoom}
	if id.Node != nil {
		info.Nick, info.Rooms = id.Node.Nick, id.Node.Rooms
		info.Presence, info.Status = id.Node.Presence, id.Node.Status
	}
	info.DownloadDir = downloadDir(id.DataDir)
	writeJSON(w, info)
}

func (s *Server) handleRooms(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(w, r); !ok {
		return
	}
	rooms, err := s.api.Rooms(r.Context())
	answer(w, rooms, err)
}

// maxHistoryLimit bounds one history page.
const maxHistoryLimit = 5000

// handleHistory answers GET /api/history?room=R&limit=N&grep=T&since=RFC3339,
// the semantics of `lanchat history` (newest N of the matches, in order).
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(w, r); !ok {
		return
	}
	q := r.URL.Query()
	var p control.HistoryParams
	if room := q.Get("room"); room != "" {
		p.Rooms = []string{room}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxHistoryLimit {
			writeError(w, http.StatusBadRequest, "invalid_params", "limit: a number from 0 to "+strconv.Itoa(maxHistoryLimit), "")
			return
		}
		p.Limit = n
	}
	p.Grep = q.Get("grep")
	since, err := parseSince(q.Get("since"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_params", "since: an RFC 3339 time", "")
		return
	}
	p.Since = since
	p.With = q.Get("with")
	p.Kind = q.Get("kind") // which room a name both an open and a private room have means
	views, err := s.api.History(r.Context(), p)
	answer(w, views, err)
}

func (s *Server) handlePeers(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(w, r); !ok {
		return
	}
	peers, err := s.api.Peers(r.Context())
	answer(w, peers, err)
}

func (s *Server) handleTrusted(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(w, r); !ok {
		return
	}
	trusted, err := s.api.Trusted(r.Context())
	answer(w, trusted, err)
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	var p control.SendParams
	if !s.changing(w, r) || !decodeBody(w, r, &p) {
		return
	}
	res, err := s.api.Send(r.Context(), p)
	answer(w, res, err)
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	var p control.RoomParams
	if !s.changing(w, r) || !decodeBody(w, r, &p) {
		return
	}
	res, err := s.api.Join(r.Context(), p.Room)
	answer(w, res, err)
}

func (s *Server) handleLeave(w http.ResponseWriter, r *http.Request) {
	var p control.RoomParams
	if !s.changing(w, r) || !decodeBody(w, r, &p) {
		return
	}
	res, err := s.api.Leave(r.Context(), p.Room)
	answer(w, res, err)
}

func (s *Server) handleTrust(w http.ResponseWriter, r *http.Request) {
	var p control.FingerprintParams
	if !s.changing(w, r) || !decodeBody(w, r, &p) {
		return
	}
	res, err := s.api.Trust(r.Context(), p)
	answer(w, res, err)
}

func (s *Server) handleUntrust(w http.ResponseWriter, r *http.Request) {
	var p control.FingerprintParams
	if !s.changing(w, r) || !decodeBody(w, r, &p) {
		return
	}
	res, err := s.api.Untrust(r.Context(), p.Fingerprint)
	answer(w, res, err)
}

// answer writes v, or err as the control error it stands for.
func answer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, v)
}

// statusOf is the HTTP status of each control error code.
var statusOf = map[string]int{
	control.CodeInvalidParams:  http.StatusBadRequest,
	control.CodeBadFingerprint: http.StatusBadRequest,
	control.CodeBadRoom:        http.StatusBadRequest,
	control.CodeSelf:           http.StatusBadRequest,
	control.CodeNotJoined:      http.StatusConflict,
	control.CodeNotTrusted:     http.StatusNotFound,
	control.CodeNoNode:         http.StatusServiceUnavailable,
	control.CodeBusy:           http.StatusServiceUnavailable,
	control.CodeNotMember:      http.StatusForbidden,
	control.CodeNotYours:       http.StatusForbidden,
	control.CodeNoPeer:         http.StatusNotFound,
	control.CodeNoMessage:      http.StatusNotFound,
	control.CodeAmbiguous:      http.StatusConflict,
	control.CodeBadPresence:    http.StatusBadRequest,
}

func writeAPIError(w http.ResponseWriter, err error) {
	ce := control.ErrorOf(err)
	status, ok := statusOf[ce.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeError(w, status, ce.Code, ce.Message, ce.Hint)
}

// A conversation the page lists: an open room, a private room or a direct
// conversation, by the room id the node stores it under.
type conversation struct {
	Room     string `json:"room"`
	Kind     string `json:"kind"`                // room, private, direct
	Name     string `json:"name"`                // what the page calls it: the room's or the other person's name
	With     string `json:"with,omitempty"`      // direct: the other person's fingerprint
	Member   bool   `json:"member"`              // private: still a member
	Admin    bool   `json:"admin,omitempty"`     // private: this node is an admin
	Unread   int    `json:"unread"`              // others' messages after the read position
	Mentions int    `json:"mentions"`            // of them, those that mention this node
	LastRead string `json:"last_read,omitempty"` // the id of the last message read
}

// handleConversations answers GET /api/conversations: every conversation
// with its unread and mention counts (room_status), private rooms by name
// (private_rooms), direct ones by the other person (from their messages).
func (s *Server) handleConversations(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(w, r); !ok {
		return
	}
	ctx := r.Context()
	rooms, err := s.api.Rooms(ctx)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	status, err := s.api.RoomStatus(ctx)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	private, err := s.api.PrivateRooms(ctx)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	byRoom := map[string]control.RoomStatus{}
	for _, st := range status {
		byRoom[st.Room] = st
	}
	out := []conversation{}
	add := func(c conversation) {
		st := byRoom[c.Room]
		c.Unread, c.Mentions, c.LastRead = st.Unread, st.Mentions, st.LastRead
		out = append(out, c)
	}
	for _, room := range rooms {
		add(conversation{Room: room, Kind: control.KindRoom, Name: room, Member: true})
	}
	for _, pr := range private {
		add(conversation{Room: pr.ID, Kind: control.KindPrivate, Name: pr.Name, Member: pr.Member, Admin: pr.Admin})
	}
	for _, st := range status {
		if !strings.HasPrefix(st.Room, directPrefix) {
			continue
		}
		last, err := s.api.History(ctx, control.HistoryParams{Rooms: []string{st.Room}, Limit: 1})
		if err != nil || len(last) == 0 || last[0].With == "" {
			continue // nothing readable in it (sealed, or wiped)
		}
		name := last[0].WithNick
		if name == "" {
			name = last[0].With[:7]
		}
		add(conversation{Room: st.Room, Kind: control.KindDirect, Name: name, With: last[0].With, Member: true})
	}
	writeJSON(w, out)
}

// directPrefix starts the room id of every direct conversation (PROTOCOL.md 5.9).
const directPrefix = "dm."

func (s *Server) handleSendDirect(w http.ResponseWriter, r *http.Request) {
	var p control.DirectParams
	if !s.changing(w, r) || !decodeBody(w, r, &p) {
		return
	}
	res, err := s.api.SendDirect(r.Context(), p)
	answer(w, res, err)
}

func (s *Server) handleRoomCreate(w http.ResponseWriter, r *http.Request) {
	var p control.CreateRoomParams
	if !s.changing(w, r) || !decodeBody(w, r, &p) {
		return
	}
	res, err := s.api.CreateRoom(r.Context(), p)
	answer(w, res, err)
}

// memberOp serves room_invite and room_remove.
func (s *Server) memberOp(op func(control.API, context.Context, control.MemberParams) (*control.MemberResult, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var p control.MemberParams
		if !s.changing(w, r) || !decodeBody(w, r, &p) {
			return
		}
		res, err := op(s.api, r.Context(), p)
		answer(w, res, err)
	}
}

func (s *Server) handleRoomLeave(w http.ResponseWriter, r *http.Request) {
	var p control.RoomParams
	if !s.changing(w, r) || !decodeBody(w, r, &p) {
		return
	}
	res, err := s.api.LeaveRoom(r.Context(), p.Room)
	answer(w, res, err)
}

// handleMembers answers GET /api/members?room=R (a private room's name or id).
func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(w, r); !ok {
		return
	}
	res, err := s.api.Members(r.Context(), r.URL.Query().Get("room"))
	answer(w, res, err)
}

// handleReceipt answers GET /api/receipt?room=R&seq=N[&kind=K]: how far one of this
// node's messages got.
func (s *Server) handleReceipt(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(w, r); !ok {
		return
	}
	q := r.URL.Query()
	seq, err := strconv.ParseUint(q.Get("seq"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_params", "seq: a message's sequence number", "")
		return
	}
	res, err := s.api.Receipt(r.Context(), control.ReceiptParams{Room: q.Get("room"), Seq: seq, Kind: q.Get("kind")})
	answer(w, res, err)
}

func (s *Server) handleMarkRead(w http.ResponseWriter, r *http.Request) {
	var p control.MarkReadParams
	if !s.changing(w, r) || !decodeBody(w, r, &p) {
		return
	}
	res, err := s.api.MarkRead(r.Context(), p)
	answer(w, res, err)
}

func (s *Server) handlePresence(w http.ResponseWriter, r *http.Request) {
	var p control.PresenceParams
	if !s.changing(w, r) || !decodeBody(w, r, &p) {
		return
	}
	res, err := s.api.SetPresence(r.Context(), p)
	answer(w, res, err)
}

func (s *Server) handleFiles(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(w, r); !ok {
		return
	}
	res, err := s.api.Files(r.Context())
	answer(w, res, err)
}

func (s *Server) handleFetch(w http.ResponseWriter, r *http.Request) {
	var p control.FetchParams
	if !s.changing(w, r) || !decodeBody(w, r, &p) {
		return
	}
	res, err := s.api.Fetch(r.Context(), p)
	answer(w, res, err)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	var p control.DeleteParams
	if !s.changing(w, r) || !decodeBody(w, r, &p) {
		return
	}
	res, err := s.api.Delete(r.Context(), p)
	answer(w, res, err)
}

// downloadDir is the folder the page offers to fetch files into: the
// user's Downloads folder (the node runs as the same user on the same
// machine: the control socket is a unix socket), else one in the data dir.
func downloadDir(dataDir string) string {
	if home, err := os.UserHomeDir(); err == nil && filepath.IsAbs(home) {
		return filepath.Join(home, "Downloads")
	}
	return filepath.Join(dataDir, "downloads")
}
