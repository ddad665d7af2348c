package signaling

import (
	"errors"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

// Result codes, shared by the HTTP API and the WebSocket. 0-11 and 5001 are the
// legacy room server's; the 4xxx codes are openroom's own.
const (
	CodeOK             = 0
	CodeMissingParam   = 2
	CodeNoRoom         = 3
	CodeBadUserID      = 7
	CodeRoomInfoTooBig = 11
	CodeRoomFull       = 5001
	CodeBadMessage     = 4001
	CodeUnknownType    = 4002
	CodeNotJoined      = 4003
	CodeBadToken       = 4010
	CodeResumeFailed   = 4011 // the session cannot be resumed: join again
	CodeForbidden      = 4030
	CodeBadSDP         = 4100
	CodeTooLarge       = 4130
	CodeRateLimited    = 4290
	CodeInternal       = 5000
	CodeShuttingDown   = 5003
	CodeUnplaced       = 5004 // cluster mode: no room can be placed now (Redis away); try again
)

// Sentinels of this package.
var (
	ErrMissingParam = errors.New("missing parameter")
	ErrBadParam     = errors.New("parameter out of range")
	ErrBadMessage   = errors.New("malformed message")
	ErrLoginClosed  = errors.New("open_login is off: get tokens from your backend (openroom token)")
	ErrRoomInfoSize = errors.New("roomInfo too long")
	ErrRateLimited  = errors.New("too many chat messages")
)

// codeOf maps an error from any layer to its result code.
func codeOf(err error) int {
	switch {
	case err == nil:
		return CodeOK
	case errors.Is(err, ErrMissingParam), errors.Is(err, ErrBadParam), errors.Is(err, room.ErrBadNickName), errors.Is(err, room.ErrBoardOp):
		return CodeMissingParam
	case errors.Is(err, room.ErrNoRoom), errors.Is(err, room.ErrNotMember):
		return CodeNoRoom
	case errors.Is(err, room.ErrChatTooBig), errors.Is(err, room.ErrBoardFull):
		return CodeTooLarge
	case errors.Is(err, room.ErrChatEmpty), errors.Is(err, room.ErrChatBadData):
		return CodeBadMessage
	case errors.Is(err, room.ErrChatNoPeer):
		return CodeNoRoom
	case errors.Is(err, ErrRateLimited):
		return CodeRateLimited
	case errors.Is(err, ErrRoomInfoSize):
		return CodeRoomInfoTooBig
	case errors.Is(err, room.ErrRoomFull):
		return CodeRoomFull
	case errors.Is(err, room.ErrBadUserID):
		return CodeBadUserID
	case errors.Is(err, room.ErrBadRoomName), errors.Is(err, ErrBadMessage), errors.Is(err, room.ErrRoomExists),
		errors.Is(err, sfu.ErrBadSource):
		return CodeBadMessage
	case errors.Is(err, auth.ErrMissingPrivilege), errors.Is(err, sfu.ErrNotAllowed):
		return CodeForbidden
	case errors.Is(err, auth.ErrMalformed), errors.Is(err, auth.ErrExpired), errors.Is(err, auth.ErrForged),
		errors.Is(err, auth.ErrWrongUser), errors.Is(err, auth.ErrWrongRoom), errors.Is(err, auth.ErrWrongKind),
		errors.Is(err, ErrLoginClosed):
		return CodeBadToken
	case errors.Is(err, sfu.ErrBadSDP), errors.Is(err, sfu.ErrBadTarget), errors.Is(err, sfu.ErrNoOffer):
		return CodeBadSDP
	case errors.Is(err, ErrUnplaced):
		return CodeUnplaced
	}
	return CodeInternal
}
