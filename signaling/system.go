package signaling

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// operator reports whether r carries the server's secret as a Bearer token.
func (s *Server) operator(r *http.Request) bool {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	return s.cfg.Secret != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.Secret)) == 1
}

// serveBoard gives an operator's backend a room's whiteboard, as members get
// it: GET /api/rooms/{room}/board, Authorization: Bearer <secret> -> {seq, ops}.
func (s *Server) serveBoard(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if !s.operator(r) {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]any{"code": CodeBadToken, "message": "the board API needs Authorization: Bearer <server secret>"})
		return
	}
	st, err := s.rooms.BoardState(r.PathValue("room"))
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		writeJSON(w, map[string]any{"code": codeOf(err), "message": err.Error()})
		return
	}
	writeJSON(w, st)
}

// serveSystemMessage lets an operator's backend post to a room, as the legacy IM
// REST API did: POST /api/rooms/{room}/messages, Authorization: Bearer <secret>.
func (s *Server) serveSystemMessage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	answer := func(status int, v map[string]any) {
		w.WriteHeader(status)
		writeJSON(w, v)
	}
	if !s.operator(r) {
		answer(http.StatusUnauthorized, map[string]any{"code": CodeBadToken,
			"message": "system messages need Authorization: Bearer <server secret>"})
		return
	}
	var body struct {
		Text string          `json:"text"`
		Data json.RawMessage `json:"data"`
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err == nil && len(b) > maxBody {
		err = fmt.Errorf("body over %d bytes", maxBody)
	}
	if err == nil {
		err = json.Unmarshal(b, &body)
	}
	if err != nil {
		answer(http.StatusBadRequest, map[string]any{"code": CodeBadMessage, "message": fmt.Sprintf("%v: want JSON {text?, data?}", err)})
		return
	}
	if string(body.Data) == "null" {
		body.Data = nil
	}
	msg, err := s.rooms.SystemMessage(r.PathValue("room"), body.Text, body.Data)
	if err != nil {
		status := http.StatusBadRequest
		if codeOf(err) == CodeNoRoom {
			status = http.StatusNotFound
		}
		answer(status, map[string]any{"code": codeOf(err), "message": err.Error()})
		return
	}
	answer(http.StatusOK, map[string]any{"code": CodeOK, "message": "ok", "id": msg.ID, "time": msg.Time})
}
