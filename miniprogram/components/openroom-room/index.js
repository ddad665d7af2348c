// <openroom-room>: a video room for mini-programs on an openroom server, with the
// attributes, methods and RoomEvents of the legacy <webrtc-room>. The mini-program pushes
// RTMP with <live-pusher> and plays the other members' HTTP-FLV streams with <live-player>;
// the server does the WebRTC side. See ../../README.md for the event table.

const codes = require('./codes.js')
const Signal = require('./signal.js')

const PUSHER_ID = 'openroom-pusher'

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
    enableIM: {type: Boolean, value: false}, // accepted; no IM yet
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

    // ------------------------------------------------------------------ <live-pusher> / <live-player>

    onPusherState(e) {
      const d = (e && e.detail) || {}
      const code = Number(d.code)
      this._log('pusher state', code, d.message)
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
      const userID = ds.userId || ds.userid || String(target.id || '').replace(/^player-/, '')
      this._emit('player', Number(d.code), {userID, message: d.message || ''})
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
        onMessage: (msg) => {
          if (this._s === s && !s.ended) this._onMessage(s, msg)
        },
        onReconnecting: (tryNo, delay) => {
          if (this._s !== s || s.ended) return
          this._log('reconnecting: try', tryNo, 'in', delay, 'ms')
          this.setData({state: 'reconnecting'})
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
      switch (msg.type) {
        case 'joined':
          this._onJoined(s, msg)
          break
        case 'userlist':
          s.userlist = Array.isArray(msg.userlist) ? msg.userlist : []
          this._renderPlayers()
          this._emit('userlist', codes.CODE_USERLIST, {userlist: s.userlist})
          break
        case 'member_left':
          // The server sends a new userlist too; drop the player now so it stops at once.
          if (s.userlist && msg.userID != null) {
            s.userlist = s.userlist.filter((m) => String(m.userID) !== String(msg.userID))
            this._renderPlayers()
          }
          break
        case 'kicked':
          this._kicked(s, msg.reason || 'kicked', msg.code || codes.CODE_KICKED)
          break
        case 'error':
          this._onServerError(s, msg)
          break
        default:
          // member_joined, mute, heartbeat: nothing to render.
          this._log('message', msg.type)
      }
    },

    _onJoined(s, msg) {
      const first = !s.joined
      s.joined = true
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
    },

    _onServerError(s, msg) {
      const detail = {serverCode: msg.code, message: msg.message || '', ref: msg.ref}
      if (msg.code === codes.SERVER_ROOM_FULL) {
        this._fail(codes.ERR_ROOM_FULL, detail)
      } else if (!s.joined || msg.ref === 'join') {
        this._fail(codes.ERR_ENTER, detail)
      } else {
        // After joining, errors answer one message (e.g. rate limit): the room goes on.
        this._log('server error', msg.code, msg.message)
      }
    },

    _kicked(s, reason, code) {
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
      s.timers.forEach((t) => clearTimeout(t))
      s.timers = []
      if (s.signal) s.signal.close(1000, 'leave')
      if (this.data.pushURL) this._pusher().stop({})
      this._eachPlayer((ctx) => ctx.stop({}))
      if (!keepEnded) this._s = null
      this.setData({pushURL: '', players: []})
    },

    _renderPlayers() {
      const s = this._s
      const players = codes.pickPlayers(s && s.userlist, s ? s.selfID : '', this.data.template)
      const cur = this.data.players
      const same =
        cur.length === players.length &&
        cur.every((p, i) => p.userID === players[i].userID && p.playURL === players[i].playURL && p.nickName === players[i].nickName)
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
        const ctx = wx.createLivePlayerContext('player-' + p.userID, this)
        if (ctx) fn(ctx)
      })
    },

    _later(s, fn, ms) {
      const t = setTimeout(() => {
        s.timers = s.timers.filter((x) => x !== t)
        fn()
      }, ms)
      s.timers.push(t)
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
