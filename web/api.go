package web

import (
	"net/http"
	"strconv"

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
	}
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
}

func writeAPIError(w http.ResponseWriter, err error) {
	ce := control.ErrorOf(err)
	status, ok := statusOf[ce.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeError(w, status, ce.Code, ce.Message, ce.Hint)
}
