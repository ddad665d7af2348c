// <openroom-room enableIM>: chat over the signaling socket, reported as the legacy IMEvents.
const h = require('./helpers')

const PUSH = 'rtmp://rooms.example.com/live/1234/alice_1?sig=p1'
const JOINED = {type: 'joined', room: '1234', roomID: 1234, userID: 'alice_1', privileges: 255, members: [{userID: 'bob_1', nickName: 'Bob'}], pushURL: PUSH}

let w
beforeEach(() => {
  jest.useFakeTimers()
  w = h.installWx()
})
afterEach(() => {
  jest.clearAllTimers()
  jest.useRealTimers()
})

// Renders with enableIM (unless told otherwise), records IMEvents, starts, opens, joins.
function imRoom(props = {}, joined = {}) {
  const r = h.renderRoom(Object.assign({enableIM: true, nickName: 'Alice'}, props))
  r.im = []
  r.comp.addEventListener('IMEvent', (evt) => r.im.push(evt.detail))
  r.inst.start()
  w.socket.open()
  w.socket.receive(Object.assign({}, JOINED, joined))
  return r
}

const imTags = (im) => im.map((e) => `${e.tag} ${e.code}`)
const of = (im, tag) => im.filter((e) => e.tag === tag)
const chats = () => w.socket.sent.filter((m) => m.type === 'chat')

const bobSays = {type: 'chat', id: 7, from: 'bob_1', nickName: 'Bob', text: 'hello', time: 1764038400123}

describe('session events', () => {
  test('connection_event connected on open, then login_event and join_group_event after joined', () => {
    const {im, events} = imRoom()
    expect(im).toEqual([
      {tag: 'connection_event', code: 0, detail: {status: 'connected'}},
      {tag: 'login_event', code: 0, detail: {userID: 'alice_1', nickName: 'Alice', rejoined: false}},
      {tag: 'join_group_event', code: 0, detail: {roomID: 1234, rejoined: false}},
    ])
    // RoomEvents are unchanged.
    expect(events.map((e) => e.tag)).toEqual(['joined'])
  })

  test('nothing IM before joined', () => {
    const r = h.renderRoom({enableIM: true})
    const im = []
    r.comp.addEventListener('IMEvent', (evt) => im.push(evt.detail))
    r.inst.start()
    expect(im).toEqual([])
  })

  test('a dropped socket: reconnecting (1) per try, connected (0) again, login/join_group again with rejoined', () => {
    const {im} = imRoom()
    im.length = 0
    w.socket.drop(1006)
    jest.advanceTimersByTime(2000)
    w.socket.fail()
    jest.advanceTimersByTime(2000)
    w.socket.open()
    w.socket.receive(JOINED)
    expect(im).toEqual([
      {tag: 'connection_event', code: 1, detail: {status: 'reconnecting', tries: 1, delay: 2000}},
      {tag: 'connection_event', code: 1, detail: {status: 'reconnecting', tries: 2, delay: 2000}},
      {tag: 'connection_event', code: 0, detail: {status: 'connected'}},
      {tag: 'login_event', code: 0, detail: {userID: 'alice_1', nickName: 'Alice', rejoined: true}},
      {tag: 'join_group_event', code: 0, detail: {roomID: 1234, rejoined: true}},
    ])
  })

  test('giving up reconnecting, and stop(), end with connection_event disconnected (9999)', () => {
    const a = imRoom()
    a.inst.stop()
    expect(a.im[a.im.length - 1]).toEqual({tag: 'connection_event', code: 9999, detail: {status: 'disconnected'}})

    const b = imRoom()
    b.im.length = 0
    w.socket.drop(1006)
    for (const ms of [2000, 2000, 2000]) {
      jest.advanceTimersByTime(ms)
      w.socket.fail()
    }
    expect(imTags(b.im)).toEqual(['connection_event 1', 'connection_event 1', 'connection_event 1', 'connection_event 9999'])
  })
})

describe('messages in', () => {
  test('a live chat from someone else: msg_notify and big_group_msg_notify with the legacy fields', () => {
    const {im} = imRoom()
    im.length = 0
    w.socket.receive(bobSays)
    const detail = {
      id: 7,
      userID: 'bob_1',
      fromAccount: 'bob_1',
      fromAccountNick: 'Bob',
      nickName: 'Bob',
      time: 1764038400,
      timeMs: 1764038400123,
      content: 'hello',
      self: false,
      system: false,
      history: false,
      private: false,
    }
    expect(im).toEqual([
      {tag: 'msg_notify', code: 0, detail},
      {tag: 'big_group_msg_notify', code: 0, detail},
    ])
  })

  test('no nickName: fromAccountNick is the userID; data is passed as it is', () => {
    const {im} = imRoom()
    im.length = 0
    w.socket.receive({type: 'chat', id: 8, from: 'carol_1', nickName: '', data: {data: 'x', ext: 'TEXT', desc: '{}'}, time: 5000})
    expect(im[0].detail).toMatchObject({userID: 'carol_1', fromAccountNick: 'carol_1', data: {data: 'x', ext: 'TEXT', desc: '{}'}, time: 5, timeMs: 5000})
    expect(im[0].detail).not.toHaveProperty('content')
  })

  test('a private message is msg_notify only, with to and private: true', () => {
    const {im} = imRoom()
    im.length = 0
    w.socket.receive({type: 'chat', id: 9, from: 'bob_1', nickName: 'Bob', to: 'alice_1', text: 'psst', time: 1000})
    expect(imTags(im)).toEqual(['msg_notify 0'])
    expect(im[0].detail).toMatchObject({to: 'alice_1', private: true, content: 'psst', self: false})
  })

  test('a system message: system true, no sender', () => {
    const {im} = imRoom()
    im.length = 0
    w.socket.receive({type: 'chat', id: 10, from: '', nickName: '', system: true, text: 'The room closes at 18:00', time: 1000})
    expect(im[0]).toMatchObject({tag: 'msg_notify', detail: {userID: '', fromAccountNick: '', system: true, self: false, content: 'The room closes at 18:00'}})
  })

  test('chat_history: one msg_notify per item, oldest first, history: true; self marked', () => {
    const {im} = imRoom()
    im.length = 0
    w.socket.receive({
      type: 'chat_history',
      messages: [
        {id: 1, from: 'bob_1', nickName: 'Bob', text: 'first', time: 1000},
        {id: 2, from: 'alice_1', nickName: 'Alice', text: 'second', time: 2000},
        {id: 3, from: 'bob_1', nickName: 'Bob', to: 'alice_1', text: 'third', time: 3000},
      ],
    })
    const notes = of(im, 'msg_notify')
    expect(notes.map((e) => [e.detail.id, e.detail.content, e.detail.history, e.detail.self])).toEqual([
      [1, 'first', true, false],
      [2, 'second', true, true],
      [3, 'third', true, false],
    ])
    expect(of(im, 'big_group_msg_notify').map((e) => e.detail.id)).toEqual([1, 2]) // room-wide only
  })

  test('after a re-join, chat_history reports only the messages not seen yet', () => {
    const {im} = imRoom()
    w.socket.receive({type: 'chat_history', messages: [{id: 1, from: 'bob_1', text: 'a', time: 1}]})
    w.socket.receive({type: 'chat', id: 2, from: 'bob_1', text: 'b', time: 2})
    w.socket.drop(1006)
    jest.advanceTimersByTime(2000)
    w.socket.open()
    w.socket.receive(JOINED)
    im.length = 0
    w.socket.receive({type: 'chat_history', messages: [1, 2, 3].map((id) => ({id, from: 'bob_1', text: 'm' + id, time: id}))})
    expect(of(im, 'msg_notify').map((e) => e.detail.content)).toEqual(['m3'])
  })

  test('a re-join into a room created anew (lower ids) reports its whole history', () => {
    const {im} = imRoom()
    w.socket.receive({type: 'chat', id: 40, from: 'bob_1', text: 'old', time: 1})
    w.socket.drop(1006)
    jest.advanceTimersByTime(2000)
    w.socket.open()
    w.socket.receive(JOINED)
    im.length = 0
    w.socket.receive({type: 'chat_history', messages: [{id: 1, from: 'bob_1', text: 'new', time: 2}]})
    expect(of(im, 'msg_notify').map((e) => e.detail.content)).toEqual(['new'])
  })
})

describe('group_system_notifys', () => {
  test('member_joined -> 2 join; member_left -> 8 leave, reason kicked -> 4 kick', () => {
    const {im} = imRoom()
    im.length = 0
    w.socket.receive({type: 'member_joined', member: {userID: 'carol_1', nickName: 'Carol', kind: 'webrtc', tracks: []}})
    w.socket.receive({type: 'member_left', userID: 'carol_1', reason: 'left'})
    w.socket.receive({type: 'member_left', userID: 'bob_1', reason: 'kicked'})
    w.socket.receive({type: 'member_left', userID: 'dave_1', reason: 'timeout'})
    expect(im).toEqual([
      {tag: 'group_system_notifys', code: 2, detail: {type: 'join', userID: 'carol_1', nickName: 'Carol', reason: '', self: false}},
      {tag: 'group_system_notifys', code: 8, detail: {type: 'leave', userID: 'carol_1', nickName: 'Carol', reason: 'left', self: false}},
      {tag: 'group_system_notifys', code: 4, detail: {type: 'kick', userID: 'bob_1', nickName: 'Bob', reason: 'kicked', self: false}},
      {tag: 'group_system_notifys', code: 8, detail: {type: 'leave', userID: 'dave_1', nickName: '', reason: 'timeout', self: false}},
    ])
  })

  test('our own kick -> 4 with self: true, then connection_event disconnected; RoomEvent kicked as before', () => {
    const {im, events} = imRoom()
    im.length = 0
    w.socket.receive({type: 'kicked', reason: 'logged in elsewhere', code: 4000})
    expect(im).toEqual([
      {tag: 'group_system_notifys', code: 4, detail: {type: 'kick', userID: 'alice_1', nickName: 'Alice', reason: 'logged in elsewhere', self: true}},
      {tag: 'connection_event', code: 9999, detail: {status: 'disconnected'}},
    ])
    expect(events[events.length - 1]).toEqual({tag: 'kicked', code: 4000, detail: 'logged in elsewhere'})
  })

  test('close code 4000 alone is a kick too', () => {
    const {im} = imRoom()
    im.length = 0
    w.socket.drop(4000, 'timeout')
    expect(im[0]).toEqual({tag: 'group_system_notifys', code: 4, detail: {type: 'kick', userID: 'alice_1', nickName: 'Alice', reason: 'timeout', self: true}})
  })

  test('the room going away (server shutting down) -> 5 group dissolved', () => {
    const {im} = imRoom()
    im.length = 0
    w.socket.receive({type: 'kicked', reason: 'server shutting down', code: 4000})
    expect(im[0]).toMatchObject({tag: 'group_system_notifys', code: 5, detail: {type: 'dissolve', self: true, reason: 'server shutting down'}})
  })
})

describe('messages out', () => {
  test('sendTextMsg sends {type: "chat", text, clientID}; with a userID, to', () => {
    const {inst} = imRoom()
    const id1 = inst.sendTextMsg('hi all')
    const id2 = inst.sendTextMsg('hi bob', 'bob_1')
    expect(id1).toMatch(/^c\d+-/)
    expect(id2).not.toBe(id1)
    expect(chats()).toEqual([
      {type: 'chat', text: 'hi all', clientID: id1},
      {type: 'chat', text: 'hi bob', to: 'bob_1', clientID: id2},
    ])
  })

  test('sendCustomMsg sends data {data, ext, desc} (and to)', () => {
    const {inst} = imRoom()
    inst.sendCustomMsg({data: 'ping', ext: 'CMD', desc: '{"n":1}'})
    inst.sendCustomMsg({data: {x: 1}, to: 'bob_1'})
    expect(chats()).toEqual([
      {type: 'chat', data: {data: 'ping', ext: 'CMD', desc: '{"n":1}'}, clientID: expect.any(String)},
      {type: 'chat', data: {data: {x: 1}}, to: 'bob_1', clientID: expect.any(String)},
    ])
  })

  test('the later legacy names: sendGroupTextMsg, sendC2CTextMsg, sendGroupCustomMsg, sendC2CCustomMsg', () => {
    const {inst} = imRoom()
    inst.sendGroupTextMsg('a')
    inst.sendC2CTextMsg('bob_1', 'b')
    inst.sendGroupCustomMsg({data: 'c', to: 'bob_1'}) // a group message has no to
    inst.sendC2CCustomMsg('bob_1', {data: 'd'})
    expect(chats().map(({clientID, ...m}) => m)).toEqual([
      {type: 'chat', text: 'a'},
      {type: 'chat', text: 'b', to: 'bob_1'},
      {type: 'chat', data: {data: 'c'}},
      {type: 'chat', data: {data: 'd'}, to: 'bob_1'},
    ])
  })

  test('our own copy comes back: msg_notify with self: true and the clientID; success(detail)', () => {
    const {inst, im} = imRoom()
    const success = jest.fn()
    const fail = jest.fn()
    const id = inst.sendTextMsg('hi all', success, fail)
    im.length = 0
    w.socket.receive({type: 'chat', id: 11, from: 'alice_1', nickName: 'Alice', text: 'hi all', time: 2000, clientID: id})
    expect(im[0]).toMatchObject({tag: 'msg_notify', detail: {self: true, clientID: id, content: 'hi all', fromAccountNick: 'Alice'}})
    expect(success).toHaveBeenCalledWith(im[0].detail)
    expect(fail).not.toHaveBeenCalled()
    jest.advanceTimersByTime(60000) // confirmed: no timeout later
    expect(fail).not.toHaveBeenCalled()
    expect(of(im, 'error')).toEqual([])
  })

  test('error 4290 on a chat -> IMEvent error 4290 (send failed) and fail(); the room goes on', () => {
    const {inst, im, events, comp} = imRoom()
    const fail = jest.fn()
    const id = inst.sendTextMsg('too fast', {fail})
    im.length = 0
    w.socket.receive({type: 'error', code: 4290, message: 'too many chat messages', ref: 'chat'})
    expect(im).toEqual([{tag: 'error', code: 4290, detail: {message: 'too many chat messages', ref: 'chat', clientID: id, text: 'too fast'}}])
    expect(fail).toHaveBeenCalledWith({code: 4290, message: 'too many chat messages', ErrorCode: 4290, ErrorInfo: 'too many chat messages', clientID: id})
    expect(events.map((e) => e.tag)).toEqual(['joined'])
    expect(comp.instance.data.state).toBe('joined')
    expect(w.socket.closed).toBeNull()
  })

  test('a chat error with a clientID fails that message, not the oldest', () => {
    const {inst, im} = imRoom()
    const failA = jest.fn()
    const failB = jest.fn()
    inst.sendTextMsg('to nobody?', {to: 'ghost_1', fail: failA})
    const b = inst.sendTextMsg('x', {to: 'ghost_2', fail: failB})
    im.length = 0
    w.socket.receive({type: 'error', code: 3, message: 'no such member in the room: "ghost_2"', ref: 'chat', clientID: b})
    expect(failB).toHaveBeenCalledWith(expect.objectContaining({code: 3, clientID: b}))
    expect(failA).not.toHaveBeenCalled()
    expect(im[0]).toMatchObject({tag: 'error', code: 3, detail: {clientID: b, to: 'ghost_2'}})
  })

  test('empty text is not sent: IMEvent error -22', () => {
    const {inst, im} = imRoom()
    im.length = 0
    const fail = jest.fn()
    expect(inst.sendTextMsg('   ', fail, fail)).toBe('')
    expect(inst.sendCustomMsg({})).toBe('')
    expect(chats()).toEqual([])
    expect(imTags(im)).toEqual(['error -22', 'error -22'])
    expect(fail).toHaveBeenCalledTimes(1)
  })

  test('not in the room (before joined, or while reconnecting): IMEvent error -21, nothing sent', () => {
    const r = h.renderRoom({enableIM: true})
    const im = []
    r.comp.addEventListener('IMEvent', (evt) => im.push(evt.detail))
    expect(r.inst.sendTextMsg('early')).toBe('')
    r.inst.start()
    w.socket.open()
    expect(r.inst.sendTextMsg('still early')).toBe('')
    w.socket.receive(JOINED)
    w.socket.drop(1006)
    expect(r.inst.sendTextMsg('reconnecting')).toBe('')
    expect(of(im, 'error').map((e) => e.code)).toEqual([-21, -21, -21])
    expect(w.sockets.flatMap((s) => s.sent).filter((m) => m.type === 'chat')).toEqual([])
  })

  test('no answer: the connection drops, or 10 s pass -> IMEvent error -23', () => {
    const {inst, im} = imRoom()
    inst.sendTextMsg('lost')
    im.length = 0
    w.socket.drop(1006)
    expect(im[0]).toMatchObject({tag: 'error', code: -23, detail: {text: 'lost'}})

    jest.advanceTimersByTime(2000)
    w.socket.open()
    w.socket.receive(JOINED)
    const fail = jest.fn()
    inst.sendTextMsg('slow', {fail})
    jest.advanceTimersByTime(9999)
    expect(fail).not.toHaveBeenCalled()
    jest.advanceTimersByTime(1)
    expect(fail).toHaveBeenCalledWith(expect.objectContaining({code: -23}))
  })
})

describe('enableIM false (the default)', () => {
  test('no IMEvents at all, chat messages ignored, nothing sent', () => {
    const {inst, im, events} = imRoom({enableIM: false})
    w.socket.receive(bobSays)
    w.socket.receive({type: 'chat_history', messages: [bobSays]})
    w.socket.receive({type: 'member_joined', member: {userID: 'carol_1'}})
    w.socket.receive({type: 'member_left', userID: 'carol_1', reason: 'kicked'})
    const fail = jest.fn()
    expect(inst.sendTextMsg('hi', {fail})).toBe('')
    expect(inst.sendCustomMsg({data: 'x'})).toBe('')
    expect(fail).toHaveBeenCalledWith(expect.objectContaining({code: -20}))
    w.socket.receive({type: 'error', code: 4290, message: 'too many chat messages', ref: 'chat'})
    w.socket.receive({type: 'kicked', reason: 'logged in elsewhere', code: 4000})
    expect(im).toEqual([])
    expect(chats()).toEqual([])
    expect(events.map((e) => e.tag)).toEqual(['joined', 'kicked'])
  })

  test('the default is false', () => {
    const {comp} = h.renderRoom()
    expect(comp.instance.data.enableIM).toBe(false)
  })
})
