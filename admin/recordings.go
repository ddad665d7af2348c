package admin

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/openroom/openroom/room"
)

// Recordings is the recording service as the admin page uses it. Optional.
type Recordings interface {
	Recording(room string) bool                                     // whether room records now
	Start(room string) error                                        // room.ErrNoRoom (wrapped) when the room does not exist; idempotent
	Stop(room string) error                                         // idempotent; room.ErrNoRoom when no such room
	Files(room string) ([]RecordingFile, error)                     // room "" = every room's; newest first
	Open(room, name string) (io.ReadSeekCloser, os.FileInfo, error) // one file for download; an error wrapping fs.ErrNotExist when unknown
}

// RecordingFile is one recorded file as the API lists it.
type RecordingFile struct {
	Room     string    `json:"room"`
	Name     string    `json:"name"` // file name inside the room's directory, e.g. alice-20261206T154500Z.mp4
	UserID   string    `json:"userID"`
	NickName string    `json:"nickName"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end,omitzero"` // zero while recording (or if the process was killed)
	Duration float64   `json:"duration"`     // seconds
	Bytes    int64     `json:"bytes"`
	Tracks   []string  `json:"tracks"`   // e.g. "video H264", "audio opus"
	Complete bool      `json:"complete"` // finished cleanly
	Download string    `json:"download"` // filled in by the admin handler: a signed /admin/download URL
}

// CodeBadSignature answers a download link whose signature is missing, wrong
// or expired.
const CodeBadSignature = 4030

const (
	recordingOffMsg = "recording is off: set record_dir"
	downloadPrefix  = "/download"
	// linkTTL is how long a listed download link works: long enough to watch a
	// long recording from a link copied out of the page, short enough that a
	// link that leaked (a shared screenshot, a chat paste) soon stops working.
	linkTTL = time.Hour
)

// The answers of the recording routes.
type recordingAnswer struct {
	Code      int    `json:"code"`
	Message   string `json:"message"`
	Recording bool   `json:"recording"`
}

type recordingsAnswer struct {
	Code       int             `json:"code"`
	Recordings []RecordingFile `json:"recordings"`
}

// recordingRoom answers 404 and reports false unless name could name a room.
// Room names are a strict alphabet (room.ValidName), and the service turns
// them into directory names: anything else ("", "..", "a/b") is refused here
// rather than trusted to the service.
func recordingRoom(w http.ResponseWriter, name string) bool {
	if room.ValidName(name) {
		return true
	}
	writeJSON(w, http.StatusNotFound, CodeNoRoom, fmt.Sprintf("%v: %q", room.ErrNoRoom, name))
	return false
}

// setRecording serves POST /admin/api/rooms/{room}/recording {action}.
func (h *handler) setRecording(w http.ResponseWriter, r *http.Request, roomName string) {
	action, ok := readAction(w, r)
	if !ok || !recordingRoom(w, roomName) {
		return
	}
	var err error
	if action == "start" {
		err = h.recs.Start(roomName)
	} else {
		err = h.recs.Stop(roomName)
	}
	if err != nil {
		h.answerError(w, err)
		return
	}
	now := h.recs.Recording(roomName)
	h.log.Info("admin: recording "+action, "room", roomName, "recording", now, "remote", r.RemoteAddr)
	writeValue(w, http.StatusOK, recordingAnswer{Code: CodeOK, Message: "ok", Recording: now})
}

// readAction reads the JSON body {action: "start" | "stop"}. On anything else
// it answers 400 and reports false.
func readAction(w http.ResponseWriter, r *http.Request) (string, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err == nil && len(b) > maxBody {
		err = fmt.Errorf("body over %d bytes", maxBody)
	}
	var body struct {
		Action string `json:"action"`
	}
	if err == nil {
		err = json.Unmarshal(bytes.TrimSpace(b), &body)
	}
	if err == nil && body.Action != "start" && body.Action != "stop" {
		err = fmt.Errorf("action %q", body.Action)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf(`%v: want JSON {"action": "start" or "stop"}`, err))
		return "", false
	}
	return body.Action, true
}

// listRecordings serves GET /admin/api/recordings (roomName "") and
// /admin/api/rooms/{room}/recordings. A room that has closed still lists its
// files: they outlive it.
func (h *handler) listRecordings(w http.ResponseWriter, roomName string) {
	files, err := h.recs.Files(roomName)
	if err != nil {
		h.answerError(w, err)
		return
	}
	out := make([]RecordingFile, len(files)) // a copy: the service's slice is not ours to fill in
	exp := h.now().Add(linkTTL).Unix()
	for i, f := range files {
		f.Download = h.downloadURL(f.Room, f.Name, exp)
		if f.Tracks == nil {
			f.Tracks = []string{} // the page reads it as a list
		}
		out[i] = f
	}
	writeValue(w, http.StatusOK, recordingsAnswer{Code: CodeOK, Recordings: out})
}

// downloadURL is the link to one file, signed to work until exp (Unix s)
// without the Authorization header, which a link, a <video> or a download
// cannot send.
func (h *handler) downloadURL(roomName, name string, exp int64) string {
	e := strconv.FormatInt(exp, 10)
	q := url.Values{"exp": {e}, "sig": {hex.EncodeToString(h.sign(roomName, name, e))}}
	return mount + downloadPrefix + "/" + url.PathEscape(roomName) + "/" + url.PathEscape(name) + "?" + q.Encode()
}

// sign is the signature of a download link. It is keyed with the hash of the
// admin token, so changing the token revokes every link handed out.
func (h *handler) sign(roomName, name, exp string) []byte {
	m := hmac.New(sha256.New, h.tokenHash[:])
	io.WriteString(m, roomName+"\n"+name+"\n"+exp)
	return m.Sum(nil)
}

// serveDownload serves GET /admin/download/{room}/{name}?exp=&sig=[&dl=1].
func (h *handler) serveDownload(w http.ResponseWriter, r *http.Request, rest string) {
	w.Header().Set("Cache-Control", "no-store") // recordings of people; and files in progress change
	if h.recs == nil {
		writeJSON(w, http.StatusNotFound, CodeNotFound, recordingOffMsg)
		return
	}
	// Split the escaped path: a name with an encoded "/" must stay one
	// segment here, to be refused below, not become a path.
	escaped := strings.TrimPrefix(r.URL.EscapedPath(), mount+downloadPrefix)
	segs := strings.SplitN(strings.TrimPrefix(escaped, "/"), "/", 2)
	if len(segs) != 2 {
		writeJSON(w, http.StatusNotFound, CodeNotFound, "no such admin endpoint: "+r.URL.Path)
		return
	}
	roomName, err1 := url.PathUnescape(segs[0])
	name, err2 := url.PathUnescape(segs[1])
	if err1 != nil || err2 != nil || !room.ValidName(roomName) || !safeFileName(name) {
		writeJSON(w, http.StatusBadRequest, CodeBadRequest, "bad room or file name in "+r.URL.Path)
		return
	}
	if !allowMethod(w, r, true, http.MethodGet, http.MethodHead) {
		return
	}
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	sig, err2 := hex.DecodeString(q.Get("sig"))
	if err != nil || err2 != nil || !hmac.Equal(sig, h.sign(roomName, name, q.Get("exp"))) {
		h.log.Debug("admin: bad download signature", "room", roomName, "file", name, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusForbidden, CodeBadSignature, "bad download link: take a fresh one from the admin page")
		return
	}
	if h.now().Unix() > exp {
		writeJSON(w, http.StatusForbidden, CodeBadSignature, "this download link has expired: take a fresh one from the admin page")
		return
	}
	f, info, err := h.recs.Open(roomName, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, room.ErrNoRoom) {
			writeJSON(w, http.StatusNotFound, CodeNoRoom, "no such recording: "+roomName+"/"+name)
			return
		}
		h.log.Error("admin: opening a recording failed", "room", roomName, "file", name, "err", err)
		writeJSON(w, http.StatusInternalServerError, CodeServerError, err.Error())
		return
	}
	defer f.Close()
	// A player asks for many ranges; log its first request and whole downloads
	// only, so the log shows who took which recording without a line per seek.
	if rg := r.Header.Get("Range"); rg == "" || strings.HasPrefix(rg, "bytes=0-") {
		h.log.Info("admin: recording downloaded", "room", roomName, "file", name, "attachment", q.Get("dl") == "1",
			"remote", r.RemoteAddr)
	}
	hd := w.Header()
	hd.Set("Content-Type", recordingType(name))
	hd.Set("X-Content-Type-Options", "nosniff")
	if q.Get("dl") == "1" {
		hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	var mod time.Time
	if info != nil {
		mod = info.ModTime()
	}
	http.ServeContent(w, r, name, mod, f)
}

// safeFileName reports whether name is one plain file name: no separator, no
// "..", nothing the service could take for a path out of the room's directory.
func safeFileName(name string) bool {
	return name != "" && len(name) <= 255 && !strings.ContainsAny(name, "/\\\x00") && !strings.Contains(name, "..")
}

func recordingType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".mp4":
		return "video/mp4"
	case ".webm":
		return "video/webm"
	case ".json":
		return "application/json"
	}
	return "application/octet-stream"
}
