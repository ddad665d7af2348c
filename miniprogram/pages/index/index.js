// Enter-room page: room, your name, the server URL and the layout.
const ROOM_RE = /^[A-Za-z0-9_-]{1,64}$/
// The room API accepts a userID of this form; other names are only shown (nickName) and the
// server picks a random userID.
const USER_RE = /^[a-zA-Z][a-zA-Z0-9_]{3,23}$/
const STORE_KEY = 'openroom.lastEntry'

Component({
  data: {
    roomID: '',
    name: '',
    serverURL: '',
    templates: ['1v1', '1v3'],
    templateIndex: 0,
    error: '',
  },

  methods: {
    onLoad() {
      let saved = {}
      try {
        saved = wx.getStorageSync(STORE_KEY) || {}
      } catch (e) {
        saved = {}
      }
      const app = typeof getApp === 'function' ? getApp() : null
      const def = (app && app.globalData && app.globalData.defaultServerURL) || ''
      this.setData({
        roomID: saved.roomID || '',
        name: saved.name || '',
        serverURL: saved.serverURL || def,
        templateIndex: saved.template === '1v3' ? 1 : 0,
      })
    },

    onRoomInput(e) {
      this.setData({roomID: e.detail.value.trim(), error: ''})
    },
    onNameInput(e) {
      this.setData({name: e.detail.value.trim(), error: ''})
    },
    onServerInput(e) {
      this.setData({serverURL: e.detail.value.trim(), error: ''})
    },
    onTemplateChange(e) {
      this.setData({templateIndex: Number(e.detail.value) || 0})
    },

    // Returns the room page URL, or '' after showing what is wrong.
    roomPageURL() {
      const d = this.data
      if (!ROOM_RE.test(d.roomID)) {
        this.setData({error: 'Room: 1 to 64 letters, digits, _ or -'})
        return ''
      }
      if (!/^(https?|wss?):\/\/[^/\s]+/.test(d.serverURL)) {
        this.setData({error: 'Server URL: like https://rooms.example.com'})
        return ''
      }
      const template = d.templates[d.templateIndex] || '1v1'
      const userID = USER_RE.test(d.name) ? d.name : ''
      const q = {
        roomID: d.roomID,
        userID,
        nickName: d.name,
        serverURL: d.serverURL,
        template,
      }
      const query = Object.keys(q)
        .map((k) => k + '=' + encodeURIComponent(q[k]))
        .join('&')
      return '/pages/room/index?' + query
    },

    onEnter() {
      const url = this.roomPageURL()
      if (!url) return
      const d = this.data
      try {
        wx.setStorageSync(STORE_KEY, {roomID: d.roomID, name: d.name, serverURL: d.serverURL, template: d.templates[d.templateIndex]})
      } catch (e) {
        // storage full or unavailable: not needed to enter
      }
      wx.navigateTo({url})
    },
  },
})
