// <openroom-room> on real networks (issue 11): it resumes its membership after a dropped
// socket (the others see nothing), re-enters and re-pushes on a network change, and
// restarts a pusher or player that gave up, with the legacy rule: 3 tries, 2 s apart.
const h = require('./helpers')

const PUSH = 'rtmp://rooms.example.com/live/1234/alice_1?sig=p1'
const flv = (u) => `https://rooms.example.com/live/1234/${u}.flv?sig=s-${u}`
const member = (u) => ({userID: u, nickName: u.toUpperCase(), playURL: flv(u), rtmpURL: ''})
const JOINED = {type: 'joined', seq: 1, room: '1234', roomID: 1234, userID: 'alice_1', privileges: 255, members: [], pushURL: PUSH, resumeToken: 'tok-1'}

let w
beforeEach(() => {
  jest.useFakeTimers()
  w = h.installWx()
  w.network = []
  wx.onNetworkStatusChange = jest.fn((fn) => w.network.push(fn))
  wx.offNetworkStatusChange = jest.fn((fn) => (w.network = w.network.filter((f) => f !== fn)))
})
afterEach(() => {
  jest.clearAllTimers()
  jest.useRealTimers()
  delete wx.onNetworkStatusChange
  delete wx.offNetworkStatusChange
})

function joinedRoom(props = {}) {
  const r = h.renderRoom(props)
  r.inst.start()
  w.socket.open()
  w.socket.receive(JOINED)
  return r
}
const tags = (events) => events.map((e) => `${e.tag} ${e.code}`)

describe('resume', () => {
  test('a dropped socket resumes with the token and the last seq; no second joined', async () => {
    const {comp, events} = joinedRoom({template: '1v3'})
    await h.flush()
    w.socket.receive({type: 'userlist', userlist: [member('bob_1')]})
    w.socket.receive({type: 'member_joined', seq: 7, member: member('bob_1')})
    w.socket.drop(1006)
    expect(comp.instance.data.state).toBe('reconnecting')
    jest.advanceTimersByTime(2000)
    const s2 = w.socket
    s2.open()
    expect(s2.sent).toEqual([{type: 'resume', room: '1234', resumeToken: 'tok-1', lastSeq: 7}])
    s2.receive({type: 'resumed', room: '1234', userID: 'alice_1', resumeToken: 'tok-2', lastSeq: 9})
    s2.receive({type: 'member_left', seq: 8, userID: 'carol_1', reason: 'left'})
    await h.flush()
    expect(comp.instance.data.state).toBe('joined')
    expect(tags(events).filter((t) => t.startsWith('joined'))).toEqual(['joined 1018'])
    expect(w.pusher.start).toHaveBeenCalledTimes(1) // the push went on
    // The next drop uses the new token and seq.
    s2.drop(1006)
    jest.advanceTimersByTime(2000)
    w.socket.open()
    expect(w.socket.sent[0]).toEqual({type: 'resume', room: '1234', resumeToken: 'tok-2', lastSeq: 8})
  })

  test('a refused resume (the server restarted) joins again on the same socket', async () => {
    const {events} = joinedRoom()
    w.socket.drop(1006)
    jest.advanceTimersByTime(2000)
    const s2 = w.socket
    s2.open()
    s2.receive({type: 'error', code: 4011, ref: 'resume', message: 'cannot resume: join again'})
    expect(s2.sent.map((m) => m.type)).toEqual(['resume', 'join'])
    s2.receive(Object.assign({}, JOINED, {resumeToken: 'tok-9'}))
    await h.flush()
    expect(events[events.length - 1]).toMatchObject({tag: 'joined', code: 1018, detail: {rejoined: true}})
    expect(tags(events)).not.toContain('error -10')
    s2.drop(1006)
    jest.advanceTimersByTime(2000)
    w.socket.open()
    expect(w.socket.sent[0]).toMatchObject({type: 'resume', resumeToken: 'tok-9'})
  })
})

describe('network change', () => {
  test('wx.onNetworkStatusChange: the socket reconnects at once (resume) and the pusher pushes again', async () => {
    joinedRoom()
    await h.flush()
    const s1 = w.socket
    w.network.forEach((f) => f({isConnected: true, networkType: '4g'}))
    expect(s1.closed).toBeTruthy()
    expect(wx.connectSocket).toHaveBeenCalledTimes(2)
    w.socket.open()
    expect(w.socket.sent[0]).toMatchObject({type: 'resume', resumeToken: 'tok-1'})
    jest.advanceTimersByTime(0)
    expect(w.pusher.stop).toHaveBeenCalledTimes(1)
    expect(w.pusher.start).toHaveBeenCalledTimes(2)
  })

  test('offline is waited out; pusher code 1021 counts as a network change too', async () => {
    const {comp} = joinedRoom()
    await h.flush()
    w.network.forEach((f) => f({isConnected: false, networkType: 'none'}))
    expect(wx.connectSocket).toHaveBeenCalledTimes(1)
    h.pusher(comp).dispatchEvent('statechange', {detail: {code: 1021, message: 'network type changed'}})
    await h.flush()
    expect(wx.connectSocket).toHaveBeenCalledTimes(2)
  })

  test('stop() removes the network listener', () => {
    const {inst} = joinedRoom()
    expect(w.network).toHaveLength(1)
    inst.stop()
    expect(w.network).toHaveLength(0)
  })
})

describe('pusher and players that gave up', () => {
  test('-1307: the pusher pushes again 3 times 2 s apart, then RoomEvent -6', async () => {
    const {comp, events} = joinedRoom()
    await h.flush()
    const starts = []
    for (let i = 0; i < 4; i++) {
      h.pusher(comp).dispatchEvent('statechange', {detail: {code: -1307, message: 'gave up'}})
      await h.flush()
      jest.advanceTimersByTime(1999)
      starts.push(w.pusher.start.mock.calls.length)
      jest.advanceTimersByTime(1)
      starts.push(w.pusher.start.mock.calls.length)
    }
    expect(starts).toEqual([1, 2, 2, 3, 3, 4, 4, 4])
    expect(tags(events).filter((t) => t.startsWith('error'))).toEqual(['error -6'])
    expect(events.filter((e) => e.tag === 'pusher' && e.code === -1307).map((e) => e.detail.retry)).toEqual([1, 2, 3])
  })

  test('pushing again (1002) starts the count afresh', async () => {
    const {comp, events} = joinedRoom()
    await h.flush()
    for (let i = 0; i < 5; i++) {
      h.pusher(comp).dispatchEvent('statechange', {detail: {code: -1307, message: 'gave up'}})
      await h.flush()
      jest.advanceTimersByTime(2000)
      h.pusher(comp).dispatchEvent('statechange', {detail: {code: 1002, message: 'pushing'}})
      await h.flush()
    }
    expect(tags(events)).not.toContain('error -6')
    expect(w.pusher.start).toHaveBeenCalledTimes(6)
  })

  test('-2301: a player plays again 2 s later, at most 3 times', async () => {
    const {comp} = joinedRoom({template: '1v3'})
    await h.flush()
    w.socket.receive({type: 'userlist', userlist: [member('bob_1')]})
    await h.flush()
    const player = h.players(comp)[0]
    for (let i = 0; i < 4; i++) {
      player.dispatchEvent('statechange', {detail: {code: -2301, message: 'gave up'}})
      await h.flush()
      jest.advanceTimersByTime(2000)
    }
    const ctx = w.players['player-bob_1']
    expect(ctx.play).toHaveBeenCalledTimes(3)
    expect(ctx.stop).toHaveBeenCalledTimes(3)
  })
})

describe('cluster', () => {
  test('a redirect moves the join to the room\'s node; a drop there is tried there once, then at the given server', async () => {
    const {comp} = h.renderRoom()
    comp.instance.start()
    const s1 = w.socket
    const given = s1.url
    s1.open()
    expect(s1.sentTypes()).toEqual(['join'])
    s1.receive({type: 'redirect', url: 'wss://node2.example.com/ws', room: '1234'})
    expect(s1.closed).not.toBeNull()
    const s2 = w.socket
    expect(s2.url).toBe('wss://node2.example.com/ws')
    s2.open()
    expect(s2.sentTypes()).toEqual(['join'])
    s2.receive(JOINED)
    await h.flush()
    expect(comp.instance.data.state).toBe('joined')
    s2.drop(1006)
    jest.advanceTimersByTime(2000)
    const s3 = w.socket
    expect(s3.url).toBe('wss://node2.example.com/ws') // the session lives there: resume there
    s3.fail()
    jest.advanceTimersByTime(2000)
    expect(w.socket.url).toBe(given) // that node is gone: the given server places the room anew
  })

  test('a redirect to no WebSocket URL, or a fourth one, ends the join with an error', async () => {
    const cases = [
      {redirects: [{url: 'http://node2/ws'}], sockets: 1},
      {redirects: [1, 2, 3, 4].map((i) => ({url: `wss://node${i}/ws`})), sockets: 4},
    ]
    for (const c of cases) {
      const {comp, events} = h.renderRoom()
      const before = w.sockets.length
      comp.instance.start()
      for (const r of c.redirects) {
        w.socket.open()
        w.socket.receive(Object.assign({type: 'redirect'}, r))
      }
      await h.flush()
      jest.advanceTimersByTime(10000)
      expect(tags(events).some((t) => t.startsWith('error'))).toBe(true)
      expect(w.sockets.length - before).toBe(c.sockets) // no reconnect after
    }
  })
})
