// <openroom-room> without a userSig: POST get_login_info, retried 3 times 2 s apart, then -9.
const h = require('./helpers')

let w
beforeEach(() => {
  jest.useFakeTimers()
  w = h.installWx()
})
afterEach(() => {
  jest.clearAllTimers()
  jest.useRealTimers()
})

const tags = (events) => events.map((e) => `${e.tag} ${e.code}`)

test('no userSig: asks get_login_info and joins with the userSig it returns', () => {
  const {inst} = h.renderRoom({userSig: '', userID: 'alice_1', serverURL: 'https://rooms.example.com/'})
  inst.start()
  expect(w.requests).toHaveLength(1)
  const r = w.requests[0]
  expect(r.url).toBe('https://rooms.example.com/weapp/webrtc_room/get_login_info')
  expect(r.method).toBe('POST')
  expect(r.data).toEqual({userID: 'alice_1'})
  w.socket.open()
  expect(w.socket.sent[0]).toEqual({type: 'join', room: '1234', userSig: 'sig-from-server', client: 'miniprogram'})
})

test('no userID either: the server picks one, and it is left out of the player list', () => {
  w.requestHandler = (o) => o.success({statusCode: 200, data: {code: 0, userID: 'guest_42', userSig: 'sig-guest'}})
  const {comp, inst} = h.renderRoom({userSig: '', userID: ''})
  inst.start()
  expect(w.requests[0].data).toEqual({})
  w.socket.open()
  w.socket.receive({type: 'userlist', userlist: [{userID: 'guest_42', playURL: 'https://x/self.flv'}, {userID: 'bob_1', playURL: 'https://x/bob.flv'}]})
  expect(h.players(comp).map((p) => p.data.src)).toEqual(['https://x/bob.flv'])
})

test('failing get_login_info is retried 3 times 2 s apart, then RoomEvent -9 and no socket', () => {
  w.requestHandler = (o) => o.fail({errMsg: 'request:fail timeout'})
  const {inst, events} = h.renderRoom({userSig: ''})
  inst.start()
  expect(w.requests).toHaveLength(1)
  jest.advanceTimersByTime(1999)
  expect(w.requests).toHaveLength(1)
  jest.advanceTimersByTime(1)
  expect(w.requests).toHaveLength(2)
  jest.advanceTimersByTime(2000)
  expect(w.requests).toHaveLength(3)
  expect(events).toEqual([])
  jest.advanceTimersByTime(2000)
  expect(w.requests).toHaveLength(4)
  expect(events).toEqual([{tag: 'error', code: -9, detail: {message: 'request:fail timeout', tries: 4}}])
  jest.advanceTimersByTime(60000)
  expect(w.requests).toHaveLength(4)
  expect(wx.connectSocket).not.toHaveBeenCalled()
})

test('HTTP errors and non-zero codes are retried; success on the third try joins', () => {
  let n = 0
  w.requestHandler = (o) => {
    n++
    if (n === 1) o.success({statusCode: 502, data: 'bad gateway'})
    else if (n === 2) o.success({statusCode: 200, data: {code: 5000, message: 'internal error'}})
    else o.success({statusCode: 200, data: {code: 0, userID: 'alice_1', userSig: 'sig-3'}})
  }
  const {inst, events} = h.renderRoom({userSig: ''})
  inst.start()
  jest.advanceTimersByTime(4000)
  expect(w.requests).toHaveLength(3)
  expect(wx.connectSocket).toHaveBeenCalledTimes(1)
  w.socket.open()
  expect(w.socket.sent[0].userSig).toBe('sig-3')
  expect(tags(events)).toEqual([])
})

test('a bad userID (code 7) is not retried: RoomEvent -9 at once', () => {
  w.requestHandler = (o) => o.success({statusCode: 200, data: {code: 7, message: 'bad userID'}})
  const {inst, events} = h.renderRoom({userSig: '', userID: 'x'})
  inst.start()
  expect(events).toEqual([{tag: 'error', code: -9, detail: {message: 'bad userID', serverCode: 7}}])
  jest.advanceTimersByTime(10000)
  expect(w.requests).toHaveLength(1)
})

test('stop() during the retries cancels them', () => {
  w.requestHandler = (o) => o.fail({errMsg: 'request:fail'})
  const {inst, events} = h.renderRoom({userSig: ''})
  inst.start()
  inst.stop()
  jest.advanceTimersByTime(10000)
  expect(w.requests).toHaveLength(1)
  expect(events).toEqual([])
})
