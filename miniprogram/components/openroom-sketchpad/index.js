// <openroom-sketchpad>: the room's shared whiteboard for mini-programs, beside <openroom-room>
// (as the legacy `sketchpad` was beside `webrtc-room`). It draws the board the server orders
// (see ../openroom-room/board.js: <openroom-room> carries the ops on its socket) on a 2d canvas,
// and sends touch strokes, in batches while they are drawn. The board is 16:9; points are
// 0..1 of its width and height, pen widths 1/1000 of its width, as on the web.
//
// Attributes: roomID (the same as <openroom-room>'s), color, width, readonly, tools (show the
// colour, eraser, undo and clear bar). Methods: undo(), erase(strokeID), clear(). Event: bindBoardEvent {type: 'op' |
// 'state' | 'error', ...}.

const board = require('../openroom-room/board.js')

const SEND_EVERY_MS = 50 // 20 ops/s while drawing: under the server's 30/s
const BOARD_UNITS = 1000
const MAX_POINTS = 500 // a stroke message's points (the server's limit)
const CANVAS_ID = '#openroom-sketchpad-canvas'
const ERASE_REACH_PX = 12 // how near a touch must come to a stroke to erase it

let ids = 0
const strokeID = () => 'mp-' + Date.now().toString(36) + '-' + (ids++).toString(36) + '-' + Math.random().toString(36).slice(2, 6)

Component({
  properties: {
    roomID: {type: null, value: '', observer: '_follow'},
    color: {type: String, value: '#e5484d'},
    width: {type: Number, value: 4},
    readonly: {type: Boolean, value: false},
    tools: {type: Boolean, value: true},
  },

  data: {
    colors: ['#e5484d', '#1f6feb', '#2da44e', '#f5a623', '#111111'],
    erasing: false, // the bar's eraser: a touch removes the stroke under it
  },

  lifetimes: {
    attached() {
      this._local = null // our stroke being drawn: {id, points, sent, color, width}
      this._timer = 0
      this._follow()
    },
    ready() {
      this._draw()
    },
    detached() {
      if (this._unsubscribe) this._unsubscribe()
      this._unsubscribe = null
      clearTimeout(this._timer)
    },
  },

  methods: {
    undo() {
      this._send({kind: 'undo'})
    },
    // Removes a stroke (anyone's) by id: BoardEvent entries and the board's strokes name them.
    erase(id) {
      this._send({kind: 'erase', target: String(id)})
    },
    clear() {
      this._send({kind: 'clear'})
    },

    onColor(e) {
      this.setData({color: e.currentTarget.dataset.color, erasing: false})
    },
    onEraser() {
      this.setData({erasing: !this.data.erasing})
    },
    onUndo() {
      this.undo()
    },
    onClear() {
      this.clear()
    },

    onTouchStart(e) {
      if (this.data.readonly) return
      const p = this._point(e)
      if (!p) return
      if (this.data.erasing) {
        const hit = this._strokeAt(p)
        if (hit) this.erase(hit.id)
        return
      }
      const id = strokeID()
      this._local = {id, points: [p], sent: 1, color: this.data.color, width: this.data.width}
      this._send({kind: 'stroke', id, points: [p], color: this.data.color, width: this.data.width})
      this._draw()
    },
    onTouchMove(e) {
      const l = this._local
      if (!l) return
      const p = this._point(e)
      const last = l.points[l.points.length - 1]
      if (!p || Math.abs(p[0] - last[0]) + Math.abs(p[1] - last[1]) < 0.001) return
      l.points.push(p)
      if (!this._timer) this._timer = setTimeout(() => this._flush(), SEND_EVERY_MS)
      this._draw()
    },
    onTouchEnd() {
      if (!this._local) return
      clearTimeout(this._timer)
      this._flush()
      this._local = null
      this._draw()
    },

    // ------------------------------------------------------------------ internals

    // Follows the board of roomID.
    _follow() {
      if (this._unsubscribe) this._unsubscribe()
      this._unsubscribe = null
      const room = this.data.roomID
      if (room === '' || room == null) return
      this._unsubscribe = board.subscribe(room, (ev) => {
        this._draw()
        this.triggerEvent('BoardEvent', ev.type === 'op' ? {type: 'op', entry: ev.entry} : {type: 'state', seq: ev.seq})
      })
      this._draw()
    },

    _flush() {
      this._timer = 0
      const l = this._local
      if (!l || l.sent >= l.points.length) return
      const fresh = l.points.slice(l.sent)
      l.sent = l.points.length
      for (let i = 0; i < fresh.length; i += MAX_POINTS) {
        this._send({kind: 'stroke', id: l.id, points: fresh.slice(i, i + MAX_POINTS), color: l.color, width: l.width})
      }
    },

    _send(op) {
      if (board.send(this.data.roomID, op)) return
      this.triggerEvent('BoardEvent', {type: 'error', message: 'not in the room: put <openroom-room> with the same roomID on the page'})
    },

    // The stroke nearest to p (0..1) within reach of a finger, or null.
    _strokeAt(p) {
      const size = this._size
      if (!size) return null
      const W = size.width
      const H = size.height
      let best = null
      let bestD = Infinity
      board.strokes(this.data.roomID).forEach((s) => {
        const half = (s.width * W) / BOARD_UNITS / 2
        for (let i = 0; i < s.points.length; i++) {
          const a = s.points[i]
          const b = s.points[Math.min(i + 1, s.points.length - 1)]
          const d = segmentDistance(p[0] * W, p[1] * H, a[0] * W, a[1] * H, b[0] * W, b[1] * H) - half
          if (d < bestD) {
            bestD = d
            best = s
          }
        }
      })
      return best && bestD <= ERASE_REACH_PX ? best : null
    },

    // A touch's point on the board, 0..1 (canvas touches carry x, y relative to the canvas).
    _point(e) {
      const t = (e.changedTouches && e.changedTouches[0]) || (e.touches && e.touches[0])
      const size = this._size
      if (!t || !size || !size.width || !size.height) return null
      const tx = t.x != null ? t.x : t.clientX // a canvas touch has x, y; others clientX, clientY
      const ty = t.y != null ? t.y : t.clientY
      const x = Math.min(1, Math.max(0, tx / size.width))
      const y = Math.min(1, Math.max(0, ty / size.height))
      return [Math.round(x * 1e4) / 1e4, Math.round(y * 1e4) / 1e4]
    },

    // The canvas' 2d context and its size in CSS pixels (found once).
    _canvas(ready) {
      if (this._ctx) {
        ready(this._ctx, this._size)
        return
      }
      if (this._finding) return
      this._finding = true
      this.createSelectorQuery()
        .select(CANVAS_ID)
        .fields({node: true, size: true})
        .exec((res) => {
          this._finding = false
          const r = res && res[0]
          if (!r || !r.node) return
          const dpr = (wx.getWindowInfo ? wx.getWindowInfo() : wx.getSystemInfoSync()).pixelRatio || 1
          r.node.width = Math.round(r.width * dpr)
          r.node.height = Math.round(r.height * dpr)
          this._ctx = r.node.getContext('2d')
          this._size = {width: r.width, height: r.height, dpr}
          ready(this._ctx, this._size)
        })
    },

    _draw() {
      this._canvas((ctx, size) => {
        const W = size.width * size.dpr
        const H = size.height * size.dpr
        ctx.fillStyle = '#ffffff'
        ctx.fillRect(0, 0, W, H)
        const l = this._local
        board.strokes(this.data.roomID).forEach((s) => {
          if (!l || s.id !== l.id) drawStroke(ctx, s, W, H)
        })
        if (l) drawStroke(ctx, l, W, H)
      })
    },
  },
})

// Draws a stroke smoothed: quadratic curves through its midpoints.
function drawStroke(ctx, s, W, H) {
  const pts = s.points
  if (!pts.length) return
  ctx.strokeStyle = s.color
  ctx.fillStyle = s.color
  ctx.lineWidth = Math.max(1, (s.width * W) / BOARD_UNITS)
  ctx.lineCap = 'round'
  ctx.lineJoin = 'round'
  ctx.beginPath()
  if (pts.length === 1) {
    ctx.arc(pts[0][0] * W, pts[0][1] * H, ctx.lineWidth / 2, 0, 2 * Math.PI)
    ctx.fill()
    return
  }
  ctx.moveTo(pts[0][0] * W, pts[0][1] * H)
  for (let i = 1; i < pts.length - 1; i++) {
    ctx.quadraticCurveTo(pts[i][0] * W, pts[i][1] * H, ((pts[i][0] + pts[i + 1][0]) / 2) * W, ((pts[i][1] + pts[i + 1][1]) / 2) * H)
  }
  const last = pts[pts.length - 1]
  ctx.lineTo(last[0] * W, last[1] * H)
  ctx.stroke()
}

// Distance from (px, py) to the segment (ax, ay)-(bx, by).
function segmentDistance(px, py, ax, ay, bx, by) {
  const dx = bx - ax
  const dy = by - ay
  const len = dx * dx + dy * dy
  const t = len > 0 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len)) : 0
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy))
}
