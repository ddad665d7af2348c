// Codes and small pure helpers of <openroom-room>. No wx.* here, so it is easy to test.

// RoomEvent tag 'error' codes (same numbers as the legacy <webrtc-room>).
const ERR_CAMERA = -4 // camera failed to start
const ERR_MIC = -5 // microphone failed to start
const ERR_PUSH_DISCONNECTED = -6 // the pusher gave up reconnecting
const ERR_PERMISSION = -7 // camera or microphone permission denied
const ERR_ROOM_FULL = -8 // the room already has its maximum of members
const ERR_SIGNALING = -9 // no userSig, or the signaling socket could not be (re)established
const ERR_ENTER = -10 // the server refused the join for any other reason

// Informational codes.
const CODE_JOINED = 1018
const CODE_LEFT = 1019
const CODE_USERLIST = 1020
const CODE_KICKED = 4000

// Server error code that means "room full".
const SERVER_ROOM_FULL = 5001
const SERVER_SHUTTING_DOWN = 5003

// <live-pusher bindstatechange> codes that end up as RoomEvent errors.
const PUSHER_STATE_ERRORS = {
  '-1301': ERR_CAMERA, // opening the camera failed
  '-1302': ERR_MIC, // opening the microphone failed
  '-1307': ERR_PUSH_DISCONNECTED, // network lost, reconnects exhausted
}

// <live-pusher binderror> errCodes that mean "no permission".
const PUSHER_PERMISSION_ERRORS = {
  10001: 'camera',
  10002: 'microphone',
}

// Timers.
const HEARTBEAT_MS = 7000
const RECONNECT_DELAYS_MS = [2000, 2000, 2000] // one entry per reconnect try: 3 tries, 2 s apart (legacy)
const REPUSH_TRIES = 3 // <live-pusher>/<live-player> gave up (-1307/-2301): restart it this often, 2 s apart
const REPUSH_DELAY_MS = 2000
const PUSHER_PUSHING = 1002 // live-pusher: connected to the server, pushing
const PUSHER_NETWORK_CHANGE = 1021 // live-pusher: the network type changed
const PUSHER_GAVE_UP = -1307 // live-pusher: network lost, its own reconnects exhausted
const PLAYER_PLAYING = 2004 // live-player: playback started
const PLAYER_GAVE_UP = -2301 // live-player: network lost, its own reconnects exhausted
const LOGIN_RETRIES = 3 // get_login_info: 1 try + 3 retries
const LOGIN_RETRY_MS = 2000

// ---------------------------------------------------------------- IM (enableIM)
// IMEvent tags, the legacy names.
const IM = {
  LOGIN_EVENT: 'login_event',
  JOIN_GROUP_EVENT: 'join_group_event',
  CONNECTION_EVENT: 'connection_event',
  MSG_NOTIFY: 'msg_notify',
  BIG_GROUP_MSG_NOTIFY: 'big_group_msg_notify',
  GROUP_SYSTEM_NOTIFYS: 'group_system_notifys',
  ERROR: 'error',
}

// connection_event codes (the legacy IM SDK's connection states).
const IM_CONN_ON = 0
const IM_CONN_RECONNECT = 1
const IM_CONN_OFF = 9999

// group_system_notifys codes: the legacy group system notice types closest to each event.
const IM_NOTIFY_JOIN = 2 // legacy: join request accepted (now in the group)
const IM_NOTIFY_KICK = 4 // legacy: kicked out of the group
const IM_NOTIFY_DISSOLVE = 5 // legacy: group dissolved
const IM_NOTIFY_QUIT = 8 // legacy: quit the group

// IMEvent 'error' codes of our own (server chat errors keep the server's code: 3, 4001,
// 4130, 4290, ...).
const IM_ERR_OFF = -20 // enableIM is false (fail callback only: no IMEvent fires then)
const IM_ERR_NOT_JOINED = -21 // not in the room (not started, not joined yet, or reconnecting)
const IM_ERR_BAD_ARG = -22 // nothing to send (empty text, no data)
const IM_ERR_NO_ANSWER = -23 // the connection dropped, or no answer within CHAT_ACK_MS

const CHAT_ACK_MS = 10000 // how long a sent message waits for the server's copy or error

// Own kick reasons that mean the whole room is gone (-> group dissolved, 5).
const ROOM_GONE_RE = /server shutting down|room (closed|deleted|dissolved|ended|removed)|dissolved/i

// A server `chat` message -> the detail of IMEvent msg_notify / big_group_msg_notify.
function chatDetail(m, selfID, history) {
  const from = m.from == null ? '' : String(m.from)
  const ms = Number(m.time) || 0
  const d = {
    id: m.id,
    userID: from,
    fromAccount: from,
    fromAccountNick: m.nickName || from,
    nickName: m.nickName || '',
    time: Math.floor(ms / 1000),
    timeMs: ms,
    self: !!from && from === selfID,
    system: !!m.system,
    history: !!history,
    private: !!m.to,
  }
  if (m.to) d.to = String(m.to)
  if (typeof m.text === 'string') d.content = m.text
  if (m.data !== undefined && m.data !== null) d.data = m.data
  if (m.clientID) d.clientID = m.clientID
  return d
}

// member_left reason / own kick reason -> group_system_notifys {code, type}.
function leaveNotice(reason) {
  return reason === 'kicked' ? {code: IM_NOTIFY_KICK, type: 'kick'} : {code: IM_NOTIFY_QUIT, type: 'leave'}
}

function kickNotice(reason) {
  return ROOM_GONE_RE.test(String(reason || '')) ? {code: IM_NOTIFY_DISSOLVE, type: 'dissolve'} : {code: IM_NOTIFY_KICK, type: 'kick'}
}

// How many remote players each template shows.
function maxPlayers(template) {
  return template === '1v1' ? 1 : 3
}

// serverURL -> signaling WebSocket URL: https://h/p -> wss://h/p/ws, http -> ws.
// A ws:// or wss:// URL is taken as it is (with /ws added when it has no path).
function wsURL(serverURL) {
  let u = String(serverURL || '').trim().replace(/\/+$/, '')
  if (!u) return ''
  if (/^https:\/\//i.test(u)) u = 'wss://' + u.slice(8)
  else if (/^http:\/\//i.test(u)) u = 'ws://' + u.slice(7)
  else if (!/^wss?:\/\//i.test(u)) u = 'wss://' + u
  else if (/^wss?:\/\/[^/]+\/.+/i.test(u)) return u // ws URL with a path: use as given
  return u + '/ws'
}

// serverURL -> base URL of the room HTTP API (for get_login_info).
function httpURL(serverURL) {
  let u = String(serverURL || '').trim().replace(/\/+$/, '')
  if (/^wss:\/\//i.test(u)) u = 'https://' + u.slice(6)
  else if (/^ws:\/\//i.test(u)) u = 'http://' + u.slice(5)
  else if (u && !/^https?:\/\//i.test(u)) u = 'https://' + u
  return u.replace(/\/ws$/, '')
}

// The players to render from a server userlist: everyone but ourselves, in the server's
// order, at most maxPlayers(template). Entries without a URL are skipped.
function pickPlayers(userlist, selfID, template) {
  const out = []
  const seen = {}
  const list = Array.isArray(userlist) ? userlist : []
  const max = maxPlayers(template)
  for (let i = 0; i < list.length && out.length < max; i++) {
    const m = list[i] || {}
    const id = m.userID == null ? '' : String(m.userID)
    const src = m.playURL || m.rtmpURL || ''
    // A shared screen is a stream of its own, beside its sharer's camera ("." is not in user IDs).
    const screen = m.source === 'screen'
    const key = screen ? id + '.screen' : id
    if (!id || !src || id === selfID || seen[key]) continue
    seen[key] = true
    out.push({
      key,
      userID: id,
      source: screen ? 'screen' : 'camera',
      nickName: m.nickName || '',
      playURL: src,
      rtmpURL: m.rtmpURL || '',
    })
  }
  return out
}

module.exports = {
  ERR_CAMERA,
  ERR_MIC,
  ERR_PUSH_DISCONNECTED,
  ERR_PERMISSION,
  ERR_ROOM_FULL,
  ERR_SIGNALING,
  ERR_ENTER,
  CODE_JOINED,
  CODE_LEFT,
  CODE_USERLIST,
  CODE_KICKED,
  SERVER_ROOM_FULL,
  SERVER_SHUTTING_DOWN,
  PUSHER_STATE_ERRORS,
  PUSHER_PERMISSION_ERRORS,
  HEARTBEAT_MS,
  RECONNECT_DELAYS_MS,
  REPUSH_TRIES,
  REPUSH_DELAY_MS,
  PUSHER_PUSHING,
  PUSHER_NETWORK_CHANGE,
  PUSHER_GAVE_UP,
  PLAYER_PLAYING,
  PLAYER_GAVE_UP,
  LOGIN_RETRIES,
  LOGIN_RETRY_MS,
  IM,
  IM_CONN_ON,
  IM_CONN_RECONNECT,
  IM_CONN_OFF,
  IM_NOTIFY_JOIN,
  IM_NOTIFY_KICK,
  IM_NOTIFY_DISSOLVE,
  IM_NOTIFY_QUIT,
  IM_ERR_OFF,
  IM_ERR_NOT_JOINED,
  IM_ERR_BAD_ARG,
  IM_ERR_NO_ANSWER,
  CHAT_ACK_MS,
  chatDetail,
  leaveNotice,
  kickNotice,
  maxPlayers,
  wsURL,
  httpURL,
  pickPlayers,
}
