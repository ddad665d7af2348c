// Test helpers: fake wx.* APIs driven from the tests, and a loader for <openroom-room>.
const path = require('path')
const simulate = require('miniprogram-simulate')

const ROOT = path.join(__dirname, '..')
const COMPONENT = path.join(ROOT, 'components/openroom-room/index')

// A wx SocketTask the test drives: open(), receive(obj), drop(code), fail().
class FakeSocketTask {
  constructor(options) {
    this.url = options.url
    this.options = options
    this.sent = [] // parsed JSON of every send()
    this.closed = null // the close() argument once closed by the client
    this.handlers = {open: [], message: [], error: [], close: []}
  }

  send(o) {
    this.sent.push(JSON.parse(o.data))
    if (o.success) o.success({errMsg: 'sendSocketMessage:ok'})
  }

  close(o) {
    if (!this.closed) this.closed = o || {}
  }

  onOpen(fn) {
    this.handlers.open.push(fn)
  }

  onMessage(fn) {
    this.handlers.message.push(fn)
  }

  onError(fn) {
    this.handlers.error.push(fn)
  }

  onClose(fn) {
    this.handlers.close.push(fn)
  }

  // --- driven by the test
  open() {
    this.handlers.open.forEach((f) => f({header: {}}))
  }

  receive(obj) {
    const data = typeof obj === 'string' ? obj : JSON.stringify(obj)
    this.handlers.message.forEach((f) => f({data}))
  }

  // The connection drops (or is closed by the server with `code`).
  drop(code = 1006, reason = '') {
    this.handlers.close.forEach((f) => f({code, reason}))
  }

  // The connection fails the way wx reports it: onError, then onClose.
  fail() {
    this.handlers.error.forEach((f) => f({errMsg: 'connect failed'}))
    this.handlers.close.forEach((f) => f({code: 1006, reason: 'abnormal'}))
  }

  sentTypes() {
    return this.sent.map((m) => m.type)
  }
}

function fakeContext(kind, id) {
  const calls = []
  const ctx = {kind, id, calls}
  ;['start', 'stop', 'pause', 'resume', 'switchCamera', 'play', 'mute'].forEach((name) => {
    ctx[name] = jest.fn((opts) => {
      calls.push(name)
      if (opts && opts.success) opts.success({errMsg: name + ':ok'})
    })
  })
  return ctx
}

// Installs fresh mocks on the global wx object (the one the component sees).
// Returns handles to drive and inspect them.
function installWx(options = {}) {
  const h = {
    sockets: [],
    requests: [],
    authorizeCalls: [],
    pusher: fakeContext('pusher', 'openroom-pusher'),
    players: {}, // id -> fake context
    // how wx.request answers: function(options, h) -> calls options.success/fail
    requestHandler:
      options.requestHandler ||
      ((o) => o.success({statusCode: 200, data: {code: 0, userID: 'alice_1', userSig: 'sig-from-server'}})),
    authorizeHandler: options.authorizeHandler || ((o) => o.success({errMsg: 'authorize:ok'})),
    get socket() {
      return h.sockets[h.sockets.length - 1]
    },
  }
  wx.connectSocket = jest.fn((o) => {
    const t = new FakeSocketTask(o)
    h.sockets.push(t)
    return t
  })
  wx.request = jest.fn((o) => {
    h.requests.push(o)
    h.requestHandler(o, h)
    return {abort() {}}
  })
  wx.authorize = jest.fn((o) => {
    h.authorizeCalls.push(o.scope)
    h.authorizeHandler(o, h)
  })
  wx.createLivePusherContext = jest.fn(() => h.pusher)
  wx.createLivePlayerContext = jest.fn((id) => {
    if (!h.players[id]) h.players[id] = fakeContext('player', id)
    return h.players[id]
  })
  return h
}

// miniprogram-simulate registers <live-pusher> and <live-player> as empty stubs that drop
// their attributes. Register stubs that keep the attributes we care about as properties,
// so a test can read what the component gave them (comp.querySelector(sel).data).
const any = {type: null, value: null}
simulate.load({
  id: 'live-pusher',
  tagName: 'wx-live-pusher',
  template: '<slot/>',
  properties: {
    url: any, mode: any, autopush: any, muted: any, enableCamera: any, beauty: any, whiteness: any,
    aspect: any, minBitrate: any, maxBitrate: any, backgroundMute: any, debug: any,
  },
})
simulate.load({
  id: 'live-player',
  tagName: 'wx-live-player',
  template: '<slot/>',
  properties: {
    src: any, mode: any, autoplay: any, minCache: any, maxCache: any, objectFit: any, debug: any,
  },
})

// WeChat's own WXML compiler (wcc, shipped in miniprogram-compiler) runs on x64; elsewhere the
// pure-JS one of miniprogram-simulate is used.
const COMPILER = process.arch === 'x64' && ['linux', 'darwin', 'win32'].includes(process.platform) ? 'official' : 'simulate'

let componentId = null

// Renders <openroom-room> with properties, attached to a parent node, and records its RoomEvents.
function renderRoom(props = {}) {
  if (!componentId) componentId = simulate.load(COMPONENT, 'openroom-room', {compiler: COMPILER, rootPath: ROOT})
  const comp = simulate.render(componentId, Object.assign({serverURL: 'https://rooms.example.com', roomID: 1234, userID: 'alice_1', userSig: 'sig-alice'}, props))
  const events = []
  comp.addEventListener('RoomEvent', (evt) => events.push(evt.detail))
  const parent = document.createElement('parent-wrapper')
  comp.attach(parent)
  return {comp, events, inst: comp.instance}
}

// The <live-pusher> and the <live-player>s as j-component nodes (.data has their attributes).
function pusher(comp) {
  return comp.querySelector('#openroom-pusher')
}

function players(comp) {
  return comp.querySelectorAll('.video').filter((n) => n.dom.tagName.toLowerCase() === 'wx-live-player')
}

// j-component dispatches node events from a microtask: let them run (works with fake timers).
async function flush() {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

module.exports = {FakeSocketTask, installWx, renderRoom, pusher, players, flush, ROOT, COMPILER, simulate}
