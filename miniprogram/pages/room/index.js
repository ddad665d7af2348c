// Room page: one <openroom-room> (with enableIM), a few buttons, a chat box and a log of
// its RoomEvents and IMEvents.
const MAX_LOG = 200
const MAX_CHAT = 200
const FATAL_ERRORS = {
  '-4': 'Could not open the camera.',
  '-5': 'Could not open the microphone.',
  '-6': 'Lost the connection while sending video.',
  '-7': 'Camera or microphone permission was denied. Allow both in the settings and try again.',
  '-8': 'The room is full.',
  '-9': 'Could not reach the room server.',
  '-10': 'Could not enter the room.',
}

// Why a chat message was not sent (IMEvent 'error' codes).
const CHAT_ERRORS = {
  '3': 'no such member in the room',
  '4001': 'not a valid message',
  '4130': 'message too long',
  '4290': 'too many messages, slow down',
  '-21': 'not in the room',
  '-22': 'empty message',
  '-23': 'no answer from the server',
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
    board: false, // the shared whiteboard (<openroom-sketchpad>) under the video
    status: 'connecting',
    logs: [], // [{id, text}] newest first
    chat: [], // [{key, who, text, mine, kind}] oldest first; kind: '' | private | system | failed
    chatText: '',
    chatBottom: '', // scroll-into-view: the key of the last line
  },

  methods: {
    onLoad(query) {
      const q = query || {}
      wx.setNavigationBarTitle && wx.setNavigationBarTitle({title: 'Room ' + decode(q.roomID)})
      this.logSeq = 0
      this.noteSeq = 0
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

    onIMEvent(e) {
      const ev = e.detail || {}
      const d = ev.detail || {}
      switch (ev.tag) {
        case 'msg_notify': {
          // Every message, live and history, room-wide and private (so big_group_msg_notify,
          // the room-wide ones again, is not needed here).
          const name = d.system ? 'system' : d.self ? 'me' : d.fromAccountNick || d.userID
          const text = d.content != null ? d.content : JSON.stringify(d.data)
          this.addChat({
            key: 'm' + d.id,
            who: d.private ? name + ' → ' + (d.self ? d.to : 'me') : name,
            text,
            mine: !!d.self,
            kind: d.system ? 'system' : d.private ? 'private' : '',
          })
          return
        }
        case 'big_group_msg_notify':
          return
        case 'group_system_notifys': {
          const who = d.self ? 'You' : d.nickName || d.userID
          const what = {
            join: 'joined',
            leave: d.reason === 'left' || !d.reason ? 'left' : 'left (' + d.reason + ')',
            kick: d.self ? 'were removed (' + d.reason + ')' : 'was removed',
            dissolve: 'left: the room was closed',
          }[d.type]
          if (what) this.addNote(who + ' ' + what)
          break
        }
        case 'error': {
          const why = CHAT_ERRORS[String(ev.code)] || 'error ' + ev.code
          const text = d.text != null ? d.text : d.data != null ? JSON.stringify(d.data) : ''
          this.addNote('Not sent (' + why + ')' + (text ? ': ' + text : ''), 'failed')
          break
        }
        default:
      }
      this.log('IM ' + ev.tag + ' ' + ev.code + ' ' + JSON.stringify(d))
    },

    onChatInput(e) {
      this.setData({chatText: e.detail.value})
    },

    onSend() {
      const text = (this.data.chatText || '').trim()
      if (!text) return
      this.room().sendTextMsg(text)
      this.setData({chatText: ''})
    },

    addChat(line) {
      if (this.data.chat.some((l) => l.key === line.key)) return
      const chat = this.data.chat.concat([line]).slice(-MAX_CHAT)
      this.setData({chat, chatBottom: line.key})
    },

    addNote(text, kind) {
      this.noteSeq = (this.noteSeq || 0) + 1
      this.addChat({key: 'n' + this.noteSeq, who: '', text, mine: false, kind: kind || 'system'})
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
    onToggleBoard() {
      this.setData({board: !this.data.board})
    },
    onBoardEvent(e) {
      const d = (e && e.detail) || {}
      if (d.type === 'error') this.log('board: ' + d.message)
    },
    onHangUp() {
      this.leaving = true
      this.room().stop()
      wx.navigateBack({delta: 1})
    },
  },
})
