package recording

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/openroom/openroom/room"
)

// TrackInfo describes one track of a recording.
type TrackInfo struct {
	ID     string `json:"id"`             // the track's ID in the room
	Kind   string `json:"kind"`           // "video" or "audio"
	Codec  string `json:"codec"`          // its MIME type, e.g. "video/H264"
	Source string `json:"source"`         // camera, microphone, screen or screen_audio
	Note   string `json:"note,omitempty"` // why a skipped track was not recorded
}

// Recording is one recorded file, as its sidecar describes it.
type Recording struct {
	File     string        // the media file's name, in Dir/{room}/
	Path     string        // the media file's path
	Sidecar  string        // the sidecar's path
	Room     string        // the room
	UserID   string        // the member recorded
	Name     string        // the member's display name at the time, if known
	Screen   bool          // a shared screen and its sound, not the camera and microphone
	Start    time.Time     // the wall-clock time of the file's time 0
	End      time.Time     // the time its media ends; zero while recording, or if the recorder was killed
	Duration time.Duration // End - Start; 0 when End is unknown
	Tracks   []TrackInfo   // the tracks in the file, in MP4 track order
	Skipped  []TrackInfo   // tracks of the member the recorder could not record (codec)
	Bytes    int64         // the media file's size
	Complete bool          // the recorder finished the file normally (an End and no Error)
	Error    string        // why the recording stopped early, if it did (a full disk)
}

// sidecar is the JSON file beside each media file: written when the file
// starts, rewritten with the end when it is finished.
type sidecar struct {
	Version  int         `json:"version"`
	File     string      `json:"file"`
	Room     string      `json:"room"`
	UserID   string      `json:"userID"`
	Name     string      `json:"name,omitempty"`
	Screen   bool        `json:"screen,omitempty"`
	Start    time.Time   `json:"start"`
	End      *time.Time  `json:"end,omitempty"`
	Duration float64     `json:"duration,omitempty"` // seconds
	Tracks   []TrackInfo `json:"tracks"`
	Skipped  []TrackInfo `json:"skipped,omitempty"`
	Bytes    int64       `json:"bytes,omitempty"`
	Error    string      `json:"error,omitempty"`
}

// sidecarPath is the sidecar of a media file: the same name, .json.
func sidecarPath(media string) string { return strings.TrimSuffix(media, ".mp4") + ".json" }

// writeSidecar writes f's sidecar, atomically (a temporary file renamed).
func (w *writer) writeSidecar(f *mediaFile) bool {
	path := sidecarPath(f.path)
	b, err := json.MarshalIndent(f.meta, "", "  ")
	if err != nil {
		w.fail(fmt.Errorf("%w: encoding %s: %w", ErrWrite, path, err))
		return false
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		_ = os.Remove(tmp)
		w.fail(writeError("writing", tmp, err))
		return false
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		w.fail(writeError("renaming", tmp, err))
		return false
	}
	return true
}

// List returns the recordings of a room in dir (the record_dir), newest
// first, from their sidecars. A recording in progress, or one whose
// recorder was killed, has no End (and is not Complete); its Bytes are the
// media file's size now. A room without recordings has none (and no error).
func List(dir, roomName string) ([]Recording, error) {
	if !room.ValidName(roomName) {
		return nil, fmt.Errorf("%w: %q", ErrBadRoom, roomName)
	}
	d := filepath.Join(dir, roomName)
	entries, err := os.ReadDir(d)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recording: listing %s: %w", d, err)
	}
	var out []Recording
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		if r, ok := readSidecar(d, e.Name()); ok {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Recording) int {
		if c := b.Start.Compare(a.Start); c != 0 {
			return c
		}
		return strings.Compare(b.File, a.File)
	})
	return out, nil
}

// readSidecar reads one sidecar; ok is false for a file that is not one.
func readSidecar(dir, name string) (Recording, bool) {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		return Recording{}, false
	}
	var sc sidecar
	if err := json.Unmarshal(b, &sc); err != nil || sc.File == "" || sc.File != filepath.Base(sc.File) {
		return Recording{}, false
	}
	r := Recording{File: sc.File, Path: filepath.Join(dir, sc.File), Sidecar: path, Room: sc.Room, UserID: sc.UserID,
		Name: sc.Name, Screen: sc.Screen, Start: sc.Start, Tracks: sc.Tracks, Skipped: sc.Skipped, Bytes: sc.Bytes, Error: sc.Error}
	if sc.End != nil {
		r.End, r.Complete = *sc.End, sc.Error == ""
		r.Duration = time.Duration(sc.Duration * float64(time.Second))
	} else if fi, err := os.Stat(r.Path); err == nil {
		r.Bytes = fi.Size()
	}
	return r, true
}
