package web

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestHandlerRoutes(t *testing.T) {
	h := Handler()
	tests := []struct {
		name        string
		method      string
		target      string
		rawPath     string // when set, replaces the request's URL path (for paths NewRequest cannot parse)
		wantStatus  int
		wantType    string // prefix of Content-Type; "" = not checked
		wantBody    string // substring of the body; "" = not checked
		wantHeaders map[string]string
	}{
		{name: "lobby", method: "GET", target: "/", wantStatus: 200, wantType: "text/html", wantBody: `id="join-form"`},
		{name: "lobby HEAD", method: "HEAD", target: "/", wantStatus: 200, wantType: "text/html"},
		{name: "lobby POST", method: "POST", target: "/", wantStatus: http.StatusMethodNotAllowed},
		{name: "room page", method: "GET", target: "/r/demo", wantStatus: 200, wantType: "text/html", wantBody: `id="state"`},
		{name: "room page numeric", method: "GET", target: "/r/1234", wantStatus: 200, wantType: "text/html"},
		{name: "room page with query", method: "GET", target: "/r/room-4821?user=alice&template=1v3", wantStatus: 200, wantType: "text/html"},
		{name: "room page all allowed chars", method: "GET", target: "/r/Az09_-", wantStatus: 200, wantType: "text/html"},
		{name: "room page 64 chars", method: "GET", target: "/r/" + strings.Repeat("a", 64), wantStatus: 200, wantType: "text/html"},
		{name: "room page 65 chars", method: "GET", target: "/r/" + strings.Repeat("a", 65), wantStatus: 404, wantType: "text/html", wantBody: `id="nf-title"`},
		{name: "room bad name raw", method: "GET", target: "/", rawPath: "/r/bad name!", wantStatus: 404},
		{name: "room bad name escaped", method: "GET", target: "/r/bad%20name%21", wantStatus: 404, wantType: "text/html", wantBody: `id="nf-title"`},
		{name: "room in another script", method: "GET", target: "/r/%E6%95%B0%E5%AD%A6%E8%AF%BE", wantStatus: 404, wantType: "text/html", wantBody: "not a room link"},
		{name: "room dot", method: "GET", target: "/r/a.b", wantStatus: 404, wantType: "text/html", wantBody: `id="nf-title"`},
		{name: "room empty", method: "GET", target: "/r/", wantStatus: 404, wantType: "text/html", wantBody: `id="nf-title"`},
		{name: "room nested", method: "GET", target: "/r/a/b", wantStatus: 404, wantType: "text/html", wantBody: `id="nf-title"`},
		{name: "sdk module", method: "GET", target: "/sdk/openroom.js", wantStatus: 200, wantType: "text/javascript", wantBody: "export { Room, Room as default } from './room.js';",
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff"}},
		{name: "sdk room module", method: "GET", target: "/sdk/room.js", wantStatus: 200, wantType: "text/javascript", wantBody: "export class Room",
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff"}},
		{name: "sdk signal module", method: "GET", target: "/sdk/signal.js", wantStatus: 200, wantType: "text/javascript", wantBody: "export class Signal",
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "*"}},
		{name: "legacy WebRTCAPI shim", method: "GET", target: "/sdk/WebRTCAPI.min.js", wantStatus: 200, wantType: "text/javascript", wantBody: "global.WebRTCAPI = WebRTCAPI",
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff"}},
		{name: "sdk types", method: "GET", target: "/sdk/openroom.d.ts", wantStatus: 200, wantType: "application/typescript", wantBody: "export class Room"},
		{name: "sdk missing", method: "GET", target: "/sdk/nope.js", wantStatus: 404},
		{name: "sdk dir", method: "GET", target: "/sdk/", wantStatus: 404},
		{name: "static css", method: "GET", target: "/static/css/app.css", wantStatus: 200, wantType: "text/css"},
		{name: "static room js", method: "GET", target: "/static/js/room.js", wantStatus: 200, wantType: "text/javascript", wantBody: "window.openroom"},
		{name: "static lobby js", method: "GET", target: "/static/js/lobby.js", wantStatus: 200, wantType: "text/javascript"},
		{name: "static favicon", method: "GET", target: "/static/favicon.svg", wantStatus: 200, wantType: "image/svg+xml"},
		{name: "static dir listing", method: "GET", target: "/static/", wantStatus: 404},
		{name: "static subdir listing", method: "GET", target: "/static/js/", wantStatus: 404},
		{name: "static html not exposed", method: "GET", target: "/static/room.html", wantStatus: 404},
		{name: "static missing", method: "GET", target: "/static/nope.css", wantStatus: 404},
		{name: "unknown path", method: "GET", target: "/nope", wantStatus: 404},
		{name: "go source not served", method: "GET", target: "/web.go", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.rawPath != "" {
				req.URL.Path = tt.rawPath
				req.URL.RawPath = ""
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)

			if got := res.StatusCode; got != tt.wantStatus {
				t.Fatalf("status = %v; want %v", got, tt.wantStatus)
			}
			if tt.wantType != "" {
				if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, tt.wantType) {
					t.Errorf("Content-Type = %v; want %v", got, tt.wantType)
				}
			}
			if tt.wantBody != "" {
				if got := string(body); !strings.Contains(got, tt.wantBody) {
					t.Errorf("body contains %q = %v; want %v", tt.wantBody, false, true)
				}
			}
			for k, want := range tt.wantHeaders {
				if got := res.Header.Get(k); got != want {
					t.Errorf("header %s = %v; want %v", k, got, want)
				}
			}
		})
	}
}

func TestRoomPageSameForEveryRoom(t *testing.T) {
	h := Handler()
	get := func(target string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if got := rec.Code; got != 200 {
			t.Fatalf("GET %s status = %v; want %v", target, got, 200)
		}
		return rec.Body.String()
	}
	a, b := get("/r/alpha"), get("/r/beta_2")
	if got := a == b; !got {
		t.Errorf("room pages identical = %v; want %v", got, true)
	}
}

func TestETagRevalidation(t *testing.T) {
	h := Handler()
	tests := []struct {
		name   string
		target string
	}{
		{name: "sdk", target: "/sdk/openroom.js"},
		{name: "static", target: "/static/css/app.css"},
		{name: "page", target: "/r/demo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tt.target, nil))
			etag := rec.Header().Get("ETag")
			if got := etag != ""; !got {
				t.Fatalf("has ETag = %v; want %v", got, true)
			}
			req := httptest.NewRequest("GET", tt.target, nil)
			req.Header.Set("If-None-Match", etag)
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got := rec.Code; got != http.StatusNotModified {
				t.Errorf("status = %v; want %v", got, http.StatusNotModified)
			}
		})
	}
}

func TestValidRoomName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "simple", in: "room-4821", want: true},
		{name: "digits", in: "42", want: true},
		{name: "underscore", in: "a_b", want: true},
		{name: "max length", in: strings.Repeat("x", 64), want: true},
		{name: "empty", in: "", want: false},
		{name: "too long", in: strings.Repeat("x", 65), want: false},
		{name: "space", in: "a b", want: false},
		{name: "slash", in: "a/b", want: false},
		{name: "unicode", in: "café", want: false},
		{name: "bang", in: "bad!", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validRoomName(tt.in); got != tt.want {
				t.Errorf("validRoomName(%q) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

// The SDK and its type declarations describe the same surface (issue 10: simulcast,
// adaptive stream, dynacast, active speaker, connection quality), and the demo
// uses the events rather than polling getStats for who speaks.
func TestSDKSurfaceDeclared(t *testing.T) {
	read := func(name string) string {
		b, err := assets.ReadFile(name)
		if err != nil {
			t.Fatalf("ReadFile(%q) error = %v; want nil", name, err)
		}
		return string(b)
	}
	var js string // every SDK module
	for _, name := range sdkModules(t) {
		js += read(name)
	}
	dts, demo := read("sdk/openroom.d.ts"), read("static/js/room.js")
	tests := []struct {
		name string
		js   string // in one of the SDK's modules
		dts  string // in openroom.d.ts
	}{
		{name: "simulcastEncodings", js: "export function simulcastEncodings(", dts: "export function simulcastEncodings("},
		{name: "layerBitrate", js: "export function layerBitrate(", dts: "export function layerBitrate("},
		{name: "setPinned", js: "  setPinned(userID) {", dts: "setPinned(userID: string | null): void;"},
		{name: "attach", js: "  attach(userID, element) {", dts: "attach<E extends HTMLMediaElement>(userID: string, element: E): E;"},
		{name: "detach", js: "  detach(element) {", dts: "detach(element: HTMLMediaElement): void;"},
		{name: "activeSpeakers", js: "  get activeSpeakers() {", dts: "readonly activeSpeakers: SpeakerInfo[];"},
		{name: "qualities", js: "  get qualities() {", dts: "readonly qualities: Map<string, ConnectionQuality>;"},
		{name: "localQuality", js: "  get localQuality() {", dts: "readonly localQuality: ConnectionQuality | null;"},
		{name: "speakers event", js: "_emit('speakers',", dts: "speakers: SpeakerInfo[];"},
		{name: "quality event", js: "_emit('quality',", dts: "quality: QualityInfo[];"},
		{name: "adaptiveStream option", js: "options.adaptiveStream", dts: "adaptiveStream?: boolean;"},
		{name: "simulcast option", js: "opts.simulcast", dts: "simulcast?: boolean;"},
		{name: "track rids", js: "out.rids =", dts: "rids?: string[];"},
		{name: "track_settings", js: "type: 'track_settings'", dts: "track_settings"},
		{name: "publish_layers", js: "case 'publish_layers':", dts: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Contains(js, tt.js); !got {
				t.Errorf("the SDK modules contain %q = %v; want %v", tt.js, got, true)
			}
			if tt.dts == "" {
				return
			}
			if got := strings.Contains(dts, tt.dts); !got {
				t.Errorf("openroom.d.ts contains %q = %v; want %v", tt.dts, got, true)
			}
		})
	}
	for _, s := range []struct {
		name string
		want bool
	}{
		{name: "room.on('speakers'", want: true},
		{name: "room.on('quality'", want: true},
		{name: "room.attach(", want: true},
		{name: "remoteStats()", want: false}, // who speaks comes from `speakers`, not polled stats
	} {
		if got := strings.Contains(demo, s.name); got != s.want {
			t.Errorf("room.js contains %q = %v; want %v", s.name, got, s.want)
		}
	}
}

// sdkModules lists the SDK's ES modules: every .js file in sdk/ but the legacy shim.
func sdkModules(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(assets, "sdk/*.js")
	if err != nil {
		t.Fatalf("Glob(sdk/*.js) error = %v; want nil", err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return n == "sdk/WebRTCAPI.min.js" })
	if len(names) < 2 {
		t.Fatalf("SDK modules = %v; want openroom.js and the modules beside it", names)
	}
	return names
}

// relativeImport matches the specifier of a static import or re-export: from './x.js'.
var relativeImport = regexp.MustCompile(`\bfrom '(\./[^']+)'`)

// Every SDK module is served beside openroom.js for <script type="module"> (any
// origin may import it), each relative import names a module that is there, and
// the npm package (sdk/package.json "files") ships every module but not the shim.
func TestSDKModules(t *testing.T) {
	h := Handler()
	raw, err := assets.ReadFile("sdk/package.json")
	if err != nil {
		t.Fatalf("ReadFile(sdk/package.json) error = %v; want nil", err)
	}
	var pkg struct {
		Files []string `json:"files"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatalf("sdk/package.json: json.Unmarshal error = %v; want nil", err)
	}
	for _, f := range pkg.Files {
		if _, err := fs.Stat(assets, "sdk/"+f); err != nil {
			t.Errorf("package.json files names %q: Stat error = %v; want nil", f, err)
		}
	}
	if got := slices.Contains(pkg.Files, "WebRTCAPI.min.js"); got {
		t.Errorf("package.json files contains WebRTCAPI.min.js = %v; want %v", got, false)
	}
	for _, name := range sdkModules(t) {
		file := path.Base(name)
		t.Run(file, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/sdk/"+file, nil))
			if got := rec.Code; got != 200 {
				t.Fatalf("GET /sdk/%s status = %v; want %v", file, got, 200)
			}
			if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/javascript") {
				t.Errorf("Content-Type = %v; want text/javascript", got)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin = %v; want *", got)
			}
			if got := slices.Contains(pkg.Files, file); !got {
				t.Errorf("package.json files contains %q = %v; want %v", file, got, true)
			}
			for _, m := range relativeImport.FindAllStringSubmatch(rec.Body.String(), -1) {
				if _, err := fs.Stat(assets, path.Join("sdk", m[1])); err != nil {
					t.Errorf("import %q: Stat error = %v; want nil", m[1], err)
				}
			}
		})
	}
}
