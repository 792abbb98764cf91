package web

import (
	"encoding/json"

	"errors"
	"github.com/lanchat/lanchat/control"
	"net/http"
	"strings"
	"time"
)

// csrfHeader carries the session's CSRF token on every state-changing request.
const csrfHeader = "X-Lanchat-Csrf"

// contentSecurityPolicy allows the page's own scripts, styles and
// connections only: no inline script, no eval, no frames, no forms posted
// anywhere.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; manifest-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// Handler is the UI's HTTP handler: every request passes the Host check
// and gets the security headers; /api/ needs a session, and a CSRF token
// and a same-origin proof when it changes something.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.asset("index.html"))
	mux.HandleFunc("GET /app.js", s.asset("app.js"))
	mux.HandleFunc("GET /app.css", s.asset("app.css"))
	mux.HandleFunc("GET /favicon.svg", s.asset("favicon.svg"))
	mux.HandleFunc("GET /login", s.handleLogin)
	mux.HandleFunc("POST /api/logout", s.handleLogout)
	mux.HandleFunc("GET /api/session", s.handleSession)
	mux.HandleFunc("GET /api/rooms", s.handleRooms)
	mux.HandleFunc("GET /api/history", s.handleHistory)
	mux.HandleFunc("GET /api/peers", s.handlePeers)
	mux.HandleFunc("GET /api/trusted", s.handleTrusted)
	mux.HandleFunc("GET /api/events", s.handleEvents)
	mux.HandleFunc("POST /api/send", s.handleSend)
	mux.HandleFunc("POST /api/join", s.handleJoin)
	mux.HandleFunc("POST /api/leave", s.handleLeave)
	mux.HandleFunc("POST /api/trust", s.handleTrust)
	mux.HandleFunc("POST /api/untrust", s.handleUntrust)
	mux.HandleFunc("GET /api/conversations", s.handleConversations)
	mux.HandleFunc("GET /api/members", s.handleMembers)
	mux.HandleFunc("GET /api/receipt", s.handleReceipt)
	mux.HandleFunc("GET /api/files", s.handleFiles)
	mux.HandleFunc("POST /api/send_direct", s.handleSendDirect)
	mux.HandleFunc("POST /api/room_create", s.handleRoomCreate)
	mux.HandleFunc("POST /api/room_invite", s.memberOp(control.API.Invite))
	mux.HandleFunc("POST /api/room_remove", s.memberOp(control.API.RemoveMember))
	mux.HandleFunc("POST /api/room_leave", s.handleRoomLeave)
	mux.HandleFunc("POST /api/mark_read", s.handleMarkRead)
	mux.HandleFunc("POST /api/presence", s.handlePresence)
	mux.HandleFunc("POST /api/fetch", s.handleFetch)
	mux.HandleFunc("POST /api/delete", s.handleDelete)
	return s.guard(mux)
}

// guard applies the rules that hold for every request.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		h.Set("Cache-Control", "no-store")
		if !s.hostAllowed(r.Host) {
			s.logf("web UI: refused a request for Host %q (DNS rebinding?)", r.Host)
			writeError(w, http.StatusForbidden, "bad_host", "this server answers only to its own address", "open the URL lanchat web prints")
			return
		}
		if reason := s.crossOrigin(r); reason != "" {
			writeError(w, http.StatusForbidden, "cross_origin", reason, "")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxRequestBody)
		next.ServeHTTP(w, r)
	})
}

// crossOrigin says why a request comes from another site or origin, or ""
// if it does not. A browser names the origin of a script's request
// (Origin) and how it relates to ours (Sec-Fetch-Site); a page of another
// origin, even on this machine, is refused everything but top-level
// navigation to the page itself.
func (s *Server) crossOrigin(r *http.Request) string {
	if o := r.Header.Get("Origin"); o != "" && !s.originAllowed(o) {
		return "requests from " + o + " are refused"
	}
	site := r.Header.Get("Sec-Fetch-Site")
	switch {
	case site == "" || site == "same-origin" || site == "none":
		return ""
	case r.Method == http.MethodGet && (r.URL.Path == "/" || r.URL.Path == "/login") &&
		r.Header.Get("Sec-Fetch-Mode") == "navigate" && r.Header.Get("Sec-Fetch-Dest") == "document":
		return "" // a link to the page; SameSite=Strict keeps the session out
	default:
		return "requests from another site (" + site + ") are refused"
	}
}

func (s *Server) originAllowed(origin string) bool {
	host, ok := strings.CutPrefix(origin, "http://")
	return ok && s.hostAllowed(host)
}

// session returns the request's session payload, or writes 401.
func (s *Server) session(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	c, err := r.Cookie(s.keys.cookieName())
	if err != nil {
		writeError(w, http.StatusUnauthorized, "no_session", errNoSession.Error(), "run: lanchat web --open")
		return nil, false
	}
	p, err := s.keys.parseSession(c.Value, s.now())
	if err != nil {
		writeError(w, http.StatusUnauthorized, "no_session", err.Error(), "run: lanchat web --open")
		return nil, false
	}
	return p, true
}

// changing returns the session of a state-changing request: the session,
// its CSRF token, a JSON body and the same origin (Origin, or a browser's
// Sec-Fetch-Site) are all required.
func (s *Server) changing(w http.ResponseWriter, r *http.Request) bool {
	p, ok := s.session(w, r)
	if !ok {
		return false
	}
	if !s.keys.checkCSRF(p, r.Header.Get(csrfHeader)) {
		writeError(w, http.StatusForbidden, "csrf", "missing or wrong CSRF token", "reload the page")
		return false
	}
	if r.Header.Get("Origin") == "" && r.Header.Get("Sec-Fetch-Site") != "same-origin" {
		writeError(w, http.StatusForbidden, "cross_origin", "no same-origin proof (Origin header)", "")
		return false
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "bad_request", "the body must be application/json", "")
		return false
	}
	return true
}

// handleLogin trades a login token for a session cookie and sends the
// browser on to the page, so the token leaves the address bar.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	s.mu.Lock()
	ok := s.logins.redeemLocked(tok, s.now())
	s.mu.Unlock()
	if !ok {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte("This login link is not valid: it was used already, it expired, or it was mistyped.\n" +
			"Run \"lanchat web --open\" for a new one.\n"))
		return
	}
	exp := s.now().Add(s.cfg.SessionTTL)
	v, err := s.keys.newSession(exp)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "failed", err.Error(), "")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.keys.cookieName(), Value: v, Path: "/", Expires: exp,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !s.changing(w, r) {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.keys.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	writeJSON(w, map[string]bool{"logged_out": true})
}

// apiError is the body of every error answer.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Hint    string `json:"hint,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, message, hint string) {
	var e apiError
	e.Error.Code, e.Error.Message, e.Error.Hint = code, message, hint
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// decodeBody reads a JSON request body into v, refusing unknown fields.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the request is too large", "")
			return false
		}
		writeError(w, http.StatusBadRequest, "invalid_params", "body: "+err.Error(), "")
		return false
	}
	return true
}

// since parses an optional time bound.
func parseSince(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, v)
}
