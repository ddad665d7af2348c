// Package web serves openroom's browser side: the demo pages (lobby and room),
// their CSS/JS, and the JavaScript SDK.
//
//	GET /                 lobby (static/index.html)
//	GET /r/{room}         room page (static/room.html), room = [A-Za-z0-9_-]{1,64}
//	GET /sdk/openroom.js  ES module SDK (also openroom.d.ts)
//	GET /sdk/WebRTCAPI.min.js  legacy WebRTCAPI compatibility script (loads openroom.js)
//	GET /sdk/{file}       any other file in sdk/
//	GET /static/...       demo assets
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static sdk
var assets embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	name        string
	body        []byte
	etag        string
	contentType string
}

// Handler serves the lobby, the room page, the SDK and the demo assets.
// Everything else is 404 (405 for other methods on these paths).
func Handler() http.Handler {
	files := loadAssets()
	mux := http.NewServeMux()

	index := files["static/index.html"]
	room := files["static/room.html"]
	notFound := files["static/notfound.html"]

	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		servePage(w, r, index)
	})
	mux.HandleFunc("GET /r/{room}", func(w http.ResponseWriter, r *http.Request) {
		if !validRoomName(r.PathValue("room")) {
			servePageStatus(w, notFound, http.StatusNotFound)
			return
		}
		servePage(w, r, room)
	})
	// /r/a/b and /r/ are bad room links too: the same page, not a bare 404.
	mux.HandleFunc("GET /r/{rest...}", func(w http.ResponseWriter, r *http.Request) {
		servePageStatus(w, notFound, http.StatusNotFound)
	})
	mux.HandleFunc("GET /sdk/{file}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := files["sdk/"+r.PathValue("file")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		// The SDK may be imported by pages of other origins (ES modules need CORS).
		w.Header().Set("Access-Control-Allow-Origin", "*")
		serveAsset(w, r, a, "no-cache")
	})
	mux.HandleFunc("GET /static/{path...}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := files["static/"+r.PathValue("path")]
		if !ok || strings.HasSuffix(a.name, ".html") {
			http.NotFound(w, r)
			return
		}
		serveAsset(w, r, a, "no-cache")
	})
	return mux
}

// validRoomName reports whether s is a room name the room page accepts:
// 1 to 64 characters of [A-Za-z0-9_-].
func validRoomName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// loadAssets reads every embedded file once, with its ETag and Content-Type.
func loadAssets() map[string]*asset {
	files := make(map[string]*asset)
	err := fs.WalkDir(assets, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assets.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		files[name] = &asset{
			name:        name,
			body:        body,
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
			contentType: contentType(name),
		}
		return nil
	})
	if err != nil {
		// The files are compiled in; failing to read them is a build defect.
		panic("web: reading embedded assets: " + err.Error())
	}
	return files
}

// contentType picks the Content-Type by file name, independent of the host's
// mime.types so that responses are the same everywhere.
func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".d.ts"), strings.HasSuffix(name, ".ts"):
		return "application/typescript; charset=utf-8"
	}
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json":
		return "application/json"
	case ".webmanifest":
		return "application/manifest+json"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func servePage(w http.ResponseWriter, r *http.Request, a *asset) {
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("X-Frame-Options", "SAMEORIGIN")
	serveAsset(w, r, a, "no-cache")
}

// servePageStatus writes a page with a status other than 200 (no ETag: it is not
// the resource that was asked for).
func servePageStatus(w http.ResponseWriter, a *asset, status int) {
	h := w.Header()
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", a.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(a.body)
}

func serveAsset(w http.ResponseWriter, r *http.Request, a *asset, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
