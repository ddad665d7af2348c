// Package admin is the operator's view of a running openroom: a page at /admin
// and the JSON API it polls, to watch rooms, members and tracks, to remove
// members or close rooms, and (with Options.Recordings) to record rooms and
// fetch the recordings.
//
// Mounted at /admin (mux.Handle("/admin/", h) and mux.Handle("/admin", h)):
//
//	GET  /admin                                            the page (no token needed: it asks for one)
//	GET  /admin/static/{file}                              its script and stylesheet
//	GET  /admin/api/rooms                                  {now, rooms, stats} with per-track kbit/s;
//	                                                       each room has recording: bool when recording is on;
//	                                                       in cluster mode node, nodes and clusterError too (below)
//	POST /admin/api/rooms/{room}/members/{user}/kick       body {reason?} -> {code: 0}
//	POST /admin/api/rooms/{room}/close                     body {reason?} -> {code: 0}
//	POST /admin/api/rooms/{room}/recording                 body {action: "start"|"stop"} -> {code: 0, recording: bool}
//	GET  /admin/api/recordings                             {code: 0, recordings: [RecordingFile]}, every room's
//	GET  /admin/api/rooms/{room}/recordings                {code: 0, recordings: [RecordingFile]}, one room's
//	GET  /admin/download/{room}/{name}?exp=&sig=[&dl=1]    one recording (Range requests work); no token needed
//	GET  /admin/debug/pprof/...                            Go profiles (pprof.go)
//
// Every /admin/api call needs Authorization: Bearer <admin token>. Errors are
// JSON {code, message}: 4010 (401) bad or missing token, 3 (404) no such room
// or member, 4040 (404) no such endpoint, admin disabled or recording off,
// 4050 (405) wrong method, 4001 (400) malformed body, 5020 (502) the room's
// node does not answer or refuses the token (cluster mode). With no token
// configured every route is 404.
//
// In cluster mode (Options.Cluster) the listing is the cluster's: it adds
// "node" (this node's ID), "nodes" [{id, publicURL, members, tracks, cpu,
// rooms, self}] (every live node; this node's figures live, the others' as of
// their last heartbeat), and the other nodes' rooms, each room with "node"
// (the node it lives on); another node's members have userID, nickName and
// kind only (tracks empty, joined and lastSeen 0, no recording field). When
// Redis cannot be read within a second, the listing is this node's rooms with
// "clusterError" saying why. A kick or close for a room on another node is
// passed to that node (same method, path, body and token, marked with
// ForwardedHeader so it is never passed on again) and its answer returned:
// every node needs the same admin token. "stats" stays this node's.
//
// A download cannot send the Authorization header (it is a link, or a <video>
// source), so each listed RecordingFile carries a download URL signed with
// HMAC-SHA256 over "{room}\n{name}\n{exp}", keyed with the hash of the admin
// token, that works for an hour: 4030 (403) answers a missing, wrong or expired
// signature. Changing the admin token revokes every link.
package admin

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openroom/openroom/room"
)

// Options configure the admin handler.
type Options struct {
	Rooms  *room.Manager
	Token  string // the admin token; "" disables admin (every route is 404)
	Logger *slog.Logger
	Now    func() time.Time // clock for the bitrate samples and download links; default time.Now
	// Recordings records rooms; nil when recording is off: no recording field
	// in the listing, and the recording routes answer 404 code 4040.
	Recordings Recordings
	// Cluster is the cluster in cluster mode (cluster.go); nil on a single
	// node, whose answers do not change.
	Cluster Cluster
}

// Answer codes (shared with docs/api.md where they overlap).
const (
	CodeOK          = 0
	CodeNoRoom      = 3 // no such room, or no such member in it
	CodeBadRequest  = 4001
	CodeBadToken    = 4010
	CodeNotFound    = 4040
	CodeBadMethod   = 4050
	CodeServerError = 5000
)

// Default reasons told to removed members (the demo shows them in its banner).
const (
	DefaultKickReason  = "removed by the operator"
	DefaultCloseReason = "the room was closed by the operator"
)

const (
	mount       = "/admin"
	maxBody     = 4 << 10
	maxReason   = 200 // bytes
	disabledMsg = "admin is disabled: set admin_token (or --admin-token, OPENROOM_ADMIN_TOKEN) to enable /admin"
)

//go:embed static
var static embed.FS

type handler struct {
	rooms     *room.Manager
	recs      Recordings // nil: recording is off
	now       func() time.Time
	tokenHash [32]byte
	enabled   bool
	log       *slog.Logger
	rates     *rates
	page      *asset
	assets    map[string]*asset // by file name under static/

	cluster        Cluster       // nil: a single node
	client         *http.Client  // passes kicks and closes to the room's node (cluster.go)
	clusterTimeout time.Duration // bounds each call to the cluster (a field: tests need not wait a second)
}

type asset struct {
	body        []byte
	etag        string
	contentType string
}

// Handler returns the admin page and API. It expects the request path to keep
// its /admin prefix (mount it without http.StripPrefix).
func Handler(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &handler{
		rooms:     o.Rooms,
		recs:      o.Recordings,
		now:       o.Now,
		tokenHash: sha256.Sum256([]byte(o.Token)),
		enabled:   o.Token != "",
		log:       o.Logger,
		rates:     newRates(o.Now),
		assets:    map[string]*asset{},

		cluster: o.Cluster,
		// No keep-alive: kicks and closes on other nodes are rare, and no
		// idle connection outlives the call.
		client:         &http.Client{Timeout: forwardTimeout, Transport: &http.Transport{DisableKeepAlives: true}},
		clusterTimeout: clusterTimeout,
	}
	for _, name := range []string{"admin.html", "admin.js", "admin.css"} {
		body, err := static.ReadFile("static/" + name)
		if err != nil {
			panic("admin: embedded file missing: " + err.Error()) // a build defect
		}
		sum := sha256.Sum256(body)
		h.assets[name] = &asset{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, contentType: contentType(name)}
	}
	h.page = h.assets["admin.html"]
	delete(h.assets, "admin.html") // served only as the page, with its headers
	return h
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	}
	return "application/octet-stream"
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, mount)
	if !ok || (rest != "" && rest[0] != '/') { // e.g. /administrator: not ours
		http.NotFound(w, r)
		return
	}
	prof := rest == pprofPrefix || strings.HasPrefix(rest, pprofPrefix+"/")
	api := rest == "/api" || strings.HasPrefix(rest, "/api/") || prof
	dl := rest == downloadPrefix || strings.HasPrefix(rest, downloadPrefix+"/")
	if !h.enabled {
		// Checked before anything else: with no token the signing key is the
		// hash of "", which anyone can compute, so no download may be served.
		if api || dl {
			writeJSON(w, http.StatusNotFound, CodeNotFound, disabledMsg)
		} else {
			w.Header().Set("X-Content-Type-Options", "nosniff")
			http.Error(w, disabledMsg, http.StatusNotFound)
		}
		return
	}
	switch {
	case prof:
		h.servePprof(w, r, rest)
	case api:
		h.serveAPI(w, r, strings.TrimPrefix(rest, "/api"))
	case dl:
		h.serveDownload(w, r, rest)
	case rest == "" || rest == "/":
		if !allowMethod(w, r, false, http.MethodGet, http.MethodHead) {
			return
		}
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
			"connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		serveAsset(w, r, h.page)
	case strings.HasPrefix(rest, "/static/"):
		a, ok := h.assets[strings.TrimPrefix(rest, "/static/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if !allowMethod(w, r, false, http.MethodGet, http.MethodHead) {
			return
		}
		serveAsset(w, r, a)
	default:
		http.NotFound(w, r)
	}
}

func serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// allowMethod answers 405 (JSON for the API) unless r's method is one of methods.
func allowMethod(w http.ResponseWriter, r *http.Request, api bool, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	msg := fmt.Sprintf("method %s not allowed here: use %s", r.Method, strings.Join(methods, " or "))
	if api {
		writeJSON(w, http.StatusMethodNotAllowed, CodeBadMethod, msg)
	} else {
		http.Error(w, msg, http.StatusMethodNotAllowed)
	}
	return false
}

// authorized reports whether r carries "Authorization: Bearer <token>". Both
// sides are hashed first, so the comparison takes the same time whatever the
// length or content of the guess.
func (h *handler) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) == 1
}

// checkToken answers 401 and reports false unless r carries the admin token.
func (h *handler) checkToken(w http.ResponseWriter, r *http.Request) bool {
	if h.authorized(r) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="openroom admin"`)
	msg := "missing token: send Authorization: Bearer <admin_token>"
	if r.Header.Get("Authorization") != "" {
		msg = "wrong token: send Authorization: Bearer <admin_token>"
	}
	h.log.Debug("admin: unauthorized", "path", r.URL.Path, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusUnauthorized, CodeBadToken, msg)
	return false
}

func (h *handler) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	w.Header().Set("Cache-Control", "no-store")
	if !h.checkToken(w, r) {
		return
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "rooms":
		if allowMethod(w, r, true, http.MethodGet, http.MethodHead) {
			h.list(w, r)
		}
	case len(parts) == 3 && parts[0] == "rooms" && parts[2] == "close":
		if allowMethod(w, r, true, http.MethodPost) {
			h.closeRoom(w, r, parts[1])
		}
	case len(parts) == 5 && parts[0] == "rooms" && parts[2] == "members" && parts[4] == "kick":
		if allowMethod(w, r, true, http.MethodPost) {
			h.kick(w, r, parts[1], parts[3])
		}
	case len(parts) == 3 && parts[0] == "rooms" && parts[2] == "recording":
		if h.recordingOn(w) && allowMethod(w, r, true, http.MethodPost) {
			h.setRecording(w, r, parts[1])
		}
	case len(parts) == 3 && parts[0] == "rooms" && parts[2] == "recordings":
		if h.recordingOn(w) && allowMethod(w, r, true, http.MethodGet, http.MethodHead) && recordingRoom(w, parts[1]) {
			h.listRecordings(w, parts[1])
		}
	case len(parts) == 1 && parts[0] == "recordings":
		if h.recordingOn(w) && allowMethod(w, r, true, http.MethodGet, http.MethodHead) {
			h.listRecordings(w, "")
		}
	default:
		writeJSON(w, http.StatusNotFound, CodeNotFound, "no such admin endpoint: "+r.URL.Path)
	}
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	details := h.rooms.Details()
	stats := h.rooms.Stats()
	l := h.rates.listing(details, stats)
	if h.recs != nil { // the page shows the Record buttons only when the field is there
		for i := range l.Rooms {
			on := h.recs.Recording(l.Rooms[i].Name)
			l.Rooms[i].Recording = &on
		}
	}
	if h.cluster != nil { // after the recording fields: other nodes' rooms have none here
		h.addCluster(r.Context(), &l)
	}
	writeValue(w, http.StatusOK, l)
}

// recordingOn answers 404 and reports false when recording is off.
func (h *handler) recordingOn(w http.ResponseWriter) bool {
	if h.recs == nil {
		writeJSON(w, http.StatusNotFound, CodeNotFound, recordingOffMsg)
	}
	return h.recs != nil
}

func (h *handler) kick(w http.ResponseWriter, r *http.Request, roomName, user string) {
	reason, body, ok := readReason(w, r, DefaultKickReason)
	if !ok || h.forward(w, r, roomName, body) {
		return
	}
	if err := h.rooms.Kick(roomName, user, reason); err != nil {
		h.answerError(w, err)
		return
	}
	h.log.Info("admin: member kicked", "room", roomName, "user", user, "reason", reason, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, CodeOK, "ok")
}

func (h *handler) closeRoom(w http.ResponseWriter, r *http.Request, roomName string) {
	reason, body, ok := readReason(w, r, DefaultCloseReason)
	if !ok || h.forward(w, r, roomName, body) {
		return
	}
	members, _ := h.rooms.Members(roomName) // for the log line only
	if err := h.rooms.CloseRoom(roomName, reason); err != nil {
		h.answerError(w, err)
		return
	}
	users := make([]string, len(members))
	for i, m := range members {
		users[i] = m.UserID
	}
	h.log.Info("admin: room closed", "room", roomName, "users", strings.Join(users, ","), "reason", reason,
		"remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, CodeOK, "ok")
}

func (h *handler) answerError(w http.ResponseWriter, err error) {
	if errors.Is(err, room.ErrNoRoom) || errors.Is(err, room.ErrNotMember) {
		writeJSON(w, http.StatusNotFound, CodeNoRoom, err.Error())
		return
	}
	h.log.Error("admin: request failed", "err", err)
	writeJSON(w, http.StatusInternalServerError, CodeServerError, err.Error())
}

// readReason reads an optional JSON body {reason}; an empty body or reason
// gives def. It returns the body too, to pass on to the room's node. On a bad
// body it answers 400 and reports false.
func readReason(w http.ResponseWriter, r *http.Request, def string) (string, []byte, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err == nil && len(b) > maxBody {
		err = fmt.Errorf("body over %d bytes", maxBody)
	}
	var body struct {
		Reason *string `json:"reason"`
	}
	if err == nil && len(bytes.TrimSpace(b)) > 0 {
		err = json.Unmarshal(b, &body)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("%v: want an empty body or JSON {reason?}", err))
		return "", nil, false
	}
	if body.Reason == nil || strings.TrimSpace(*body.Reason) == "" {
		return def, b, true
	}
	reason := strings.TrimSpace(*body.Reason)
	if len(reason) > maxReason || !utf8.ValidString(reason) {
		writeJSON(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("reason: want at most %d bytes of UTF-8", maxReason))
		return "", nil, false
	}
	return reason, b, true
}

func writeJSON(w http.ResponseWriter, status, code int, message string) {
	writeValue(w, status, map[string]any{"code": code, "message": message})
}

func writeValue(w http.ResponseWriter, status int, v any) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
