package signaling

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/room"
)

const (
	maxBody        = 64 << 10
	maxRoomInfo    = 1024
	accountType    = 1
	defaultListCnt = 20
)

// roomRef is a room given as a JSON number (legacy numeric roomID) or a string (a name).
type roomRef string

func (r *roomRef) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*r = roomRef(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("roomID must be a number or a string")
	}
	u, err := strconv.ParseUint(n.String(), 10, 32)
	if err != nil {
		return fmt.Errorf("roomID %s: want a whole number from 0 to 4294967295", n)
	}
	*r = roomRef(strconv.FormatUint(u, 10))
	return nil
}

// roomIDValue renders a room the way legacy clients expect: numeric rooms as numbers.
func roomIDValue(name string) any {
	if u, err := strconv.ParseUint(name, 10, 32); err == nil && strconv.FormatUint(u, 10) == name {
		return u
	}
	return name
}

// apiRequest is the union of every API call's fields.
type apiRequest struct {
	UserID        string  `json:"userID"`
	NickName      string  `json:"nickName"`
	RoomID        roomRef `json:"roomID"`
	RoomInfo      string  `json:"roomInfo"`
	RoomType      string  `json:"roomType"`
	UserSig       string  `json:"userSig"`
	PrivateMapKey string  `json:"privateMapKey"`
	Index         int     `json:"index"`
	Count         int     `json:"count"`

	host string // the request's Host, for the TURN URLs in iceServers
}

type apiResult map[string]any

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		writeJSON(w, apiResult{"code": CodeBadMessage, "message": "use POST with a JSON body"})
		return
	}
	var req apiRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	switch {
	case err != nil:
		err = fmt.Errorf("%w: cannot read body: %v", ErrBadMessage, err)
	case len(body) > maxBody:
		err = fmt.Errorf("%w: body over %d bytes", ErrBadMessage, maxBody)
	case len(strings.TrimSpace(string(body))) > 0:
		if jerr := json.Unmarshal(body, &req); jerr != nil {
			var te *json.UnmarshalTypeError
			if errors.As(jerr, &te) && strings.HasPrefix(te.Value, "number") && (te.Field == "index" || te.Field == "count") {
				// A number, but not one that fits: out of range, like a negative one.
				err = fmt.Errorf("%w: %s is out of range: %s", ErrBadParam, te.Field, listRange(te.Field))
			} else {
				err = fmt.Errorf("%w: body is not the expected JSON: %v", ErrBadMessage, jerr)
			}
		}
	}
	if err == nil && req.UserSig == "" {
		req.UserSig = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	req.host = r.Host
	if err == nil && s.forwardAPI(w, r, r.PathValue("action"), &req, body) {
		return
	}
	var res apiResult
	if err == nil {
		res, err = s.api(r.PathValue("action"), &req)
	}
	if err != nil {
		res = apiResult{"code": codeOf(err), "message": err.Error()}
		if errors.Is(err, errUnknownAction) {
			w.WriteHeader(http.StatusNotFound)
		}
	} else {
		res["code"] = CodeOK
		if _, ok := res["message"]; !ok {
			res["message"] = "ok"
		}
	}
	writeJSON(w, res)
}

var errUnknownAction = errors.New("unknown API call")

func writeJSON(w io.Writer, v any) { _ = json.NewEncoder(w).Encode(v) }

func (s *Server) api(action string, req *apiRequest) (apiResult, error) {
	switch action {
	case "get_login_info":
		return s.getLoginInfo(req)
	case "create_room":
		return s.createRoom(req)
	case "enter_room":
		return s.enterRoom(req)
	case "quit_room":
		return s.quitRoom(req)
	case "heartbeat":
		return s.heartbeat(req)
	case "get_room_list":
		return s.roomList(req)
	case "get_room_members":
		return s.roomMembers(req)
	}
	return nil, fmt.Errorf("%w %q: see docs/api.md", errUnknownAction, action)
}

func missing(name string) error { return fmt.Errorf("%w: %s", ErrMissingParam, name) }

// authUser checks the caller's userSig unless open_login is on.
func (s *Server) authUser(req *apiRequest) error {
	if s.cfg.OpenLogin {
		return nil
	}
	if req.UserSig == "" {
		return fmt.Errorf("%w: userSig is required", ErrLoginClosed)
	}
	_, err := s.issuer.VerifyUserSig(req.UserSig, req.UserID)
	return err
}

func (s *Server) needUser(req *apiRequest) error {
	if req.UserID == "" {
		return missing("userID")
	}
	if !room.ValidName(req.UserID) {
		return fmt.Errorf("%w: %q", room.ErrBadUserID, req.UserID)
	}
	return nil
}

func (s *Server) getLoginInfo(req *apiRequest) (apiResult, error) {
	if req.UserID == "" {
		if !s.cfg.OpenLogin {
			return nil, missing("userID")
		}
		req.UserID = fmt.Sprintf("user_%08d", rand.IntN(100000000))
	}
	if err := s.needUser(req); err != nil {
		return nil, err
	}
	sig := req.UserSig
	if s.cfg.OpenLogin {
		var err error
		if sig, err = s.issuer.UserSig(req.UserID, s.cfg.TokenTTL); err != nil {
			return nil, err
		}
	} else if err := s.authUser(req); err != nil {
		return nil, err
	}
	return apiResult{
		"sdkAppID": s.issuer.App(), "accountType": accountType, "userID": req.UserID,
		"userSig": sig, "iceServers": s.ICEServers(req.host, req.UserID),
	}, nil
}

func (s *Server) createRoom(req *apiRequest) (apiResult, error) {
	if err := s.needUser(req); err != nil {
		return nil, err
	}
	if len(req.RoomInfo) > maxRoomInfo {
		return nil, fmt.Errorf("%w: %d characters; the limit is %d", ErrRoomInfoSize, len(req.RoomInfo), maxRoomInfo)
	}
	if err := s.authUser(req); err != nil {
		return nil, err
	}
	name, err := s.rooms.Create(string(req.RoomID), req.RoomInfo)
	if err != nil {
		return nil, err
	}
	if _, err := s.rooms.Enter(room.EnterRequest{Room: name, UserID: req.UserID, NickName: req.NickName,
		Kind: room.KindHTTP, Privileges: auth.PrivAll}); err != nil {
		return nil, err
	}
	key, err := s.issuer.PrivateMapKey(req.UserID, name, auth.PrivAll, s.cfg.TokenTTL)
	if err != nil {
		return nil, err
	}
	return apiResult{"userID": req.UserID, "roomID": roomIDValue(name), "roomInfo": req.RoomInfo, "privateMapKey": key}, nil
}

func (s *Server) enterRoom(req *apiRequest) (apiResult, error) {
	if err := s.needUser(req); err != nil {
		return nil, err
	}
	if req.RoomID == "" {
		return nil, missing("roomID")
	}
	if err := s.authUser(req); err != nil {
		return nil, err
	}
	name := string(req.RoomID)
	privileges := auth.PrivAll
	key := req.PrivateMapKey
	if !s.cfg.OpenLogin {
		if key == "" {
			return nil, fmt.Errorf("%w: privateMapKey is required", ErrLoginClosed)
		}
		c, err := s.issuer.VerifyPrivateMapKey(key, req.UserID, name)
		if err != nil {
			return nil, err
		}
		if err := c.Require(auth.PrivJoin); err != nil {
			return nil, err
		}
		privileges = c.Privileges
	}
	if _, err := s.rooms.Enter(room.EnterRequest{Room: name, UserID: req.UserID, NickName: req.NickName,
		Kind: room.KindHTTP, Privileges: privileges}); err != nil {
		return nil, err
	}
	if s.cfg.OpenLogin {
		var err error
		if key, err = s.issuer.PrivateMapKey(req.UserID, name, privileges, s.cfg.TokenTTL); err != nil {
			return nil, err
		}
	}
	return apiResult{"userID": req.UserID, "roomID": roomIDValue(name), "privateMapKey": key}, nil
}

func (s *Server) memberCall(req *apiRequest) (string, error) {
	if req.UserID == "" {
		return "", missing("userID")
	}
	if req.RoomID == "" {
		return "", missing("roomID")
	}
	return string(req.RoomID), s.authUser(req)
}

func (s *Server) quitRoom(req *apiRequest) (apiResult, error) {
	name, err := s.memberCall(req)
	if err != nil {
		return nil, err
	}
	if err := s.rooms.Leave(name, req.UserID, nil, room.ReasonLeft); err != nil {
		return nil, err
	}
	return apiResult{}, nil
}

func (s *Server) heartbeat(req *apiRequest) (apiResult, error) {
	name, err := s.memberCall(req)
	if err != nil {
		return nil, err
	}
	if err := s.rooms.Touch(name, req.UserID, nil); err != nil {
		return nil, err
	}
	return apiResult{}, nil
}

// get_room_list pages: index from 0, count rooms per page.
const (
	maxListIndex = 1_000_000
	maxListCount = 100
)

// listRange says what get_room_list's field takes.
func listRange(field string) string {
	if field == "index" {
		return fmt.Sprintf("want 0 to %d", maxListIndex)
	}
	return fmt.Sprintf("want 1 to %d (0 or none: %d)", maxListCount, defaultListCnt)
}

func (s *Server) roomList(req *apiRequest) (apiResult, error) {
	if err := s.authUser(req); err != nil {
		return nil, err
	}
	if req.Index < 0 || req.Index > maxListIndex {
		return nil, fmt.Errorf("%w: index %d: %s", ErrBadParam, req.Index, listRange("index"))
	}
	if req.Count < 0 || req.Count > maxListCount {
		return nil, fmt.Errorf("%w: count %d: %s", ErrBadParam, req.Count, listRange("count"))
	}
	all := s.listedRooms()
	count := req.Count
	if count == 0 {
		count = defaultListCnt
	}
	start := min(req.Index, len(all))
	end := start + min(count, len(all)-start) // not start+count: a huge count would overflow
	rooms := make([]apiResult, 0, end-start)
	for _, r := range all[start:end] {
		rooms = append(rooms, apiResult{"roomID": roomIDValue(r.Name), "roomInfo": r.Info, "memberCount": len(r.Members)})
	}
	return apiResult{"rooms": rooms, "total": len(all)}, nil
}

func (s *Server) roomMembers(req *apiRequest) (apiResult, error) {
	if req.RoomID == "" {
		return nil, missing("roomID")
	}
	if err := s.authUser(req); err != nil {
		return nil, err
	}
	ms, err := s.roomMembersAnywhere(string(req.RoomID))
	if err != nil {
		return nil, err
	}
	members := make([]apiResult, 0, len(ms))
	for _, m := range ms {
		members = append(members, apiResult{"userID": m.UserID, "nickName": m.NickName, "kind": m.Kind})
	}
	return apiResult{"roomID": roomIDValue(string(req.RoomID)), "members": members}, nil
}
