// In-room chat on the signaling socket: sending text and JSON data to the room
// or to one member (each send is answered by the server's echo or an error),
// and the `message` / `history` events.
//
// Of the room it uses userID, state, events and the signal client.

import { OpenRoomError, errorMessage } from './errors.js';

/** @typedef {import('./room.js').Room} Room */
/** @typedef {import('./openroom.js').ChatMessage} ChatMessage */
/** @typedef {import('./openroom.js').SendOptions} SendOptions */

/** How long a send waits for the server's echo. */
const CHAT_TIMEOUT_MS = 10000;
/** The server closes the socket on frames over 64 KiB: refuse those before sending. */
const MAX_FRAME_BYTES = 60 * 1024;

export class Chat {
  /** @param {Room} room */
  constructor(room) {
    this.room = room;
    /**
     * Messages sent and not answered yet, oldest first: the server answers
     * each with its echo (carrying our clientID) or with an error (ref "chat").
     * @type {Array<{clientID:string, resolve:(m:ChatMessage)=>void, reject:(e:Error)=>void, timer:ReturnType<typeof setTimeout>}>}
     */
    this.pending = [];
    this.seq = 0;
  }

  /**
   * @param {string} text
   * @param {SendOptions} [options]
   * @returns {Promise<ChatMessage>}
   */
  sendMessage(text, options) {
    const opts = options || {};
    if (typeof text !== 'string') return Promise.reject(new OpenRoomError('param', 'sendMessage: text must be a string'));
    /** @type {Record<string, unknown>} */
    const fields = {};
    if (text !== '') fields.text = text;
    if (opts.data !== undefined) fields.data = opts.data;
    if (fields.text === undefined && fields.data === undefined) {
      return Promise.reject(new OpenRoomError('param', 'sendMessage: the message is empty'));
    }
    return this.send(fields, opts.to);
  }

  /**
   * @param {unknown} data
   * @param {{to?: string}} [options]
   * @returns {Promise<ChatMessage>}
   */
  sendData(data, options) {
    if (data === undefined) return Promise.reject(new OpenRoomError('param', 'sendData: data is required'));
    return this.send({ data }, (options || {}).to);
  }

  /**
   * @param {Record<string, unknown>} fields
   * @param {unknown} to
   * @returns {Promise<ChatMessage>}
   */
  send(fields, to) {
    const room = this.room;
    const signal = room._signal;
    if (room.state === 'disconnected' || signal.joinWaiter || !room._transport.pub || !signal.ws) {
      return Promise.reject(new OpenRoomError('state', 'not in a room: join first'));
    }
    if (to != null && to !== '') fields.to = String(to);
    const clientID = `${Date.now().toString(36)}-${++this.seq}`;
    let frame;
    try {
      frame = JSON.stringify({ type: 'chat', ...fields, clientID });
    } catch (err) {
      return Promise.reject(new OpenRoomError('param', `the message cannot be encoded as JSON: ${errorMessage(err)}`));
    }
    if (new TextEncoder().encode(frame).length > MAX_FRAME_BYTES) {
      return Promise.reject(new OpenRoomError(4130, 'message too long (text and data may take 4096 bytes)'));
    }
    return new Promise((resolve, reject) => {
      const entry = {
        clientID,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.pending = this.pending.filter((p) => p !== entry);
          reject(new OpenRoomError('timeout', `the server did not confirm the message within ${CHAT_TIMEOUT_MS} ms`));
        }, CHAT_TIMEOUT_MS),
      };
      this.pending.push(entry);
      if (!signal.sendFrame(frame)) {
        clearTimeout(entry.timer);
        this.pending = this.pending.filter((p) => p !== entry);
        reject(new OpenRoomError('closed', 'the connection is closed'));
      }
    });
  }

  /**
   * A chat error from the server: fails the send it answers (the one with its
   * clientID if it names one, else the oldest unanswered: the server answers in order).
   * @param {number|string} code
   * @param {string} message
   * @param {unknown} clientID
   * @returns {boolean} whether a pending send took it
   */
  failed(code, message, clientID) {
    let i = typeof clientID === 'string' ? this.pending.findIndex((p) => p.clientID === clientID) : -1;
    if (i < 0 && this.pending.length > 0) i = 0;
    if (i < 0) return false;
    const [entry] = this.pending.splice(i, 1);
    clearTimeout(entry.timer);
    const err = new OpenRoomError(code, message);
    /** @type {any} */ (err).ref = 'chat';
    entry.reject(err);
    return true;
  }

  /** The room was left: every send still waiting fails. */
  abort() {
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new OpenRoomError('closed', 'the room was left before the server confirmed the message'));
    }
  }

  /**
   * @param {any} m a server chat object
   * @param {boolean} history
   * @returns {ChatMessage|null}
   */
  parse(m, history) {
    if (!m || typeof m !== 'object') return null;
    const from = typeof m.from === 'string' ? m.from : '';
    /** @type {ChatMessage} */
    const out = {
      id: typeof m.id === 'number' ? m.id : Number(m.id) || 0,
      from,
      nickName: typeof m.nickName === 'string' && m.nickName ? m.nickName : from,
      to: typeof m.to === 'string' && m.to ? m.to : null,
      text: typeof m.text === 'string' ? m.text : '',
      time: typeof m.time === 'number' ? m.time : Date.now(),
      system: !!m.system,
      self: from !== '' && from === this.room.userID,
      history,
    };
    if (m.data !== undefined) out.data = m.data;
    if (typeof m.clientID === 'string') out.clientID = m.clientID;
    return out;
  }

  /** @param {any} msg */
  onChat(msg) {
    const m = this.parse(msg, false);
    if (!m) return;
    if (m.clientID) {
      const i = this.pending.findIndex((p) => p.clientID === m.clientID);
      if (i >= 0) {
        const [entry] = this.pending.splice(i, 1);
        clearTimeout(entry.timer);
        entry.resolve(m);
      }
    }
    this.room._emit('message', m);
  }

  /** @param {any} msg */
  onHistory(msg) {
    const list = Array.isArray(msg.messages) ? msg.messages : [];
    /** @type {ChatMessage[]} */
    const messages = [];
    for (const item of list) {
      const m = this.parse(item, true);
      if (m) messages.push(m);
    }
    this.room._emit('history', { messages });
    for (const m of messages) this.room._emit('message', m);
  }
}
