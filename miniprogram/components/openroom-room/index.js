// <openroom-room>: a video room for mini-programs on an openroom server, with the
// attributes, methods and RoomEvents of the legacy <webrtc-room>. The mini-program pushes
// RTMP with <live-pusher> and plays the other members' HTTP-FLV streams with <live-player>;
// the server does the WebRTC side. With enableIM it also carries the room's chat over the
// same socket and reports it as the legacy IMEvents. See ../../README.md for the event tables.

const codes = require('./codes.js')
const board = require('./board.js')
const Signal = require('./signal.js')

const PUSHER_ID = 'openroom-pusher'

// sendTextMsg's optional arguments: (to), (success, fail), ({to, success, fail}).
function chatArgs(a, b, c) {
  if (typeof a === 'function') return {success: a, fail: b}
  if (a && typeof a === 'object') return {to: a.to, success: a.success, fail: a.fail}
  return {to: a, success: b, fail: c}
}

// The argument of a fail callback: our names and the legacy IM SDK's.
function chatError(entry, code, message) {
  return {code, message, ErrorCode: code, ErrorInfo: message, clientID: entry.clientID || ''}
}

function callback(fn, debug, arg) {
  if (typeof fn !== 'function') return
  try {
    fn(arg)
  } catch (e) {
    if (debug) console.log('[openroom]', 'IM callback threw', e)
  }
}

Component({
  options: {
    multipleSlots: true,
  },

  properties: {
    roomID: {type: String, optionalTypes: [Number], value: ''},
    userID: {type: String, value: ''},
    userSig: {type: String, value: ''},
    privateMapKey: {type: String, value: ''},
    template: {type: String, value: '1v1'}, // '1v1' | '1v3'
    beauty: {type: Number, value: 5},
    whiteness: {type: Number, value: 0},
    muted: {type: Boolean, value: false},
    debug: {type: Boolean, value: false},
    enableCamera: {type: Boolean, value: true},
    aspect: {type: String, value: '3:4'}, // '3:4' | '9:16'
    minBitrate: {type: Number, value: 200},
    maxBitrate: {type: Number, value: 400},
    serverURL: {type: String, value: ''},
    nickName: {type: String, value: ''},
    enableIM: {type: Boolean, value: false}, // chat over the signaling socket, IMEvents
  },

  data: {
    pushURL: '',
    players: [], // [{userID, nickName, playURL, rtmpURL}]
    state: 'idle', // idle | starting | joined | reconnecting | ended
  },

  observers: {
    template() {
      if (this._s && this._s.userlist) this._renderPlayers()
    },
    muted(v) {
      this._sendMute('audio', !!v)
    },
    enableCamera(v) {
      this._sendMute('video', !v)
    },
  },

  lifetimes: {
    created() {
      this._s = null
      this._pusherCtx = null
      this._chatSeq = 0
    },
    detached() {
      this.stop()
    },
  },

  methods: {
    // ------------------------------------------------------------------ public methods

    // Enter the room: permissions, userSig (from the server when none is given), socket, join.
    start() {
      if (this._s && !this._s.ended) {
        this._log('start: already started')
        return
      }
      const s = {
        ended: false,
        joined: false,
        selfID: String(this.data.userID || ''),
        userSig: this.data.userSig,
        userlist: null,
        signal: null,
        timers: [],
        sentMute: {},
        inRoom: false, // joined on the current socket (false while reconnecting)
        imConn: 'none', // last connection_event status: none | connected | reconnecting | disconnected
        lastChatID: 0, // newest chat id reported, so a re-join's chat_history is not reported twice
        pending: [], // sent chat messages waiting for the server's copy or error
        names: {}, // userID -> nickName, for group_system_notifys
        resumeToken: '', // from joined/resumed: a new socket takes the membership over with it
        lastSeq: 0, // the highest seq of a server message handled
        pushTries: 0, // pusher restarts since it last pushed
        playTries: {}, // userID -> player restarts since it last played
        onNetwork: null, // the wx.onNetworkStatusChange listener
      }
      this._s = s
      this.setData({state: 'starting', players: []})
      if (!this.data.serverURL) {
        this._fail(codes.ERR_SIGNALING, {message: 'serverURL is empty'})
        return
      }
      if (this.data.roomID === '' || this.data.roomID == null) {
        this._fail(codes.ERR_ENTER, {message: 'roomID is empty'})
        return
      }
      this._authorize(s, () => {
        this._login(s, () => this._connect(s))
      })
      if (typeof wx.onNetworkStatusChange === 'function') {
        s.onNetwork = (res) => {
          if (this._s === s && !s.ended) this._networkChanged(s, res)
        }
        wx.onNetworkStatusChange(s.onNetwork)
      }
    },

    // Leave the room and stop pushing and playing. RoomEvent 'left' (1019) when it was in one.
    stop() {
      const s = this._s
      if (!s || s.ended) return
      const wasJoined = s.joined
      if (s.signal && s.signal.isOpen) s.signal.send({type: 'leave'})
      this._teardown(false)
      this.setData({state: 'idle'})
      if (wasJoined) this._emit('left', codes.CODE_LEFT, {roomID: this._roomName()})
    },

    pause() {
      this._pusher().pause({fail: (e) => this._log('pusher pause failed', e)})
      this._eachPlayer((ctx) => ctx.pause({}))
    },

    resume() {
      this._pusher().resume({fail: (e) => this._log('pusher resume failed', e)})
      this._eachPlayer((ctx) => ctx.resume({}))
    },

    switchCamera() {
      this._pusher().switchCamera({fail: (e) => this._log('switchCamera failed', e)})
    },

    // ------------------------------------------------------------------ IM (enableIM)
    // Each returns the clientID of the message sent, or '' when it could not be sent. The
    // message is confirmed by its own copy coming back (IMEvent msg_notify with self: true,
    // and success(detail)), or refused with IMEvent 'error' (and fail(err)).

    // sendTextMsg(text), sendTextMsg(text, to), sendTextMsg(text, success, fail),
    // sendTextMsg(text, {to, success, fail})
    sendTextMsg(text, a, b, c) {
      const o = chatArgs(a, b, c)
      const t = text == null ? '' : String(text)
      return this._sendChat(t.trim() ? {text: t} : null, o)
    },

    // sendCustomMsg({data, ext, desc, to?}, success?, fail?): sent as `data: {data, ext, desc}`.
    sendCustomMsg(msg, success, fail) {
      const m = msg || {}
      const data = {}
      ;['data', 'ext', 'desc'].forEach((k) => {
        if (m[k] !== undefined) data[k] = m[k]
      })
      const o = {to: m.to, success: success || m.success, fail: fail || m.fail}
      return this._sendChat(Object.keys(data).length ? {data} : null, o)
    },

    // The names of the later legacy component.
    sendGroupTextMsg(text, success, fail) {
      return this.sendTextMsg(text, {success, fail})
    },
    sendGroupCustomMsg(msg, success, fail) {
      return this.sendCustomMsg(Object.assign({}, msg, {to: undefined}), success, fail)
    },
    sendC2CTextMsg(to, text, success, fail) {
      if (!to) return this._sendChat(null, {success, fail})
      return this.sendTextMsg(text, {to, success, fail})
    },
    sendC2CCustomMsg(to, msg, success, fail) {
      if (!to) return this._sendChat(null, {success, fail})
      return this.sendCustomMsg(Object.assign({}, msg, {to}), success, fail)
    },

    // ------------------------------------------------------------------ <live-pusher> / <live-player>

    onPusherState(e) {
      const d = (e && e.detail) || {}
      const code = Number(d.code)
      this._log('pusher state', code, d.message)
      const s = this._s
      if (s && !s.ended) {
        if (code === codes.PUSHER_PUSHING) s.pushTries = 0
        if (code === codes.PUSHER_NETWORK_CHANGE) this._networkChanged(s, {pusherCode: code})
        // The pusher gave up on its own reconnects: push again, 3 times 2 s apart, then -6.
        if (code === codes.PUSHER_GAVE_UP && s.pushTries < codes.REPUSH_TRIES) {
          s.pushTries++
          this._emit('pusher', code, {message: d.message || '', retry: s.pushTries})
          this._repush(s, codes.REPUSH_DELAY_MS)
          return
        }
      }
      const err = codes.PUSHER_STATE_ERRORS[String(code)]
      if (err) {
        this._emit('error', err, {pusherCode: code, message: d.message || ''})
      } else {
        this._emit('pusher', code, {message: d.message || ''})
      }
    },

    onPusherError(e) {
      const d = (e && e.detail) || {}
      const code = Number(d.errCode)
      this._log('pusher error', code, d.errMsg)
      if (codes.PUSHER_PERMISSION_ERRORS[code]) {
        this._emit('error', codes.ERR_PERMISSION, {
          device: codes.PUSHER_PERMISSION_ERRORS[code],
          pusherCode: code,
          message: d.errMsg || '',
        })
      }
    },

    onPlayerState(e) {
      const d = (e && e.detail) || {}
      const target = (e && (e.currentTarget || e.target)) || {}
      const ds = target.dataset || {}
      const key = ds.key || String(target.id || '').replace(/^player-/, '')
      const userID = ds.userId || ds.userid || key.replace(/\.screen$/, '')
      const source = ds.source || (key.endsWith('.screen') ? 'screen' : 'camera')
      const code = Number(d.code)
      this._emit('player', code, source === 'screen' ? {userID, source, message: d.message || ''} : {userID, message: d.message || ''})
      const s = this._s
      if (!s || s.ended || !key) return
      if (code === codes.PLAYER_PLAYING) s.playTries[key] = 0
      // The player gave up on its own reconnects: play again, 3 times 2 s apart.
      if (code === codes.PLAYER_GAVE_UP && (s.playTries[key] || 0) < codes.REPUSH_TRIES) {
        s.playTries[key] = (s.playTries[key] || 0) + 1
        this._later(s, () => {
          if (!this.data.players.some((p) => p.key === key)) return
          const ctx = wx.createLivePlayerContext('player-' + key, this)
          if (!ctx) return
          ctx.stop({})
          ctx.play({fail: (err) => this._log('player restart failed', key, err)})
        }, codes.REPUSH_DELAY_MS)
      }
    },

    // ------------------------------------------------------------------ internals

    _authorize(s, next) {
      if (typeof wx.authorize !== 'function') {
        next()
        return
      }
      const scopes = []
      if (this.data.enableCamera) scopes.push('scope.camera')
      scopes.push('scope.record')
      const step = (i) => {
        if (s.ended) return
        if (i >= scopes.length) {
          next()
          return
        }
        wx.authorize({
          scope: scopes[i],
          success: () => step(i + 1),
          fail: (err) => {
            if (s.ended) return
            this._fail(codes.ERR_PERMISSION, {
              scope: scopes[i],
              device: scopes[i] === 'scope.camera' ? 'camera' : 'microphone',
              message: (err && err.errMsg) || 'authorize denied',
            })
          },
        })
      }
      step(0)
    },

    // Gets a userSig from POST {server}/weapp/webrtc_room/get_login_info when none was given:
    // 1 try + 3 retries, 2 s apart, then RoomEvent -9.
    _login(s, next) {
      if (s.userSig) {
        next()
        return
      }
      const url = codes.httpURL(this.data.serverURL) + '/weapp/webrtc_room/get_login_info'
      const body = {}
      if (s.selfID) body.userID = s.selfID
      let attempt = 0
      const tryOnce = () => {
        if (s.ended) return
        attempt++
        this._log('get_login_info try', attempt)
        wx.request({
          url,
          method: 'POST',
          data: body,
          header: {'content-type': 'application/json'},
          success: (res) => {
            if (s.ended) return
            const d = res && res.data
            if (res.statusCode === 200 && d && d.code === 0 && d.userSig) {
              s.userSig = d.userSig
              if (!s.selfID && d.userID) s.selfID = String(d.userID)
              next()
              return
            }
            // Codes 2 (missing parameter) and 7 (bad userID) will not change on a retry.
            if (res.statusCode === 200 && d && (d.code === 2 || d.code === 7)) {
              this._fail(codes.ERR_SIGNALING, {message: d.message || 'get_login_info refused', serverCode: d.code})
              return
            }
            retry(d && d.message ? d.message : 'get_login_info: HTTP ' + res.statusCode)
          },
          fail: (err) => {
            if (s.ended) return
            retry((err && err.errMsg) || 'request failed')
          },
        })
      }
      const retry = (why) => {
        if (attempt > codes.LOGIN_RETRIES) {
          this._fail(codes.ERR_SIGNALING, {message: why, tries: attempt})
          return
        }
        this._later(s, tryOnce, codes.LOGIN_RETRY_MS)
      }
      tryOnce()
    },

    _connect(s) {
      const url = codes.wsURL(this.data.serverURL)
      s.signal = new Signal({
        url,
        log: (...a) => this._log('signal', ...a),
        joinMessage: () => this._joinMessage(s),
        resumeMessage: () =>
          s.resumeToken ? {type: 'resume', room: this._roomName(), resumeToken: s.resumeToken, lastSeq: s.lastSeq} : null,
        onOpen: () => {
          if (this._s === s && !s.ended) this._imConnection(s, 'connected')
        },
        onMessage: (msg) => {
          if (this._s === s && !s.ended) this._onMessage(s, msg)
        },
        onReconnecting: (tryNo, delay) => {
          if (this._s !== s || s.ended) return
          this._log('reconnecting: try', tryNo, 'in', delay, 'ms')
          s.inRoom = false
          this._failPending(s, codes.IM_ERR_NO_ANSWER, 'connection lost before the server confirmed the message')
          this.setData({state: 'reconnecting'})
          this._imConnection(s, 'reconnecting', {tries: tryNo, delay})
        },
        onGiveUp: (info) => {
          if (this._s !== s || s.ended) return
          this._fail(codes.ERR_SIGNALING, {message: 'signaling connection lost: ' + (info.reason || ''), tries: info.tries})
        },
        onKickedClose: (info) => {
          // Close code 4000 without a `kicked` message first.
          if (this._s !== s || s.ended) return
          this._kicked(s, info.reason || 'kicked', codes.CODE_KICKED)
        },
      })
      s.signal.connect()
    },

    _joinMessage(s) {
      const m = {type: 'join', room: this._roomName(), userSig: s.userSig, client: 'miniprogram'}
      if (this.data.privateMapKey) m.privateMapKey = this.data.privateMapKey
      if (this.data.nickName) m.nickName = this.data.nickName
      return m
    },

    _onMessage(s, msg) {
      // Whiteboard messages carry the board's own seq, not the session's.
      const boardMsg = msg.type === 'board' || msg.type === 'board_state'
      if (typeof msg.seq === 'number' && msg.seq > s.lastSeq && !boardMsg) s.lastSeq = msg.seq
      switch (msg.type) {
        case 'joined':
          this._onJoined(s, msg)
          break
        case 'resumed':
          // The server kept our membership: nobody saw us go; what we missed is replayed.
          if (msg.resumeToken) s.resumeToken = String(msg.resumeToken)
          s.inRoom = true
          this.setData({state: 'joined'})
          this._log('resumed after seq', msg.lastSeq)
          break
        case 'userlist':
          s.userlist = Array.isArray(msg.userlist) ? msg.userlist : []
          s.userlist.forEach((m) => this._rememberName(s, m))
          this._renderPlayers()
          this._emit('userlist', codes.CODE_USERLIST, {userlist: s.userlist})
          break
        case 'member_left':
          // The server sends a new userlist too; drop the player now so it stops at once.
          if (s.userlist && msg.userID != null) {
            s.userlist = s.userlist.filter((m) => String(m.userID) !== String(msg.userID))
            this._renderPlayers()
          }
          this._memberNotice(s, msg.userID, codes.leaveNotice(msg.reason), msg.reason || '')
          break
        case 'member_joined': {
          const m = msg.member || {}
          this._rememberName(s, m)
          this._memberNotice(s, m.userID, {code: codes.IM_NOTIFY_JOIN, type: 'join'}, '')
          break
        }
        case 'board_state':
          board.onState(this._roomName(), msg)
          break
        case 'board':
          board.onOp(this._roomName(), msg)
          break
        case 'chat':
          this._onChat(s, msg, false)
          break
        case 'chat_history':
          this._onChatHistory(s, msg)
          break
        case 'kicked':
          this._kicked(s, msg.reason || 'kicked', msg.code || codes.CODE_KICKED)
          break
        case 'error':
          this._onServerError(s, msg)
          break
        default:
          // mute, heartbeat: nothing to render.
          this._log('message', msg.type)
      }
    },

    _onJoined(s, msg) {
      const first = !s.joined
      // <openroom-sketchpad>s of this room draw through our socket.
      if (!s.boardDetach) s.boardDetach = board.attach(this._roomName(), (op) => !!s.signal && s.signal.send({type: 'board', op}))
      s.joined = true
      s.inRoom = true
      s.resumeToken = msg.resumeToken ? String(msg.resumeToken) : ''
      ;(msg.members || []).forEach((m) => this._rememberName(s, m))
      if (msg.userID != null) s.selfID = String(msg.userID)
      const pushURL = msg.pushURL || ''
      const changed = pushURL !== this.data.pushURL
      this.setData({state: 'joined'})
      if (changed) {
        if (this.data.pushURL) this._pusher().stop({})
        this.setData({pushURL}, () => {
          if (pushURL && this._s === s && !s.ended) {
            this._pusher().start({fail: (e) => this._log('pusher start failed', e)})
          }
        })
      }
      if (s.userlist) this._renderPlayers()
      // A member joins unmuted; tell the others about a mute state set before joining.
      s.sentMute = {audio: false, video: false}
      if (this.data.muted) this._sendMute('audio', true)
      if (!this.data.enableCamera) this._sendMute('video', true)
      this._emit('joined', codes.CODE_JOINED, {
        roomID: msg.roomID != null ? msg.roomID : this._roomName(),
        userID: s.selfID,
        privileges: msg.privileges,
        members: msg.members || [],
        pushURL,
        rejoined: !first,
      })
      this._im(codes.IM.LOGIN_EVENT, 0, {userID: s.selfID, nickName: this.data.nickName, rejoined: !first})
      this._im(codes.IM.JOIN_GROUP_EVENT, 0, {roomID: msg.roomID != null ? msg.roomID : this._roomName(), rejoined: !first})
    },

    _onServerError(s, msg) {
      if (msg.ref === 'resume' && msg.code === codes.SERVER_SHUTTING_DOWN) {
        this._log('resume: the server is shutting down; the next socket tries again')
        return
      }
      if (msg.ref === 'resume') {
        // The server no longer has our membership (it restarted, or we were away too
        // long): enter again the normal way, on the same socket.
        this._log('resume refused, joining again:', msg.message)
        s.resumeToken = ''
        s.lastSeq = 0
        if (s.signal) s.signal.send(this._joinMessage(s))
        return
      }
      const detail = {serverCode: msg.code, message: msg.message || '', ref: msg.ref}
      if (s.joined && msg.ref === 'chat') {
        this._onChatError(s, msg)
      } else if (msg.code === codes.SERVER_ROOM_FULL) {
        this._fail(codes.ERR_ROOM_FULL, detail)
      } else if (!s.joined || msg.ref === 'join') {
        this._fail(codes.ERR_ENTER, detail)
      } else {
        // After joining, errors answer one message (e.g. rate limit): the room goes on.
        this._log('server error', msg.code, msg.message)
      }
    },

    _kicked(s, reason, code) {
      const n = codes.kickNotice(reason)
      this._im(codes.IM.GROUP_SYSTEM_NOTIFYS, n.code, {
        type: n.type,
        userID: s.selfID,
        nickName: this.data.nickName,
        reason,
        self: true,
      })
      this._teardown(true)
      this.setData({state: 'ended'})
      this._emit('kicked', code, reason)
    },

    // Fatal error: end the session and emit RoomEvent {tag: 'error', code}.
    _fail(code, detail) {
      this._teardown(true)
      this.setData({state: 'ended'})
      this._emit('error', code, detail)
    },

    // Ends the current session: timers, socket, pusher, players.
    _teardown(keepEnded) {
      const s = this._s
      if (!s || s.ended) return
      s.ended = true
      s.inRoom = false
      s.timers.forEach((t) => clearTimeout(t))
      s.timers = []
      if (s.onNetwork && typeof wx.offNetworkStatusChange === 'function') wx.offNetworkStatusChange(s.onNetwork)
      s.onNetwork = null
      this._failPending(s, codes.IM_ERR_NO_ANSWER, 'left the room before the server confirmed the message')
      if (s.imConn === 'connected' || s.imConn === 'reconnecting') this._imConnection(s, 'disconnected')
      if (s.boardDetach) s.boardDetach()
      s.boardDetach = null
      if (s.signal) s.signal.close(1000, 'leave')
      if (this.data.pushURL) this._pusher().stop({})
      this._eachPlayer((ctx) => ctx.stop({}))
      if (!keepEnded) this._s = null
      this.setData({pushURL: '', players: []})
    },

    // The network changed (Wi-Fi <-> 4G, or back online; pusher code 1021): the socket
    // reconnects at once and resumes the membership, and the pusher pushes again (the bridge
    // keeps its tracks for a few seconds, so the others see no leave and join).
    _networkChanged(s, info) {
      if (!s.joined || s.ended) return
      if (info && info.isConnected === false) return // offline: the next change brings us back
      this._log('network changed', info)
      if (s.signal) s.signal.reconnectNow()
      this._repush(s, 0)
    },

    // Restarts <live-pusher> after delay ms (same pushURL).
    _repush(s, delay) {
      if (!this.data.pushURL) return
      this._later(s, () => {
        if (this._s !== s || s.ended || !this.data.pushURL) return
        this._log('pushing again')
        this._pusher().stop({})
        this._pusher().start({fail: (e) => this._log('pusher restart failed', e)})
      }, delay)
    },

    _renderPlayers() {
      const s = this._s
      const players = codes.pickPlayers(s && s.userlist, s ? s.selfID : '', this.data.template)
      const cur = this.data.players
      const same =
        cur.length === players.length &&
        cur.every((p, i) => p.key === players[i].key && p.playURL === players[i].playURL && p.nickName === players[i].nickName)
      if (!same) this.setData({players})
    },

    _sendMute(kind, muted) {
      const s = this._s
      if (!s || !s.joined || s.ended || !s.signal) return
      if (s.sentMute[kind] === muted) return
      if (s.signal.send({type: 'mute', kind, muted})) s.sentMute[kind] = muted
    },

    _roomName() {
      return String(this.data.roomID)
    },

    _pusher() {
      if (!this._pusherCtx) this._pusherCtx = wx.createLivePusherContext(PUSHER_ID, this)
      return this._pusherCtx
    },

    _eachPlayer(fn) {
      this.data.players.forEach((p) => {
        const ctx = wx.createLivePlayerContext('player-' + p.key, this)
        if (ctx) fn(ctx)
      })
    },

    _later(s, fn, ms) {
      const t = setTimeout(() => {
        s.timers = s.timers.filter((x) => x !== t)
        fn()
      }, ms)
      s.timers.push(t)
      return t
    },

    _cancel(s, t) {
      clearTimeout(t)
      s.timers = s.timers.filter((x) => x !== t)
    },

    // ------------------------------------------------------------------ IM internals

    // Sends {type: 'chat', ...fields, clientID}. fields null: nothing to send.
    _sendChat(fields, o) {
      const s = this._s
      const entry = Object.assign({clientID: '', success: o.success, fail: o.fail}, fields || {})
      if (fields && o.to != null && o.to !== '') entry.to = fields.to = String(o.to)
      if (!this.data.enableIM) {
        this._log('chat: enableIM is false')
        callback(entry.fail, this.data.debug, chatError(entry, codes.IM_ERR_OFF, 'enableIM is false'))
        return ''
      }
      if (!fields) {
        this._chatFailed(entry, codes.IM_ERR_BAD_ARG, 'nothing to send: empty text or no data')
        return ''
      }
      if (!s || s.ended || !s.inRoom || !s.signal || !s.signal.isOpen) {
        this._chatFailed(entry, codes.IM_ERR_NOT_JOINED, 'not in the room')
        return ''
      }
      entry.clientID = 'c' + ++this._chatSeq + '-' + Date.now().toString(36)
      if (!s.signal.send(Object.assign({type: 'chat'}, fields, {clientID: entry.clientID}))) {
        this._chatFailed(entry, codes.IM_ERR_NOT_JOINED, 'not in the room')
        return ''
      }
      s.pending.push(entry)
      entry.timer = this._later(s, () => {
        s.pending = s.pending.filter((e) => e !== entry)
        this._chatFailed(entry, codes.IM_ERR_NO_ANSWER, 'no answer from the server')
      }, codes.CHAT_ACK_MS)
      return entry.clientID
    },

    // Takes a pending message off the list: the one with that clientID, or else the oldest
    // (the server answers a socket's messages in order; a rate-limit error has no clientID).
    _takePending(s, clientID) {
      let i = clientID ? s.pending.findIndex((e) => e.clientID === clientID) : -1
      if (i < 0 && clientID === undefined) i = 0
      if (i < 0 || i >= s.pending.length) return null
      const entry = s.pending.splice(i, 1)[0]
      if (entry.timer) this._cancel(s, entry.timer)
      return entry
    },

    _failPending(s, code, message) {
      const list = s.pending
      s.pending = []
      list.forEach((entry) => {
        if (entry.timer) this._cancel(s, entry.timer)
        this._chatFailed(entry, code, message)
      })
    },

    _onChatError(s, msg) {
      const entry = this._takePending(s, msg.clientID || undefined) || {clientID: msg.clientID || ''}
      this._chatFailed(entry, msg.code, msg.message || '')
    },

    // IMEvent error (when enableIM) and the message's fail callback.
    _chatFailed(entry, code, message) {
      const err = chatError(entry, code, message)
      this._log('chat failed', code, message)
      const detail = {message, ref: 'chat', clientID: entry.clientID || ''}
      ;['text', 'data', 'to'].forEach((k) => {
        if (entry[k] !== undefined) detail[k] = entry[k]
      })
      this._im(codes.IM.ERROR, code, detail)
      callback(entry.fail, this.data.debug, err)
    },

    _onChat(s, m, history) {
      if (!this.data.enableIM) return
      const id = Number(m.id)
      if (!history && id) s.lastChatID = id
      const detail = codes.chatDetail(m, s.selfID, history)
      const entry = !history && m.clientID ? this._takePending(s, String(m.clientID)) : null
      this._im(codes.IM.MSG_NOTIFY, 0, detail)
      if (!detail.private) this._im(codes.IM.BIG_GROUP_MSG_NOTIFY, 0, Object.assign({}, detail))
      if (entry) callback(entry.success, this.data.debug, detail)
    },

    // The room's last messages, after each joined. After a re-join only the ones not yet
    // reported; ids lower than the last one seen mean the room was created anew.
    _onChatHistory(s, msg) {
      if (!this.data.enableIM) return
      const list = Array.isArray(msg.messages) ? msg.messages : []
      const ids = list.map((m) => Number(m && m.id) || 0)
      const newest = ids.length ? Math.max.apply(null, ids) : 0
      if (newest && newest < s.lastChatID) s.lastChatID = 0
      const after = s.lastChatID
      list.forEach((m, i) => {
        if (!m || (ids[i] && ids[i] <= after)) return
        this._onChat(s, m, true)
        if (ids[i] > s.lastChatID) s.lastChatID = ids[i]
      })
    },

    _rememberName(s, m) {
      if (m && m.userID != null && m.nickName) s.names[String(m.userID)] = m.nickName
    },

    _memberNotice(s, userID, n, reason) {
      if (userID == null || userID === '') return
      const id = String(userID)
      this._im(codes.IM.GROUP_SYSTEM_NOTIFYS, n.code, {
        type: n.type,
        userID: id,
        nickName: s.names[id] || '',
        reason,
        self: id === s.selfID,
      })
    },

    // connection_event: connected (0), reconnecting (1), disconnected (9999).
    _imConnection(s, status, extra) {
      if (status === s.imConn && status !== 'reconnecting') return
      s.imConn = status
      const code = status === 'connected' ? codes.IM_CONN_ON : status === 'reconnecting' ? codes.IM_CONN_RECONNECT : codes.IM_CONN_OFF
      this._im(codes.IM.CONNECTION_EVENT, code, Object.assign({status}, extra || {}))
    },

    _im(tag, code, detail) {
      if (!this.data.enableIM) return
      this._log('IMEvent', tag, code, detail)
      this.triggerEvent('IMEvent', {tag, code, detail})
    },

    _emit(tag, code, detail) {
      this._log('RoomEvent', tag, code, detail)
      this.triggerEvent('RoomEvent', {tag, code, detail})
    },

    _log(...args) {
      if (this.data.debug) console.log('[openroom]', ...args)
    },
  },
})
