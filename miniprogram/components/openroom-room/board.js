// The room's whiteboard as the mini-program sees it. <openroom-room> feeds in the server's
// board messages and sends out the ops that <openroom-sketchpad> draws; both components
// require this module, so they meet here, one channel per room, without the page wiring
// them (as the legacy page put `sketchpad` beside `webrtc-room`).

const channels = {}

function channel(room) {
  const key = String(room)
  if (!channels[key]) channels[key] = {seq: 0, strokes: new Map(), listeners: new Set(), send: null}
  return channels[key]
}

// Applies one op ({userID, seq, op}) to the strokes, as every member does, in the server's order.
function apply(ch, e) {
  const op = e.op || {}
  if (op.kind === 'stroke' && op.id) {
    const s = ch.strokes.get(op.id)
    const points = Array.isArray(op.points) ? op.points : []
    if (s) s.points.push(...points)
    else ch.strokes.set(op.id, {id: op.id, userID: String(e.userID || ''), color: op.color || '#000000', width: op.width || 1, points: points.slice()})
  } else if ((op.kind === 'erase' || op.kind === 'undo') && op.target) {
    ch.strokes.delete(op.target)
  } else if (op.kind === 'clear') {
    ch.strokes = new Map()
  }
}

function tell(ch, event) {
  ch.listeners.forEach((fn) => {
    try {
      fn(event)
    } catch (e) {
      console.error('openroom board listener', e)
    }
  })
}

module.exports = {
  // <openroom-room>: ops go out through send(op) while it is in the room; returns the undo.
  attach(room, send) {
    const ch = channel(room)
    ch.send = send
    return () => {
      if (ch.send === send) ch.send = null
    }
  },
  // <openroom-room>: a `board_state` message (after joining or resuming): the whole board.
  onState(room, msg) {
    const ch = channel(room)
    ch.strokes = new Map()
    ;(Array.isArray(msg.ops) ? msg.ops : []).forEach((e) => apply(ch, e))
    ch.seq = typeof msg.seq === 'number' ? msg.seq : 0
    tell(ch, {type: 'state', seq: ch.seq})
  },
  // <openroom-room>: a `board` message: one op; those already in the state are dropped.
  onOp(room, msg) {
    const ch = channel(room)
    if (typeof msg.seq !== 'number' || msg.seq <= ch.seq || !msg.op) return
    const e = {userID: String(msg.userID || ''), seq: msg.seq, op: msg.op}
    apply(ch, e)
    ch.seq = msg.seq
    tell(ch, {type: 'op', entry: e})
  },
  // <openroom-sketchpad>: the strokes now, and fn({type: 'state'|'op'}) on every change; returns the undo.
  subscribe(room, fn) {
    const ch = channel(room)
    ch.listeners.add(fn)
    return () => ch.listeners.delete(fn)
  },
  strokes(room) {
    return Array.from(channel(room).strokes.values())
  },
  // <openroom-sketchpad>: sends an op; false while no <openroom-room> of this room is in it.
  send(room, op) {
    const ch = channel(room)
    return !!ch.send && ch.send(op) !== false
  },
}
