// The sample app's pages (built with the Component constructor, so they render here too).
const path = require('path')
const h = require('./helpers')

let w
beforeEach(() => {
  jest.useFakeTimers()
  w = h.installWx()
  wx.showModal = jest.fn()
  wx.navigateBack = jest.fn()
  wx.navigateTo = jest.fn()
  wx.setNavigationBarTitle = jest.fn()
  wx.getStorageSync = jest.fn(() => '')
  wx.setStorageSync = jest.fn()
})
afterEach(() => {
  jest.clearAllTimers()
  jest.useRealTimers()
})

// jest keeps a module once required, so each page is loaded (registered) once per file.
const pageIDs = {}
function renderPage(name) {
  if (!pageIDs[name]) pageIDs[name] = h.simulate.load(path.join(h.ROOT, 'pages', name, 'index'), {compiler: h.COMPILER, rootPath: h.ROOT})
  const page = h.simulate.render(pageIDs[name])
  page.attach(document.createElement('parent-wrapper'))
  return page
}

test('index page builds the room page URL', () => {
  const page = renderPage('index')
  page.instance.onLoad()
  page.setData({roomID: 'standup', name: 'alice_01', serverURL: 'https://rooms.example.com', templateIndex: 1})
  page.instance.onEnter()
  expect(wx.navigateTo).toHaveBeenCalledWith({
    url: '/pages/room/index?roomID=standup&userID=alice_01&nickName=alice_01&serverURL=https%3A%2F%2Frooms.example.com&template=1v3',
  })
  expect(wx.setStorageSync).toHaveBeenCalled()
})

test('index page: a name that is not a valid userID is only the nickName; bad input is refused', () => {
  const page = renderPage('index')
  page.setData({roomID: '42', name: '小明', serverURL: 'https://rooms.example.com'})
  expect(page.instance.roomPageURL()).toBe(
    '/pages/room/index?roomID=42&userID=&nickName=' + encodeURIComponent('小明') + '&serverURL=https%3A%2F%2Frooms.example.com&template=1v1',
  )
  page.setData({roomID: 'bad room!'})
  expect(page.instance.roomPageURL()).toBe('')
  expect(page.instance.data.error).toMatch(/Room/)
})

test('room page passes the query to <openroom-room>, starts it and logs its RoomEvents', async () => {
  const page = renderPage('room')
  page.instance.onLoad({
    roomID: '1234',
    userID: 'alice_1',
    nickName: 'Alice',
    serverURL: encodeURIComponent('https://rooms.example.com'),
    template: '1v3',
  })
  const room = page.querySelector('#room')
  expect(room.instance.data).toMatchObject({roomID: '1234', userID: 'alice_1', template: '1v3', serverURL: 'https://rooms.example.com'})
  page.instance.onReady()
  expect(w.requests).toHaveLength(1) // no userSig given: get_login_info
  w.socket.open()
  expect(w.socket.sent[0]).toMatchObject({type: 'join', room: '1234', nickName: 'Alice', client: 'miniprogram'})
  w.socket.receive({type: 'joined', room: '1234', roomID: 1234, userID: 'alice_1', members: [], pushURL: 'rtmp://h/live/1234/alice_1'})
  await h.flush()
  expect(page.instance.data.status).toBe('in the room')
  // Newest first: the IMEvents that follow joined (the page sets enableIM) come above it.
  const texts = page.instance.data.logs.map((l) => l.text)
  expect(texts).toHaveLength(4)
  expect(texts[0]).toMatch(/IM join_group_event 0 \{"roomID":1234/)
  expect(texts[1]).toMatch(/IM login_event 0/)
  expect(texts[2]).toMatch(/joined 1018/)
  expect(texts[3]).toMatch(/IM connection_event 0/)

  page.instance.onToggleMute()
  expect(w.socket.sent[w.socket.sent.length - 1]).toEqual({type: 'mute', kind: 'audio', muted: true})

  w.socket.receive({type: 'error', code: 5001, message: 'room full'})
  expect(page.instance.data.logs[0].text).toMatch(/error -8/)
  expect(wx.showModal).toHaveBeenCalledTimes(1)
  wx.showModal.mock.calls[0][0].complete()
  expect(wx.navigateBack).toHaveBeenCalled()
})

test('room page: leaving stops the room', () => {
  const page = renderPage('room')
  page.instance.onLoad({roomID: '1234', userID: 'alice_1', serverURL: 'https://rooms.example.com'})
  page.instance.onReady()
  w.socket.open()
  w.socket.receive({type: 'joined', room: '1234', roomID: 1234, userID: 'alice_1', members: [], pushURL: 'rtmp://h/x'})
  page.instance.onHangUp()
  expect(w.socket.sentTypes()).toContain('leave')
  expect(wx.navigateBack).toHaveBeenCalled()
  expect(page.instance.data.logs[0].text).toMatch(/left 1019/)
})

test('room page: the chat box (enableIM) lists messages, sends, and shows notices and send failures', async () => {
  const page = renderPage('room')
  page.instance.onLoad({roomID: '1234', userID: 'alice_1', nickName: 'Alice', serverURL: 'https://rooms.example.com'})
  const room = page.querySelector('#room')
  expect(room.instance.data.enableIM).toBe(true)
  page.instance.onReady()
  w.socket.open()
  w.socket.receive({type: 'joined', room: '1234', roomID: 1234, userID: 'alice_1', members: [], pushURL: 'rtmp://h/x'})
  w.socket.receive({type: 'chat_history', messages: [{id: 1, from: 'bob_1', nickName: 'Bob', text: 'earlier', time: 1000}]})
  w.socket.receive({type: 'member_joined', member: {userID: 'carol_1', nickName: 'Carol'}})

  // Typing and sending: the message goes out; it is listed when the server's copy comes back.
  page.instance.onChatInput({detail: {value: '  hello  '}})
  page.instance.onSend()
  expect(page.instance.data.chatText).toBe('')
  const sent = w.socket.sent.filter((m) => m.type === 'chat')
  expect(sent).toEqual([{type: 'chat', text: 'hello', clientID: expect.any(String)}])
  w.socket.receive({type: 'chat', id: 2, from: 'alice_1', nickName: 'Alice', text: 'hello', time: 2000, clientID: sent[0].clientID})
  w.socket.receive({type: 'chat', id: 3, from: 'bob_1', nickName: 'Bob', to: 'alice_1', text: 'psst', time: 3000})

  page.instance.onChatInput({detail: {value: 'again'}})
  page.instance.onSend()
  w.socket.receive({type: 'error', code: 4290, message: 'too many chat messages', ref: 'chat'})

  const lines = page.instance.data.chat.map((l) => [l.who, l.text, l.kind])
  expect(lines).toEqual([
    ['Bob', 'earlier', ''],
    ['', 'Carol joined', 'system'],
    ['me', 'hello', ''],
    ['Bob → me', 'psst', 'private'],
    ['', 'Not sent (too many messages, slow down): again', 'failed'],
  ])
  expect(page.instance.data.chat[2].mine).toBe(true)
  expect(page.instance.data.chatBottom).toBe(page.instance.data.chat[4].key)
  // Rendered: one line per message.
  expect(page.querySelectorAll('.chat-line')).toHaveLength(5)
  // The room goes on.
  expect(page.instance.data.status).toBe('in the room')
  expect(wx.showModal).not.toHaveBeenCalled()
})
