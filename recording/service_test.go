package recording

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/openroom/openroom/room"
)

func newService(t *testing.T, auto bool) (*Service, *room.Manager, string) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
	dir := t.TempDir()
	rooms := room.NewManager(room.Options{})
	svc := NewService(ServiceConfig{Dir: dir, Auto: auto, Rooms: rooms})
	t.Cleanup(svc.Close)
	return svc, rooms, dir
}

func TestServiceStartStop(t *testing.T) {
	svc, rooms, _ := newService(t, false)
	if _, err := rooms.Create("r1", ""); err != nil {
		t.Fatal(err)
	}
	if err := svc.Start("nowhere"); !errors.Is(err, room.ErrNoRoom) {
		t.Errorf("Start(unknown room): got %v; want ErrNoRoom", err)
	}
	for i := range 2 { // idempotent
		if err := svc.Start("r1"); err != nil {
			t.Fatalf("Start #%d: %v", i+1, err)
		}
	}
	if !svc.Recording("r1") || svc.Rooms() != 1 {
		t.Errorf("after Start: Recording %v, Rooms %d; want true, 1", svc.Recording("r1"), svc.Rooms())
	}
	for i := range 2 {
		if err := svc.Stop("r1"); err != nil {
			t.Fatalf("Stop #%d: %v", i+1, err)
		}
	}
	if svc.Recording("r1") {
		t.Errorf("after Stop: still recording")
	}
}

func TestServiceAuto(t *testing.T) {
	svc, rooms, _ := newService(t, true)
	if _, err := rooms.Create("r1", ""); err != nil {
		t.Fatal(err)
	}
	svc.follow()
	if !svc.Recording("r1") {
		t.Fatalf("auto_record: a new room is not recording")
	}
	if err := svc.Stop("r1"); err != nil {
		t.Fatal(err)
	}
	svc.follow()
	if svc.Recording("r1") {
		t.Errorf("auto_record started again a room the operator stopped")
	}
	if err := rooms.CloseRoom("r1", "bye"); err != nil {
		t.Fatal(err)
	}
	svc.follow()
	if _, err := rooms.Create("r1", ""); err != nil {
		t.Fatal(err)
	}
	svc.follow()
	if !svc.Recording("r1") {
		t.Errorf("auto_record: a room made again after it closed does not record")
	}
	if err := rooms.CloseRoom("r1", "bye"); err != nil {
		t.Fatal(err)
	}
	svc.follow()
	if svc.Recording("r1") || svc.Rooms() != 0 {
		t.Errorf("a closed room still records")
	}
}

func TestServiceOff(t *testing.T) {
	svc := NewService(ServiceConfig{Rooms: room.NewManager(room.Options{})})
	if svc.Enabled() {
		t.Fatal("enabled without a dir")
	}
	for name, err := range map[string]error{"Start": svc.Start("r"), "Stop": svc.Stop("r")} {
		if !errors.Is(err, ErrOff) {
			t.Errorf("%s: got %v; want ErrOff", name, err)
		}
	}
}

func TestOperatorAPI(t *testing.T) {
	svc, rooms, dir := newService(t, false)
	if _, err := rooms.Create("r1", ""); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "r1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "r1", "alice-20261206T154500Z.mp4"), []byte("not really mp4"), 0o644); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	const secret = "0123456789abcdef-secret"
	svc.Register(mux, secret)
	do := func(method, path, token, body string) (int, map[string]any, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		var v map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &v)
		return rec.Code, v, rec.Body.String()
	}
	for _, tc := range []struct {
		name, method, path, token, body string
		want                            int
		wantCode                        float64
	}{
		{"no secret", "POST", "/api/rooms/r1/recording", "", `{"action":"start"}`, 401, 4010},
		{"wrong secret", "POST", "/api/rooms/r1/recording", "nope", `{"action":"start"}`, 401, 4010},
		{"bad action", "POST", "/api/rooms/r1/recording", secret, `{"action":"pause"}`, 400, 4001},
		{"not JSON", "POST", "/api/rooms/r1/recording", secret, `start`, 400, 4001},
		{"unknown room", "POST", "/api/rooms/nowhere/recording", secret, `{"action":"start"}`, 404, 3},
		{"start", "POST", "/api/rooms/r1/recording", secret, `{"action":"start"}`, 200, 0},
		{"list", "GET", "/api/rooms/r1/recordings", secret, "", 200, 0},
		{"stop", "POST", "/api/rooms/r1/recording", secret, `{"action":"stop"}`, 200, 0},
		{"file", "GET", "/api/rooms/r1/recordings/alice-20261206T154500Z.mp4", secret, "", 200, -1},
		{"unknown file", "GET", "/api/rooms/r1/recordings/bob.mp4", secret, "", 404, 3},
		{"not a recording", "GET", "/api/rooms/r1/recordings/..%2f..%2fetc%2fpasswd", secret, "", 404, 3},
		{"file without secret", "GET", "/api/rooms/r1/recordings/alice-20261206T154500Z.mp4", "", "", 401, 4010},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, v, body := do(tc.method, tc.path, tc.token, tc.body)
			if code != tc.want {
				t.Fatalf("got %d %s; want %d", code, body, tc.want)
			}
			if tc.wantCode >= 0 && v["code"] != tc.wantCode {
				t.Errorf("code: got %v; want %v (%s)", v["code"], tc.wantCode, body)
			}
			switch tc.name {
			case "start":
				if v["recording"] != true {
					t.Errorf("recording: got %v; want true", v["recording"])
				}
			case "stop":
				if v["recording"] != false {
					t.Errorf("recording: got %v; want false", v["recording"])
				}
			case "list":
				if _, ok := v["recordings"].([]any); !ok || v["recording"] != true {
					t.Errorf("list: got %s; want recording true and a recordings array", body)
				}
			case "file":
				if body != "not really mp4" {
					t.Errorf("file: got %q", body)
				}
			}
		})
	}
}
