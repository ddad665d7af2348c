// Pure helpers of <openroom-room>.
const codes = require('../components/openroom-room/codes.js')

test('wsURL derives the signaling URL from serverURL', () => {
  expect(codes.wsURL('https://rooms.example.com')).toBe('wss://rooms.example.com/ws')
  expect(codes.wsURL('https://rooms.example.com/')).toBe('wss://rooms.example.com/ws')
  expect(codes.wsURL('https://example.com/openroom')).toBe('wss://example.com/openroom/ws')
  expect(codes.wsURL('http://localhost:8080')).toBe('ws://localhost:8080/ws')
  expect(codes.wsURL('HTTPS://Rooms.example.com')).toBe('wss://Rooms.example.com/ws')
  expect(codes.wsURL('rooms.example.com')).toBe('wss://rooms.example.com/ws')
  expect(codes.wsURL('wss://rooms.example.com')).toBe('wss://rooms.example.com/ws')
  expect(codes.wsURL('wss://rooms.example.com/custom/ws')).toBe('wss://rooms.example.com/custom/ws')
  expect(codes.wsURL('')).toBe('')
})

test('httpURL gives the room API base', () => {
  expect(codes.httpURL('https://rooms.example.com/')).toBe('https://rooms.example.com')
  expect(codes.httpURL('wss://rooms.example.com/ws')).toBe('https://rooms.example.com')
  expect(codes.httpURL('rooms.example.com')).toBe('https://rooms.example.com')
})

test('pickPlayers leaves out ourselves, duplicates and entries without a URL, and caps by template', () => {
  const list = [
    {userID: 'me', playURL: 'u0'},
    {userID: 'a', playURL: 'u1', nickName: 'A'},
    {userID: 'b'},
    {userID: 'a', playURL: 'u1'},
    {userID: 'c', rtmpURL: 'r3'},
    {userID: 'd', playURL: 'u4'},
    {userID: 'e', playURL: 'u5'},
  ]
  expect(codes.pickPlayers(list, 'me', '1v3').map((p) => [p.userID, p.playURL])).toEqual([
    ['a', 'u1'],
    ['c', 'r3'],
    ['d', 'u4'],
  ])
  expect(codes.pickPlayers(list, 'me', '1v1').map((p) => p.userID)).toEqual(['a'])
  expect(codes.pickPlayers(null, 'me', '1v3')).toEqual([])
  expect(codes.pickPlayers([{userID: 7, playURL: 'x'}], 'me', '1v3')[0].userID).toBe('7')
})

test('maxPlayers: 1 for 1v1, 3 otherwise', () => {
  expect(codes.maxPlayers('1v1')).toBe(1)
  expect(codes.maxPlayers('1v3')).toBe(3)
  expect(codes.maxPlayers('1u3d')).toBe(3)
})

test('chatDetail: server chat -> legacy-shaped msg_notify detail', () => {
  expect(codes.chatDetail({id: 5, from: 'bob_1', nickName: '', text: 'hi', time: 1999, to: 'me'}, 'me', true)).toEqual({
    id: 5,
    userID: 'bob_1',
    fromAccount: 'bob_1',
    fromAccountNick: 'bob_1',
    nickName: '',
    time: 1,
    timeMs: 1999,
    self: false,
    system: false,
    history: true,
    private: true,
    to: 'me',
    content: 'hi',
  })
  const mine = codes.chatDetail({id: 6, from: 'me', nickName: 'Me', data: {a: 1}, time: 0, clientID: 'c1'}, 'me', false)
  expect(mine).toMatchObject({self: true, data: {a: 1}, clientID: 'c1', history: false, private: false})
  expect(mine).not.toHaveProperty('content')
  expect(codes.chatDetail({id: 7, from: '', system: true, text: 'x', time: 1}, '', false)).toMatchObject({self: false, system: true})
})

test('group_system_notifys codes: leave 8, kicked 4, room gone 5', () => {
  expect(codes.leaveNotice('left')).toEqual({code: 8, type: 'leave'})
  expect(codes.leaveNotice('timeout')).toEqual({code: 8, type: 'leave'})
  expect(codes.leaveNotice('kicked')).toEqual({code: 4, type: 'kick'})
  expect(codes.kickNotice('logged in elsewhere')).toEqual({code: 4, type: 'kick'})
  expect(codes.kickNotice('timeout')).toEqual({code: 4, type: 'kick'})
  expect(codes.kickNotice('server shutting down')).toEqual({code: 5, type: 'dissolve'})
  expect(codes.kickNotice('room closed')).toEqual({code: 5, type: 'dissolve'})
})
