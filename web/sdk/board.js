// The room's shared whiteboard (the legacy sketchpad): ops go to the server,
// which orders them and sends them to everyone, us included; the board here is
// what the server said, applied in its order, so every member draws the same.
//
// Of the room it uses the signal client (send) and its state.

import { Emitter } from './events.js';
import { OpenRoomError } from './errors.js';

/** @typedef {import('./room.js').Room} Room */
/** @typedef {import('./openroom.js').BoardOp} BoardOp */
/** @typedef {import('./openroom.js').BoardEntry} BoardEntry */
/** @typedef {import('./openroom.js').BoardStroke} BoardStroke */
/** @typedef {import('./openroom.js').BoardPoint} BoardPoint */

/** Points in one stroke message (the server's limit). */
export const MAX_POINTS = 500;

let nextID = 0;
/** A stroke id unique enough among a room's members. */
const strokeID = () => `${Date.now().toString(36)}-${(nextID++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export class Board extends Emitter {
  /** @param {Room} room */
  constructor(room) {
    super();
    this.room = room;
    /** The seq of the last op applied. */
    this.seq = 0;
    /** The strokes on the board, in the order they were begun. @type {Map<string, BoardStroke>} */
    this.strokes = new Map();
    /** Our strokes' pen, for append(). @type {Map<string, {color: string, width: number}>} */
    this.pens = new Map();
  }

  /**
   * Begins a stroke and returns its id: the others see it at once; append()
   * adds to it while it is drawn.
   * @param {{points: BoardPoint[], color: string, width: number, id?: string}} stroke
   * @returns {string}
   */
  draw(stroke) {
    const id = stroke.id ?? strokeID();
    this.pens.set(id, { color: stroke.color, width: stroke.width });
    this.sendPoints(id, stroke.points);
    return id;
  }

  /**
   * Adds points to one of our strokes.
   * @param {string} id
   * @param {BoardPoint[]} points
   */
  append(id, points) {
    if (!this.pens.has(id)) throw new OpenRoomError('param', `board.append: ${id} is not a stroke of ours (draw() one first)`);
    this.sendPoints(id, points);
  }

  /** @param {string} id @param {BoardPoint[]} points */
  sendPoints(id, points) {
    const pen = /** @type {{color: string, width: number}} */ (this.pens.get(id));
    for (let i = 0; i < points.length || i === 0; i += MAX_POINTS) {
      this.send({ kind: 'stroke', id, points: points.slice(i, i + MAX_POINTS), color: pen.color, width: pen.width });
    }
  }

  /** Removes a stroke (anyone's). @param {string} id */
  erase(id) {
    this.send({ kind: 'erase', target: id });
  }

  /** Removes our last stroke still on the board. */
  undo() {
    this.send({ kind: 'undo' });
  }

  /** Empties the board for everyone. */
  clear() {
    this.send({ kind: 'clear' });
  }

  /** @param {BoardOp} op */
  send(op) {
    const room = this.room;
    if (room.state !== 'connected' && room.state !== 'reconnecting') throw new OpenRoomError('state', 'board: join a room first');
    room._signal.send({ type: 'board', op });
  }

  /**
   * A `board` message: one op in the room's order.
   * @param {any} msg
   */
  onOp(msg) {
    if (typeof msg.seq !== 'number' || !msg.op || msg.seq <= this.seq) return; // in the state already
    /** @type {BoardEntry} */
    const entry = { userID: String(msg.userID ?? ''), seq: msg.seq, op: msg.op };
    this.apply(entry);
    this.seq = msg.seq;
    this.fire('op', entry);
  }

  /**
   * A `board_state` message: the whole board (after joining, resuming or re-joining).
   * @param {any} msg
   */
  onState(msg) {
    this.strokes = new Map();
    const ops = Array.isArray(msg.ops) ? msg.ops : [];
    for (const e of ops) if (e && e.op) this.apply(e);
    this.seq = typeof msg.seq === 'number' ? msg.seq : 0;
    this.fire('state', { seq: this.seq, ops });
  }

  /** @param {BoardEntry} e */
  apply(e) {
    const op = e.op;
    switch (op.kind) {
      case 'stroke': {
        const s = this.strokes.get(op.id ?? '');
        if (s) s.points.push(...(op.points ?? []));
        else if (op.id) this.strokes.set(op.id, { id: op.id, userID: e.userID, color: op.color ?? '#000000', width: op.width ?? 1, points: [...(op.points ?? [])] });
        break;
      }
      case 'erase':
      case 'undo':
        if (op.target) this.strokes.delete(op.target);
        break;
      case 'clear':
        this.strokes = new Map();
        this.pens = new Map();
        break;
    }
  }

  /** A new join: the server sends the board again. */
  reset() {
    this.seq = 0;
    this.strokes = new Map();
    this.pens = new Map();
  }

  /**
   * @template {keyof import('./openroom.js').BoardEventMap} K
   * @param {K} event
   * @param {import('./openroom.js').BoardEventMap[K]} payload
   */
  fire(event, payload) {
    this._emit(/** @type {any} */ (event), /** @type {any} */ (payload));
  }
}
