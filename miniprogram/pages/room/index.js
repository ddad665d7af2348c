// Room page: one <openroom-room>, a few buttons and a log of its RoomEvents.
const MAX_LOG = 200
const FATAL_ERRORS = {
  '-4': 'Could not open the camera.',
  '-5': 'Could not open the microphone.',
  '-6': 'Lost the connection while sending video.',
  '-7': 'Camera or microphone permission was denied. Allow both in the settings and try again.',
  '-8': 'The room is full.',
  '-9': 'Could not reach the room server.',
  '-10': 'Could not enter the room.',
}

function clock() {
  const d = new Date()
  const p = (n) => (n < 10 ? '0' : '') + n
  return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds())
}

function decode(v) {
  try {
    return decodeURIComponent(v || '')
  } catch (e) {
    return v || ''
  }
}

Component({
  data: {
    roomID: '',
    userID: '',
    nickName: '',
    serverURL: '',
    template: '1v1',
    muted: false,
    enableCamera: true,
    debug: false,
    status: 'connecting',
    logs: [], // [{id, text}] newest first
  },

  methods: {
    onLoad(query) {
      const q = query || {}
      wx.setNavigationBarTitle && wx.setNavigationBarTitle({title: 'Room ' + decode(q.roomID)})
      this.logSeq = 0
      this.leaving = false
      this.setData({
        roomID: decode(q.roomID),
        userID: decode(q.userID),
        nickName: decode(q.nickName),
        serverURL: decode(q.serverURL),
        template: decode(q.template) === '1v3' ? '1v3' : '1v1',
      })
    },

    onReady() {
      this.room().start()
    },

    onUnload() {
      this.leaving = true
      this.room().stop()
    },

    room() {
      return this.selectComponent('#room')
    },

    onRoomEvent(e) {
      const ev = e.detail || {}
      const detail = typeof ev.detail === 'string' ? ev.detail : JSON.stringify(ev.detail || {})
      this.log(ev.tag + ' ' + ev.code + ' ' + detail)
      if (ev.tag === 'joined') this.setData({status: 'in the room'})
      if (ev.tag === 'left') this.setData({status: 'left'})
      if (ev.tag === 'kicked') {
        this.setData({status: 'kicked'})
        this.exitWith('You were removed from the room (' + ev.detail + ').')
      }
      if (ev.tag === 'error') {
        this.setData({status: 'error ' + ev.code})
        const why = FATAL_ERRORS[String(ev.code)] || 'Error ' + ev.code
        const server = ev.detail && ev.detail.message ? '\n' + ev.detail.message : ''
        this.room().stop()
        this.exitWith(why + server)
      }
    },

    exitWith(text) {
      if (this.leaving) return
      this.leaving = true
      wx.showModal({
        title: 'openroom',
        content: text,
        showCancel: false,
        complete: () => wx.navigateBack({delta: 1}),
      })
    },

    log(text) {
      this.logSeq = (this.logSeq || 0) + 1
      const logs = [{id: this.logSeq, text: clock() + '  ' + text}].concat(this.data.logs).slice(0, MAX_LOG)
      this.setData({logs})
    },

    onSwitchCamera() {
      this.room().switchCamera()
    },
    onToggleMute() {
      this.setData({muted: !this.data.muted})
    },
    onToggleCamera() {
      this.setData({enableCamera: !this.data.enableCamera})
    },
    onToggleDebug() {
      this.setData({debug: !this.data.debug})
    },
    onHangUp() {
      this.leaving = true
      this.room().stop()
      wx.navigateBack({delta: 1})
    },
  },
})
