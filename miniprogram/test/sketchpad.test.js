// <openroom-sketchpad> beside <openroom-room>: it draws the board the server sends and sends
// touch strokes through the room's socket, in batches while they are drawn.
const path = require('path')
const h = require('./helpers')

const SKETCHPAD = path.join(h.ROOT, 'components/openroom-sketchpad/index')

// A 2d context that records what is drawn.
function fakeContext() {
  const calls = []
  const ctx = {calls}
  for (const m of ['fillRect', 'beginPath', 'moveTo', 'lineTo', 'quadraticCurveTo', 'arc', 'stroke', 'fill']) {
    ctx[m] = (...a) => calls.push([m, ...a])
  }
  return new Proxy(ctx, {
    set(target, key, value) {
      target[key] = value
      if (key === 'strokeStyle') calls.push(['strokeStyle', value])
      return true
    },
  })
}

let w
let padID
beforeEach(() => {
  jest.useFakeTimers()
  w = h.installWx()
})
afterEach(() => {
  jest.clearAllTimers()
  jest.useRealTimers()
})

// Renders the sketchpad for room 1234 with a recording canvas of 320 x 180 CSS px.
function renderPad(props = {}) {
  if (!padID) padID = h.simulate.load(SKETCHPAD, 'openroom-sketchpad', {compiler: h.COMPILER, rootPath: h.ROOT})
  const comp = h.simulate.render(padID, Object.assign({roomID: 1234}, props))
  const ctx = fakeContext()
  const size = {width: 320, height: 180, dpr: 1}
  comp.instance._canvas = (ready) => ready(ctx, size)
  comp.instance._size = size
  const events = []
  comp.addEventListener('BoardEvent', (evt) => events.push(evt.detail))
  comp.attach(document.createElement('parent-wrapper'))
  return {comp, ctx, events}
}

function joinedRoom() {
  const r = h.renderRoom({roomID: 1234})
  r.inst.start()
  w.socket.open()
  w.socket.receive({type: 'joined', room: '1234', roomID: 1234, userID: 'alice_1', privileges: 255, members: [], pushURL: 'rtmp://x/live/1234/alice_1'})
  w.socket.receive({type: 'board_state', seq: 0, ops: []})
  return r
}

const boardOps = () => w.socket.sent.filter((m) => m.type === 'board').map((m) => m.op)

test('draws the strokes the server sends, the earlier ones too', () => {
  joinedRoom()
  w.socket.receive({type: 'board_state', seq: 1, ops: [{userID: 'bob_1', seq: 1, op: {kind: 'stroke', id: 'b1', points: [[0.1, 0.1], [0.5, 0.5]], color: '#1f6feb', width: 4}}]})
  const {ctx, events} = renderPad()
  expect(ctx.calls).toContainEqual(['strokeStyle', '#1f6feb'])
  expect(ctx.calls).toContainEqual(['moveTo', 32, 18])

  ctx.calls.length = 0
  w.socket.receive({type: 'board', userID: 'bob_1', seq: 2, op: {kind: 'stroke', id: 'b2', points: [[0.9, 0.9], [1, 1]], color: '#2da44e', width: 10}})
  expect(ctx.calls).toContainEqual(['strokeStyle', '#2da44e'])
  expect(ctx.calls).toContainEqual(['lineTo', 320, 180])
  expect(events[events.length - 1]).toMatchObject({type: 'op', entry: {userID: 'bob_1', seq: 2}})

  // A replayed op already in the state changes nothing; a clear empties the board.
  ctx.calls.length = 0
  w.socket.receive({type: 'board', userID: 'bob_1', seq: 2, op: {kind: 'clear'}})
  expect(ctx.calls).toEqual([])
  w.socket.receive({type: 'board', userID: 'bob_1', seq: 3, op: {kind: 'clear'}})
  expect(ctx.calls.filter((c) => c[0] === 'strokeStyle')).toEqual([])
})

test('touch strokes go out through the room socket, in batches while drawn', () => {
  joinedRoom()
  const {comp} = renderPad({color: '#f5a623', width: 6})
  // Canvas touches as WeChat gives them: x, y relative to the canvas (j-component's
  // simulated touches do not reach a canvas' bindtouch* handlers, so they are called as WeChat would).
  const touch = (name, x, y) => comp.instance[name]({type: name, changedTouches: [{x, y}], touches: name === 'onTouchEnd' ? [] : [{x, y}]})
  touch('onTouchStart', 32, 18)
  let ops = boardOps()
  expect(ops).toEqual([{kind: 'stroke', id: expect.stringMatching(/^mp-/), points: [[0.1, 0.1]], color: '#f5a623', width: 6}])
  const id = ops[0].id
  for (const x of [64, 96, 128]) touch('onTouchMove', x, 90)
  expect(boardOps()).toHaveLength(1) // batched: nothing more before 50 ms
  jest.advanceTimersByTime(60)
  touch('onTouchEnd', 128, 90)
  ops = boardOps()
  expect(ops).toHaveLength(2)
  expect(ops[1]).toEqual({kind: 'stroke', id, points: [[0.2, 0.5], [0.3, 0.5], [0.4, 0.5]], color: '#f5a623', width: 6})

  comp.instance.undo()
  comp.instance.erase('b1')
  comp.instance.clear()
  expect(boardOps().slice(2)).toEqual([{kind: 'undo'}, {kind: 'erase', target: 'b1'}, {kind: 'clear'}])
})

test('the eraser removes the stroke a touch lands on, and nothing when it lands on paper', () => {
  joinedRoom()
  w.socket.receive({type: 'board', userID: 'bob_1', seq: 1, op: {kind: 'stroke', id: 'b1', points: [[0.1, 0.5], [0.9, 0.5]], color: '#1f6feb', width: 4}})
  const {comp} = renderPad()
  comp.instance.onEraser()
  comp.instance.onTouchStart({changedTouches: [{x: 160, y: 20}], touches: [{x: 160, y: 20}]}) // paper
  expect(boardOps()).toEqual([])
  comp.instance.onTouchStart({changedTouches: [{x: 160, y: 95}], touches: [{x: 160, y: 95}]}) // 5 px from the line
  expect(boardOps()).toEqual([{kind: 'erase', target: 'b1'}])
})

test('read-only pads do not draw; without a room the pad says why', () => {
  const {comp, events} = renderPad({roomID: 999, readonly: true})
  comp.instance.onTouchStart({changedTouches: [{x: 1, y: 1}], touches: [{x: 1, y: 1}]})
  expect(events).toEqual([]) // nothing drawn, nothing sent
  comp.instance.clear()
  expect(events[events.length - 1]).toMatchObject({type: 'error', message: expect.stringMatching(/openroom-room/)})
})
