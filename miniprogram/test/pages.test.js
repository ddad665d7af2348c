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
  expect(page.instance.data.logs[0].text).toMatch(/joined 1018/)

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
