// The signaling socket of <openroom-room>: one wx SocketTask at a time, a heartbeat every
// 7 s while it is open, `resume` (when the server gave a token) or `join` sent on every
// open, and reconnects when it drops: 3 tries, 2 s apart (the legacy component's rule).
// The counter of tries is reset by each `joined` or `resumed`.
// A cluster node that does not host the room answers `join` with
// {type: 'redirect', url}: the socket moves there (at most 3 times per join),
// and a socket there that drops is tried there once, then at the given url again.
//
//   const s = new Signal({
//     url,                 // wss://host/ws
//     joinMessage(),       // -> the join object to send on each open
//     resumeMessage(),     // -> the resume object to send instead, or null
//     onOpen(),            // the socket opened (before `join` is sent)
//     onMessage(msg),      // every parsed server message
//     onReconnecting(try, delayMs),
//     onGiveUp(detail),    // reconnect tries exhausted
//     log(...args),
//   })
//   s.connect(); s.send(obj); s.close()

const codes = require('./codes.js')

function noop() {}

const MAX_REDIRECTS = 3

function Signal(opts) {
  this.opts = opts
  this.url = opts.url // where the next socket goes: opts.url, or the room's node after a redirect
  this.redirects = 0 // redirects followed since the last `joined`
  this.log = opts.log || noop
  this.heartbeatMs = opts.heartbeatMs || codes.HEARTBEAT_MS
  this.delays = opts.reconnectDelays || codes.RECONNECT_DELAYS_MS
  this.task = null // current SocketTask
  this.isOpen = false
  this.closed = false // close() was called: never reconnect
  this.tries = 0 // reconnect tries since the last `joined`
  this.hbTimer = null
  this.retryTimer = null
}

Signal.prototype.connect = function () {
  if (this.closed) return
  const self = this
  let done = false // this task has ended (close and error may both arrive)
  this.isOpen = false
  this.log('connect', this.url)
  const task = wx.connectSocket({
    url: this.url,
    fail(err) {
      // Some base libraries report a refused connect here and never call onClose.
      if (self.task !== task || done) return
      done = true
      self._dropped(task, {reason: (err && err.errMsg) || 'connectSocket failed'})
    },
  })
  this.task = task
  if (!task) {
    this.task = null
    this._dropped(null, {reason: 'connectSocket returned no SocketTask'})
    return
  }
  task.onOpen(function () {
    if (self.task !== task || done) return
    self.isOpen = true
    self.log('open')
    self._startHeartbeat()
    if (self.opts.onOpen) self.opts.onOpen()
    if (self.task !== task) return // onOpen may close the socket
    const resume = self.opts.resumeMessage ? self.opts.resumeMessage() : null
    self.send(resume || self.opts.joinMessage())
  })
  task.onMessage(function (res) {
    if (self.task !== task || done) return
    let msg
    try {
      msg = JSON.parse(res && res.data)
    } catch (e) {
      self.log('bad frame', res && res.data)
      return
    }
    if (!msg || typeof msg !== 'object') return
    if (msg.type === 'redirect') {
      self._redirect(msg)
      return
    }
    if (msg.type === 'joined' || msg.type === 'resumed') self.tries = self.redirects = 0
    self.opts.onMessage(msg)
  })
  task.onError(function (err) {
    if (self.task !== task || done) return
    done = true
    self._dropped(task, {reason: (err && err.errMsg) || 'socket error'})
  })
  task.onClose(function (res) {
    if (self.task !== task || done) return
    done = true
    self._dropped(task, {code: res && res.code, reason: (res && res.reason) || 'closed'})
  })
}

// Moves the socket to the node the room lives on.
Signal.prototype._redirect = function (msg) {
  const url = msg && typeof msg.url === 'string' ? msg.url : ''
  if (!/^wss?:\/\//.test(url) || this.redirects >= MAX_REDIRECTS) {
    this.log('redirect refused', url, this.redirects)
    this.close(1000, 'bad redirect')
    if (this.opts.onGiveUp) this.opts.onGiveUp({tries: this.tries, reason: 'the server sent the join to ' + (url || 'no URL') + ' (redirect ' + (this.redirects + 1) + ')'})
    return
  }
  this.redirects++
  this._closeTask(1000, 'redirected')
  this.url = url
  this.log('redirected to', url)
  this.connect()
}

Signal.prototype.send = function (obj) {
  if (!this.task || !this.isOpen) return false
  const data = JSON.stringify(obj)
  const self = this
  this.task.send({
    data,
    fail(err) {
      self.log('send failed', obj.type, err && err.errMsg)
    },
  })
  return true
}

// The network changed: the current socket may be bound to an address that is gone.
// Drop it and connect again at once (the session is resumed).
Signal.prototype.reconnectNow = function () {
  if (this.closed) return
  this._closeTask(1000, 'network changed')
  this.log('reconnecting at once: network changed')
  this.connect()
}

// Intentional close: no reconnect. Safe to call more than once.
Signal.prototype.close = function (code, reason) {
  this.closed = true
  this._closeTask(code || 1000, reason || 'bye')
}

// Closes the current task (its events are ignored from now on) and stops the timers.
Signal.prototype._closeTask = function (code, reason) {
  this._stopHeartbeat()
  if (this.retryTimer) clearTimeout(this.retryTimer)
  this.retryTimer = null
  const task = this.task
  this.task = null
  this.isOpen = false
  if (task) {
    try {
      task.close({code, reason})
    } catch (e) {
      // already closed
    }
  }
}

Signal.prototype._startHeartbeat = function () {
  this._stopHeartbeat()
  const self = this
  this.hbTimer = setInterval(function () {
    self.send({type: 'heartbeat'})
  }, this.heartbeatMs)
}

Signal.prototype._stopHeartbeat = function () {
  if (this.hbTimer) clearInterval(this.hbTimer)
  this.hbTimer = null
}

Signal.prototype._dropped = function (task, info) {
  this._stopHeartbeat()
  this.isOpen = false
  if (task && this.task === task) this.task = null
  if (task) {
    try {
      task.close({})
    } catch (e) {
      // ignore
    }
  }
  this.log('dropped', info)
  if (this.closed) return
  // 4000: the server kicked us (a `kicked` message came first). Never come back by ourselves.
  if (info.code === codes.CODE_KICKED) {
    this.closed = true
    if (this.opts.onKickedClose) this.opts.onKickedClose(info)
    return
  }
  if (this.tries >= this.delays.length) {
    this.closed = true
    if (this.opts.onGiveUp) this.opts.onGiveUp({tries: this.tries, reason: info.reason, closeCode: info.code})
    return
  }
  // The room's node of a cluster is tried once; then the given server, which
  // places the room anew if that node is gone.
  if (this.url !== this.opts.url && this.tries >= 1) this.url = this.opts.url
  const delay = this.delays[this.tries]
  this.tries++
  if (this.opts.onReconnecting) this.opts.onReconnecting(this.tries, delay)
  const self = this
  this.retryTimer = setTimeout(function () {
    self.retryTimer = null
    self.connect()
  }, delay)
}

module.exports = Signal
