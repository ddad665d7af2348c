package signaling

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/openroom/openroom/room"
)

// ForwardedHeader marks a request one node passed to another (cluster mode):
// it is served where it lands, never passed on again, so two nodes that
// disagree on a room cannot bounce it forever.
const ForwardedHeader = "X-Openroom-Forwarded"

// apiForwardTimeout bounds a room call passed to the room's node.
const apiForwardTimeout = 5 * time.Second

// roomCalls are the legacy API calls that act on one room: in cluster mode
// they run on the room's node (legacy pages call one server for everything).
var roomCalls = map[string]bool{"create_room": true, "enter_room": true, "quit_room": true, "heartbeat": true}

// forwardAPI passes a room call for a room that lives on another node to
// that node's API and copies its answer back. It reports whether it did (the
// answer, or an error, has been written).
func (s *Server) forwardAPI(w http.ResponseWriter, r *http.Request, action string, req *apiRequest, body []byte) bool {
	name := string(req.RoomID)
	if s.placer == nil || !roomCalls[action] || name == "" || r.Header.Get(ForwardedHeader) != "" ||
		!room.ValidName(name) || s.rooms.Exists(name) || s.authUser(req) != nil {
		return false // served here (an unauthenticated call gets its refusal here)
	}
	base, err := s.homeBase(name, false)
	if err != nil {
		writeJSON(w, apiResult{"code": codeOf(err), "message": err.Error()})
		return true
	}
	if base == "" {
		return false
	}
	base = strings.TrimRight(base, "/")
	ctx, cancel := context.WithTimeout(r.Context(), apiForwardTimeout)
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, http.MethodPost, base+r.URL.Path, bytes.NewReader(body))
	if err != nil {
		return false
	}
	out.Header.Set("Content-Type", "application/json")
	if a := r.Header.Get("Authorization"); a != "" {
		out.Header.Set("Authorization", a)
	}
	out.Header.Set(ForwardedHeader, "1")
	resp, err := s.forwarder.Do(out)
	if err != nil {
		err = fmt.Errorf("%w: the room's node %s does not answer: %v", ErrUnplaced, base, err)
		writeJSON(w, apiResult{"code": codeOf(err), "message": err.Error()})
		return true
	}
	defer resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(resp.Body, maxBody))
	return true
}
