package recording

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/openroom/openroom/room"
)

// Answer codes of the operator API (as the room API's: docs/api.md).
const (
	codeOK        = 0
	codeNoRoom    = 3
	codeBadBody   = 4001
	codeBadToken  = 4010
	codeNotFound  = 4040
	codeServerErr = 5000
)

// Register mounts the operator API, for a backend holding the server's secret:
//
//	POST /api/rooms/{room}/recording          {"action":"start"|"stop"} -> {code, room, recording}
//	GET  /api/rooms/{room}/recordings         -> {code, room, recording, recordings: [...]}
//	GET  /api/rooms/{room}/recordings/{file}  the file (Range requests work)
//
// Every call needs Authorization: Bearer <secret>.
func (s *Service) Register(mux *http.ServeMux, secret string) {
	op := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if secret == "" || subtle.ConstantTimeCompare([]byte(token), []byte(secret)) != 1 {
				answer(w, http.StatusUnauthorized, map[string]any{"code": codeBadToken,
					"message": "the recording API needs Authorization: Bearer <server secret>"})
				return
			}
			if !s.Enabled() {
				answer(w, http.StatusNotFound, map[string]any{"code": codeNotFound, "message": ErrOff.Error()})
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("POST /api/rooms/{room}/recording", op(s.serveControl))
	mux.HandleFunc("GET /api/rooms/{room}/recordings", op(s.serveList))
	mux.HandleFunc("GET /api/rooms/{room}/recordings/{file}", op(s.serveFile))
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Service) serveControl(w http.ResponseWriter, r *http.Request) {
	roomName := r.PathValue("room")
	var body struct {
		Action string `json:"action"`
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1025))
	if err == nil && len(b) > 1024 {
		err = errors.New("body over 1024 bytes")
	}
	if err == nil {
		err = json.Unmarshal(b, &body)
	}
	if err == nil && body.Action != "start" && body.Action != "stop" {
		err = fmt.Errorf("action %q", body.Action)
	}
	if err != nil {
		answer(w, http.StatusBadRequest, map[string]any{"code": codeBadBody,
			"message": fmt.Sprintf("%v: want JSON {\"action\":\"start\"} or {\"action\":\"stop\"}", err)})
		return
	}
	if body.Action == "start" {
		err = s.Start(roomName)
	} else {
		err = s.Stop(roomName)
	}
	switch {
	case errors.Is(err, room.ErrNoRoom):
		answer(w, http.StatusNotFound, map[string]any{"code": codeNoRoom, "message": err.Error()})
	case err != nil:
		answer(w, http.StatusInternalServerError, map[string]any{"code": codeServerErr, "message": err.Error()})
	default:
		answer(w, http.StatusOK, map[string]any{"code": codeOK, "room": roomName, "recording": s.Recording(roomName)})
	}
}

// File is a recording as the operator API lists it.
type File struct {
	Name     string      `json:"name"` // the media file, in the room's directory
	Sidecar  string      `json:"sidecar"`
	URL      string      `json:"url"` // GET it with the secret
	Room     string      `json:"room"`
	UserID   string      `json:"userID"`
	NickName string      `json:"nickName,omitempty"`
	Screen   bool        `json:"screen,omitempty"`
	Start    time.Time   `json:"start"`
	End      *time.Time  `json:"end,omitempty"` // absent while recording, or when the process was killed
	Duration float64     `json:"duration"`      // seconds; 0 when the end is unknown
	Bytes    int64       `json:"bytes"`
	Tracks   []TrackInfo `json:"tracks"`
	Skipped  []TrackInfo `json:"skipped,omitempty"`
	Complete bool        `json:"complete"`
	Error    string      `json:"error,omitempty"`
}

// FileOf is how rec is listed.
func FileOf(rec Recording) File {
	f := File{Name: rec.File, Sidecar: filepath.Base(rec.Sidecar), Room: rec.Room, UserID: rec.UserID, NickName: rec.Name,
		Screen: rec.Screen, Start: rec.Start, Duration: rec.Duration.Seconds(), Bytes: rec.Bytes, Tracks: rec.Tracks,
		Skipped: rec.Skipped, Complete: rec.Complete, Error: rec.Error,
		URL: "/api/rooms/" + rec.Room + "/recordings/" + rec.File}
	if !rec.End.IsZero() {
		end := rec.End
		f.End = &end
	}
	if f.Tracks == nil {
		f.Tracks = []TrackInfo{}
	}
	return f
}

func (s *Service) serveList(w http.ResponseWriter, r *http.Request) {
	roomName := r.PathValue("room")
	if !room.ValidName(roomName) {
		answer(w, http.StatusNotFound, map[string]any{"code": codeNoRoom, "message": room.ErrBadRoomName.Error()})
		return
	}
	recs, err := s.List(roomName)
	if err != nil {
		answer(w, http.StatusInternalServerError, map[string]any{"code": codeServerErr, "message": err.Error()})
		return
	}
	files := make([]File, 0, len(recs))
	for _, rec := range recs {
		files = append(files, FileOf(rec))
	}
	answer(w, http.StatusOK, map[string]any{"code": codeOK, "room": roomName, "recording": s.Recording(roomName), "recordings": files})
}

func (s *Service) serveFile(w http.ResponseWriter, r *http.Request) {
	f, info, err := s.Open(r.PathValue("room"), r.PathValue("file"))
	if errors.Is(err, fs.ErrNotExist) {
		answer(w, http.StatusNotFound, map[string]any{"code": codeNoRoom, "message": "no such recording: " + r.PathValue("file")})
		return
	}
	if err != nil {
		answer(w, http.StatusInternalServerError, map[string]any{"code": codeServerErr, "message": err.Error()})
		return
	}
	defer f.Close()
	ctype := "video/mp4"
	if strings.HasSuffix(info.Name(), ".json") {
		ctype = "application/json"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, info.Name(), info.ModTime(), f)
}
