// <openroom-room>: signaling messages -> rendered pusher/players, RoomEvents, timers.
const h = require('./helpers')

const PUSH = 'rtmp://rooms.example.com/live/1234/alice_1?sig=p1'
const flv = (u) => `https://rooms.example.com/live/1234/${u}.flv?sig=s-${u}`
const rtmp = (u) => `rtmp://rooms.example.com/live/1234/${u}?sig=s-${u}`
const member = (u) => ({userID: u, nickName: u.toUpperCase(), playURL: flv(u), rtmpURL: rtmp(u)})

let w
beforeEach(() => {
  jest.useFakeTimers()
  w = h.installWx()
})
afterEach(() => {
  jest.clearAllTimers()
  jest.useRealTimers()
})

// Renders, starts, opens the socket and answers the join.
function joinedRoom(props = {}, joined = {}) {
  const r = h.renderRoom(props)
  r.inst.start()
  w.socket.open()
  w.socket.receive(Object.assign({type: 'joined', room: '1234', roomID: 1234, userID: 'alice_1', privileges: 255, members: [], pushURL: PUSH}, joined))
  return r
}

const tags = (events) => events.map((e) => `${e.tag} ${e.code}`)
const srcs = (comp) => h.players(comp).map((p) => p.data.src)

describe('joining', () => {
  test('asks for camera and mic, connects to wss://host/ws and sends join as a mini-program', () => {
    const {inst} = h.renderRoom({roomID: 1234, nickName: 'Alice', privateMapKey: 'pmk'})
    inst.start()
    expect(w.authorizeCalls).toEqual(['scope.camera', 'scope.record'])
    expect(wx.connectSocket).toHaveBeenCalledTimes(1)
    expect(w.socket.url).toBe('wss://rooms.example.com/ws')
    expect(w.socket.sent).toEqual([]) // nothing before open
    w.socket.open()
    expect(w.socket.sent).toEqual([
      {type: 'join', room: '1234', userSig: 'sig-alice', privateMapKey: 'pmk', nickName: 'Alice', client: 'miniprogram'},
    ])
  })

  test('joined: pushURL goes to <live-pusher url> and the pusher starts; RoomEvent joined 1018', async () => {
    const {comp, events} = joinedRoom({minBitrate: 300, maxBitrate: 800, beauty: 3, aspect: '9:16'})
    await h.flush() // the pusher starts in the setData callback, as in WeChat
    const p = h.pusher(comp)
    expect(p).toBeTruthy()
    expect(p.data.url).toBe(PUSH)
    expect(p.data.mode).toBe('RTC')
    expect(p.data.minBitrate).toBe(300)
    expect(p.data.maxBitrate).toBe(800)
    expect(p.data.beauty).toBe(3)
    expect(p.data.aspect).toBe('9:16')
    expect(p.data.enableCamera).toBe(true)
    expect(wx.createLivePusherContext).toHaveBeenCalledWith('openroom-pusher', comp.instance)
    expect(w.pusher.start).toHaveBeenCalledTimes(1)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({tag: 'joined', code: 1018, detail: {roomID: 1234, userID: 'alice_1', pushURL: PUSH, rejoined: false}})
  })

  test('defaults: template 1v1, beauty 5, bitrates 200/400, camera on, not muted', () => {
    const {comp} = joinedRoom()
    const p = h.pusher(comp).data
    expect(comp.instance.data.template).toBe('1v1')
    expect(p).toMatchObject({beauty: 5, minBitrate: 200, maxBitrate: 400, enableCamera: true, muted: false, aspect: '3:4'})
  })

  test('no pusher URL before joined', () => {
    const {comp, inst} = h.renderRoom()
    inst.start()
    w.socket.open()
    expect(h.pusher(comp).data.url).toBe('')
    expect(w.pusher.start).not.toHaveBeenCalled()
  })

  test('an empty serverURL is RoomEvent -9 and nothing is connected', () => {
    const {inst, events} = h.renderRoom({serverURL: ''})
    inst.start()
    expect(wx.connectSocket).not.toHaveBeenCalled()
    expect(tags(events)).toEqual(['error -9'])
  })
})

describe('userlist -> <live-player>s', () => {
  test('1v3: 2 then 3 remote members, src from playURL, ourselves left out; RoomEvent userlist 1020', () => {
    const {comp, events} = joinedRoom({template: '1v3'})
    const list2 = [member('bob_1'), member('alice_1'), member('carol_1')]
    w.socket.receive({type: 'userlist', userlist: list2})
    expect(srcs(comp)).toEqual([flv('bob_1'), flv('carol_1')])
    expect(comp.querySelector('#player-bob_1')).toBeTruthy()
    expect(comp.querySelector('#player-carol_1')).toBeTruthy()
    const first = h.players(comp)[0].data
    expect(first).toMatchObject({mode: 'RTC', minCache: '0.2', maxCache: '0.8', autoplay: true})
    expect(events[events.length - 1]).toEqual({tag: 'userlist', code: 1020, detail: {userlist: list2}})

    w.socket.receive({type: 'userlist', userlist: [member('bob_1'), member('carol_1'), member('dave_1')]})
    expect(srcs(comp)).toEqual([flv('bob_1'), flv('carol_1'), flv('dave_1')])
    expect(comp.querySelector('#player-dave_1')).toBeTruthy()
  })

  test('1v3 shows at most 3 players', () => {
    const {comp} = joinedRoom({template: '1v3'})
    w.socket.receive({type: 'userlist', userlist: ['bob_1', 'carol_1', 'dave_1', 'erin_1'].map(member)})
    expect(srcs(comp)).toEqual([flv('bob_1'), flv('carol_1'), flv('dave_1')])
  })

  test('1v1: 2 then 3 members still show one player', () => {
    const {comp} = joinedRoom({template: '1v1'})
    w.socket.receive({type: 'userlist', userlist: [member('bob_1'), member('carol_1')]})
    expect(srcs(comp)).toEqual([flv('bob_1')])
    w.socket.receive({type: 'userlist', userlist: [member('alice_1'), member('carol_1'), member('dave_1')]})
    expect(srcs(comp)).toEqual([flv('carol_1')])
  })

  test('changing template re-caps the shown players', () => {
    const {comp} = joinedRoom({template: '1v1'})
    w.socket.receive({type: 'userlist', userlist: ['bob_1', 'carol_1', 'dave_1'].map(member)})
    expect(h.players(comp)).toHaveLength(1)
    comp.setData({template: '1v3'})
    expect(h.players(comp)).toHaveLength(3)
  })

  test('an rtmpURL is used when there is no playURL', () => {
    const {comp} = joinedRoom()
    w.socket.receive({type: 'userlist', userlist: [{userID: 'bob_1', rtmpURL: rtmp('bob_1')}]})
    expect(srcs(comp)).toEqual([rtmp('bob_1')])
  })

  test('member_left removes that player at once', () => {
    const {comp} = joinedRoom({template: '1v3'})
    w.socket.receive({type: 'userlist', userlist: [member('bob_1'), member('carol_1')]})
    w.socket.receive({type: 'member_left', userID: 'bob_1', reason: 'left'})
    expect(srcs(comp)).toEqual([flv('carol_1')])
  })

  test('player statechange is passed through as RoomEvent player with the userID', async () => {
    const {comp, events} = joinedRoom()
    w.socket.receive({type: 'userlist', userlist: [member('bob_1')]})
    h.players(comp)[0].dispatchEvent('statechange', {detail: {code: 2004, message: 'playing'}})
    h.players(comp)[0].dispatchEvent('statechange', {detail: {code: -2301, message: 'gave up'}})
    await h.flush()
    expect(events.slice(-2)).toEqual([
      {tag: 'player', code: 2004, detail: {userID: 'bob_1', message: 'playing'}},
      {tag: 'player', code: -2301, detail: {userID: 'bob_1', message: 'gave up'}},
    ])
  })
})

describe('errors', () => {
  test.each([
    [-1301, -4],
    [-1302, -5],
  ])('pusher statechange %i -> RoomEvent error %i', async (pusherCode, roomCode) => {
    const {comp, events} = joinedRoom()
    h.pusher(comp).dispatchEvent('statechange', {detail: {code: pusherCode, message: 'x'}})
    await h.flush()
    expect(events[events.length - 1]).toEqual({tag: 'error', code: roomCode, detail: {pusherCode, message: 'x'}})
  })

  test('other pusher codes are passed through as RoomEvent pusher', async () => {
    const {comp, events} = joinedRoom()
    h.pusher(comp).dispatchEvent('statechange', {detail: {code: 1002, message: 'push started'}})
    await h.flush()
    expect(events[events.length - 1]).toEqual({tag: 'pusher', code: 1002, detail: {message: 'push started'}})
  })

  test.each([
    [10001, 'camera'],
    [10002, 'microphone'],
  ])('pusher error %i -> RoomEvent error -7 (%s)', async (errCode, device) => {
    const {comp, events} = joinedRoom()
    h.pusher(comp).dispatchEvent('error', {detail: {errCode, errMsg: 'denied'}})
    await h.flush()
    expect(events[events.length - 1]).toEqual({tag: 'error', code: -7, detail: {device, pusherCode: errCode, message: 'denied'}})
  })

  test('a denied wx.authorize -> RoomEvent -7 and no socket', () => {
    w.authorizeHandler = (o) => (o.scope === 'scope.record' ? o.fail({errMsg: 'authorize:fail auth deny'}) : o.success({}))
    const {inst, events} = h.renderRoom()
    inst.start()
    expect(events).toEqual([{tag: 'error', code: -7, detail: {scope: 'scope.record', device: 'microphone', message: 'authorize:fail auth deny'}}])
    expect(wx.connectSocket).not.toHaveBeenCalled()
  })

  test('enableCamera false asks only for the microphone', () => {
    const {inst} = h.renderRoom({enableCamera: false})
    inst.start()
    expect(w.authorizeCalls).toEqual(['scope.record'])
  })

  test('server error 5001 -> RoomEvent -8, the socket is closed and not reopened', () => {
    const {inst, events} = h.renderRoom()
    inst.start()
    w.socket.open()
    w.socket.receive({type: 'error', code: 5001, message: 'room full', ref: 'join'})
    expect(events).toEqual([{tag: 'error', code: -8, detail: {serverCode: 5001, message: 'room full', ref: 'join'}}])
    expect(w.socket.closed).toBeTruthy()
    w.socket.drop(1000)
    jest.advanceTimersByTime(60000)
    expect(wx.connectSocket).toHaveBeenCalledTimes(1)
  })

  test('any other join error -> RoomEvent -10 with the server message', () => {
    const {inst, events} = h.renderRoom()
    inst.start()
    w.socket.open()
    w.socket.receive({type: 'error', code: 4010, message: 'bad token: expired', ref: 'join'})
    expect(events).toEqual([{tag: 'error', code: -10, detail: {serverCode: 4010, message: 'bad token: expired', ref: 'join'}}])
    expect(w.socket.closed).toBeTruthy()
  })

  test('an error after joining that answers another message does not end the room', () => {
    const {comp, events} = joinedRoom()
    w.socket.receive({type: 'error', code: 4290, message: 'too many messages', ref: 'heartbeat'})
    expect(tags(events)).toEqual(['joined 1018'])
    expect(h.pusher(comp).data.url).toBe(PUSH)
    expect(w.socket.closed).toBeNull()
  })
})

describe('heartbeat', () => {
  test('a heartbeat every 7 s while the socket is open', () => {
    joinedRoom()
    const beats = () => w.socket.sentTypes().filter((t) => t === 'heartbeat').length
    expect(beats()).toBe(0)
    jest.advanceTimersByTime(6999)
    expect(beats()).toBe(0)
    jest.advanceTimersByTime(1)
    expect(beats()).toBe(1)
    jest.advanceTimersByTime(14000)
    expect(beats()).toBe(3)
    expect(w.socket.sent[w.socket.sent.length - 1]).toEqual({type: 'heartbeat'})
  })

  test('no heartbeats after stop()', () => {
    const {inst} = joinedRoom()
    jest.advanceTimersByTime(7000)
    inst.stop()
    const n = w.socket.sent.length
    jest.advanceTimersByTime(70000)
    expect(w.socket.sent.length).toBe(n)
  })
})

describe('reconnect', () => {
  test('a dropped socket reconnects after 2 s and joins again (no resume token)', async () => {
    const {comp, events} = joinedRoom({template: '1v3'})
    await h.flush()
    w.socket.receive({type: 'userlist', userlist: [member('bob_1')]})
    w.socket.drop(1006)
    expect(comp.instance.data.state).toBe('reconnecting')
    jest.advanceTimersByTime(1999)
    expect(wx.connectSocket).toHaveBeenCalledTimes(1)
    jest.advanceTimersByTime(1)
    expect(wx.connectSocket).toHaveBeenCalledTimes(2)
    const s2 = w.socket
    expect(s2.url).toBe('wss://rooms.example.com/ws')
    s2.open()
    expect(s2.sent).toEqual([{type: 'join', room: '1234', userSig: 'sig-alice', client: 'miniprogram'}])
    s2.receive({type: 'joined', room: '1234', roomID: 1234, userID: 'alice_1', members: [], pushURL: PUSH})
    await h.flush()
    expect(events[events.length - 1]).toMatchObject({tag: 'joined', code: 1018, detail: {rejoined: true}})
    // Same push URL: the pusher is not restarted; the players stay.
    expect(w.pusher.start).toHaveBeenCalledTimes(1)
    expect(srcs(comp)).toEqual([flv('bob_1')])
    // Heartbeats go on on the new socket.
    jest.advanceTimersByTime(7000)
    expect(s2.sentTypes()).toContain('heartbeat')
  })

  test('a new pushURL on re-join restarts the pusher with it', async () => {
    const {comp} = joinedRoom()
    await h.flush()
    w.socket.drop(1006)
    jest.advanceTimersByTime(2000)
    w.socket.open()
    w.socket.receive({type: 'joined', room: '1234', roomID: 1234, userID: 'alice_1', members: [], pushURL: PUSH + '2'})
    await h.flush()
    expect(h.pusher(comp).data.url).toBe(PUSH + '2')
    expect(w.pusher.stop).toHaveBeenCalledTimes(1)
    expect(w.pusher.start).toHaveBeenCalledTimes(2)
  })

  test('3 tries 2 s apart (the legacy rule); after 3 failed reconnects RoomEvent -9', () => {
    const {events} = joinedRoom()
    w.socket.drop(1006)
    const at = []
    let t = 0
    for (let i = 0; i < 3; i++) {
      const before = wx.connectSocket.mock.calls.length
      while (wx.connectSocket.mock.calls.length === before && t < 20000) {
        jest.advanceTimersByTime(100)
        t += 100
      }
      at.push(t)
      w.socket.fail()
    }
    expect(at).toEqual([2000, 4000, 6000])
    expect(events[events.length - 1]).toEqual({
      tag: 'error',
      code: -9,
      detail: {message: 'signaling connection lost: connect failed', tries: 3},
    })
    jest.advanceTimersByTime(60000)
    expect(wx.connectSocket).toHaveBeenCalledTimes(4) // first + 3 tries
    expect(w.pusher.stop).toHaveBeenCalled()
  })

  test('the try counter starts again after a successful re-join', () => {
    const {events} = joinedRoom()
    w.socket.drop(1006)
    jest.advanceTimersByTime(2000)
    w.socket.fail()
    jest.advanceTimersByTime(2000)
    w.socket.open()
    w.socket.receive({type: 'joined', room: '1234', roomID: 1234, userID: 'alice_1', members: [], pushURL: PUSH})
    w.socket.drop(1006)
    jest.advanceTimersByTime(2000)
    w.socket.fail()
    jest.advanceTimersByTime(1999)
    expect(wx.connectSocket).toHaveBeenCalledTimes(4)
    jest.advanceTimersByTime(1) // a third try: the count started again
    expect(wx.connectSocket).toHaveBeenCalledTimes(5)
    expect(tags(events)).not.toContain('error -9')
  })

  test('a socket that never opens is retried too, then -9', () => {
    const {inst, events} = h.renderRoom()
    inst.start()
    w.socket.fail()
    jest.advanceTimersByTime(2000)
    w.socket.fail()
    jest.advanceTimersByTime(2000)
    w.socket.fail()
    jest.advanceTimersByTime(2000)
    w.socket.fail()
    expect(wx.connectSocket).toHaveBeenCalledTimes(4)
    expect(tags(events)).toEqual(['error -9'])
  })
})

describe('kicked, stop and controls', () => {
  test('kicked stops the pusher, clears the players and emits RoomEvent kicked with the reason', () => {
    const {comp, events} = joinedRoom({template: '1v3'})
    w.socket.receive({type: 'userlist', userlist: [member('bob_1')]})
    w.socket.receive({type: 'kicked', reason: 'logged in elsewhere', code: 4000})
    expect(w.pusher.stop).toHaveBeenCalledTimes(1)
    expect(w.players['player-bob_1'].stop).toHaveBeenCalledTimes(1)
    expect(h.pusher(comp).data.url).toBe('')
    expect(h.players(comp)).toHaveLength(0)
    expect(events[events.length - 1]).toEqual({tag: 'kicked', code: 4000, detail: 'logged in elsewhere'})
    w.socket.drop(4000, 'kicked')
    jest.advanceTimersByTime(60000)
    expect(wx.connectSocket).toHaveBeenCalledTimes(1)
    expect(tags(events)).toEqual(['joined 1018', 'userlist 1020', 'kicked 4000'])
  })

  test('close code 4000 without a kicked message is a kick too', () => {
    const {events} = joinedRoom()
    w.socket.drop(4000, 'timeout')
    expect(events[events.length - 1]).toEqual({tag: 'kicked', code: 4000, detail: 'timeout'})
    jest.advanceTimersByTime(60000)
    expect(wx.connectSocket).toHaveBeenCalledTimes(1)
  })

  test('stop() sends leave, closes the socket, stops the media and emits left 1019', () => {
    const {comp, inst, events} = joinedRoom()
    w.socket.receive({type: 'userlist', userlist: [member('bob_1')]})
    inst.stop()
    expect(w.socket.sentTypes()).toContain('leave')
    expect(w.socket.closed).toBeTruthy()
    expect(w.pusher.stop).toHaveBeenCalledTimes(1)
    expect(w.players['player-bob_1'].stop).toHaveBeenCalledTimes(1)
    expect(h.players(comp)).toHaveLength(0)
    expect(events[events.length - 1]).toEqual({tag: 'left', code: 1019, detail: {roomID: '1234'}})
    w.socket.drop(1000)
    jest.advanceTimersByTime(60000)
    expect(wx.connectSocket).toHaveBeenCalledTimes(1)
  })

  test('start() again after stop() joins again', () => {
    const {inst} = joinedRoom()
    inst.stop()
    inst.start()
    expect(wx.connectSocket).toHaveBeenCalledTimes(2)
  })

  test('detaching the component leaves the room', () => {
    const {comp} = joinedRoom()
    comp.detach()
    expect(w.socket.sentTypes()).toContain('leave')
    expect(w.socket.closed).toBeTruthy()
    expect(w.pusher.stop).toHaveBeenCalled()
  })

  test('pause, resume and switchCamera use the pusher and player contexts', async () => {
    const {inst} = joinedRoom()
    await h.flush()
    w.socket.receive({type: 'userlist', userlist: [member('bob_1')]})
    inst.pause()
    inst.resume()
    inst.switchCamera()
    expect(w.pusher.calls).toEqual(['start', 'pause', 'resume', 'switchCamera'])
    expect(wx.createLivePlayerContext).toHaveBeenCalledWith('player-bob_1', inst)
    expect(w.players['player-bob_1'].calls).toEqual(['pause', 'resume'])
  })

  test('muted and enableCamera changes are told to the server', () => {
    const {comp} = joinedRoom()
    comp.setData({muted: true})
    comp.setData({enableCamera: false})
    comp.setData({muted: false})
    expect(h.pusher(comp).data.muted).toBe(false)
    expect(h.pusher(comp).data.enableCamera).toBe(false)
    expect(w.socket.sent.filter((m) => m.type === 'mute')).toEqual([
      {type: 'mute', kind: 'audio', muted: true},
      {type: 'mute', kind: 'video', muted: true},
      {type: 'mute', kind: 'audio', muted: false},
    ])
  })

  test('muted before joining is sent right after joined', () => {
    joinedRoom({muted: true})
    expect(w.socket.sent.filter((m) => m.type === 'mute')).toEqual([{type: 'mute', kind: 'audio', muted: true}])
  })
})

describe('names', () => {
  test('each player is labelled with the display name, in any script; the userID when there is none', () => {
    const {comp} = joinedRoom({template: '1v3', nickName: '韩梅梅'})
    w.socket.receive({
      type: 'userlist',
      userlist: [
        {userID: 'user-0eolgdb', nickName: '李雷', playURL: flv('user-0eolgdb')},
        {userID: 'Ada_Lovelace-1yktla6', nickName: 'Ada Lovelace', playURL: flv('Ada_Lovelace-1yktla6')},
        {userID: 'bob_1', nickName: '', playURL: flv('bob_1')},
      ],
    })
    const names = comp.querySelectorAll('.name').map((n) => n.dom.textContent.trim())
    expect(names).toEqual(['李雷', 'Ada Lovelace', 'bob_1'])
    const join = w.socket.sent.find((m) => m.type === 'join')
    expect(join.nickName).toBe('韩梅梅')
  })
})

describe('screen share', () => {
  test('a shared screen is a player of its own, beside its sharer, labelled as a screen', () => {
    const {comp} = joinedRoom({template: '1v3'})
    const screenURL = 'https://rooms.example.com/live/1234/bob_1.screen.flv?sig=s-bob_1'
    w.socket.receive({
      type: 'userlist',
      userlist: [member('bob_1'), {userID: 'bob_1', nickName: 'BOB_1', source: 'screen', playURL: screenURL}],
    })
    expect(srcs(comp)).toEqual([flv('bob_1'), screenURL])
    expect(h.players(comp).map((p) => p.dom.dataset.key)).toEqual(['bob_1', 'bob_1.screen'])
    const names = comp.querySelectorAll('.name').map((n) => n.dom.textContent.trim())
    expect(names).toEqual(['BOB_1', 'BOB_1 · screen'])
    expect(h.players(comp)[1].data.objectFit).toBe('contain')
  })
})
