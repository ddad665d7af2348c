// The signal client: the WebSocket to the server (docs/protocol.md), its
// frames, a heartbeat that notices a dead socket, and resuming the session on
// a new socket after a drop. Also get_login_info, which comes before a join.
//
// Every message goes to room._onMessage(). Of the room it uses the session
// counter (a newer session makes older sockets and timers moot), and it tells
// the room when the socket is lost for good (_lost), when the session must be
// joined again (_rejoin) and when it was resumed (_resumed).

import { OpenRoomError, errorMessage } from './errors.js';

/** @typedef {import('./room.js').Room} Room */

const LOGIN_PATH = '/weapp/webrtc_room/get_login_info';
const WS_PATH = '/ws';
const HEARTBEAT_MS = 7000;
/** Resume backoff: the first delay, doubling up to the last (each +-20 %). */
const RESUME_FIRST_DELAY_MS = 500;
const RESUME_MAX_DELAY_MS = 4000;
/** How long a resume attempt waits for the server's answer. */
const RESUME_ANSWER_TIMEOUT_MS = 5000;
/** The server's member timeout when joined does not say (the legacy heartbeat window). */
const DEFAULT_MEMBER_TIMEOUT_MS = 20_000;
/** A socket that does not answer a heartbeat within this long is taken for dead. */
const SOCKET_PROBE_MS = 3000;
/** Whiteboard messages: their seq is the board's, not the session's. @param {string} type */
const isBoardMessage = (type) => type === 'board' || type === 'board_state';

/** Redirects one join follows (cluster nodes that disagree would send it round forever). */
const MAX_REDIRECTS = 3;
/** Resume attempts at the room's node of a cluster before joining again through the given server. */
const HOME_RESUME_ATTEMPTS = 2;

/** The server is shutting down (join refused meanwhile: try again). */
export const CODE_SHUTTING_DOWN = 5003;

/**
 * The delay before resume or rejoin attempt `attempt` (from 0): about 0.5, 1,
 * 2, 4, 4... s, +-20 %, so that many members cut at once do not return at once.
 * @param {number} attempt
 */
export function backoff(attempt) {
  return Math.min(RESUME_MAX_DELAY_MS, RESUME_FIRST_DELAY_MS * 2 ** attempt) * (0.8 + Math.random() * 0.4);
}

/**
 * Asks the server for a userSig (open login).
 * @param {string} server base URL, without trailing slash
 * @param {string} userID
 * @returns {Promise<{userID?:string, userSig:string, sdkAppID?:number, accountType?:number, iceServers?:RTCIceServer[]}>}
 */
export async function login(server, userID) {
  let res;
  try {
    res = await fetch(server + LOGIN_PATH, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ userID }),
    });
  } catch (err) {
    throw new OpenRoomError('network', `get_login_info failed: ${errorMessage(err)}`);
  }
  /** @type {any} */
  let body = null;
  try {
    body = await res.json();
  } catch {
    throw new OpenRoomError('network', `get_login_info: HTTP ${res.status} without a JSON body`);
  }
  if (!body || typeof body !== 'object') throw new OpenRoomError('protocol', 'get_login_info: bad answer');
  if (body.code !== 0) {
    const msg = body.message ?? body.errMsg ?? body.msg ?? body.error ?? `get_login_info failed (HTTP ${res.status})`;
    throw new OpenRoomError(typeof body.code === 'number' ? body.code : 'protocol', String(msg));
  }
  if (!body.userSig) throw new OpenRoomError('protocol', 'get_login_info: no userSig in the answer');
  return body;
}

/**
 * Closes a socket we no longer listen to.
 * @param {WebSocket} ws
 * @param {string} reason
 */
function closeQuietly(ws, reason) {
  ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
  try {
    ws.close(1000, reason);
  } catch {
    // already closing
  }
}

export class Signal {
  /** @param {Room} room */
  constructor(room) {
    this.room = room;
    /** The room's socket; null while there is none (before join, during a resume). @type {WebSocket|null} */
    this.ws = null;
    /** Set while join waits for `joined`. @type {{resolve:(m:any)=>void, reject:(e:Error)=>void}|null} */
    this.joinWaiter = null;
    /** The server's token to take our session over after the socket drops (from joined/resumed). @type {string|null} */
    this.resumeToken = null;
    /** The last sequence number the server gave a message we handled. */
    this.lastSeq = 0;
    /** How long the server keeps us without a socket (ms, from joined). */
    this.memberTimeout = DEFAULT_MEMBER_TIMEOUT_MS;
    /** When the last frame from the server arrived (ms). */
    this.lastFrameAt = 0;
    /** @type {ReturnType<typeof setInterval>|null} */
    this.heartbeat = null;
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.probeTimer = null;
    /** The next resume (or rejoin) attempt. @type {ReturnType<typeof setTimeout>|null} */
    this.resumeTimer = null;
    /** The node the room lives on when a cluster node sent us there (resumes go there). @type {string|null} */
    this.homeURL = null;
    /** Set while join waits: follows a `redirect`. @type {((msg: any) => void)|null} */
    this.onRedirect = null;
  }

  /** The signaling URL: ws(s)://host/path/ws. */
  url() {
    const base = new URL(this.room.server);
    return `${base.protocol === 'https:' ? 'wss:' : 'ws:'}//${base.host}${base.pathname.replace(/\/+$/, '')}${WS_PATH}`;
  }

  /**
   * @param {Record<string, unknown>} msg
   * @returns {boolean} whether it was handed to the socket
   */
  send(msg) {
    return this.sendFrame(JSON.stringify(msg));
  }

  /**
   * @param {string} frame
   * @returns {boolean} whether it was handed to the socket
   */
  sendFrame(frame) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    try {
      ws.send(frame);
      return true;
    } catch (err) {
      console.warn('openroom: send failed:', errorMessage(err));
      return false;
    }
  }

  /**
   * Opens the WebSocket, sends join, waits for joined (which the room hands
   * to joinWaiter).
   * @param {number} session
   * @param {Record<string, unknown>} join
   * @param {number} timeout
   * @returns {Promise<any>} the joined message
   */
  connect(session, join, timeout) {
    const room = this.room;
    // Every join starts at the server the page was given: in a cluster any
    // node answers, and the node the room lived on may be gone.
    this.homeURL = null;
    return new Promise((resolve, reject) => {
      let settled = false;
      let redirects = 0;
      const timer = setTimeout(() => {
        fail(new OpenRoomError('timeout', `no answer to join within ${timeout} ms`));
      }, timeout);
      /** @param {Error} err */
      const fail = (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.joinWaiter = null;
        this.onRedirect = null;
        reject(err);
      };
      // A node of a cluster answers a join for a room that lives on another
      // node with {type: 'redirect', url}: join there (and resume there later).
      this.onRedirect = (/** @type {any} */ msg) => {
        const url = typeof msg.url === 'string' ? msg.url : '';
        if (!/^wss?:\/\//.test(url)) return fail(new OpenRoomError('redirect', `the server sent us to ${JSON.stringify(url)}, which is no WebSocket URL`));
        if (++redirects > MAX_REDIRECTS) return fail(new OpenRoomError('redirect', `sent on more than ${MAX_REDIRECTS} times (last to ${url}): the cluster disagrees on where the room lives`));
        const old = this.ws;
        this.ws = null; // its close is ours, not a loss
        if (old) closeQuietly(old, 'redirected');
        this.homeURL = url;
        open(url);
      };
      const open = (/** @type {string} */ wsURL) => {
        /** @type {WebSocket} */
        let ws;
        try {
          ws = new WebSocket(wsURL);
        } catch (err) {
          fail(new OpenRoomError('network', `cannot open ${wsURL}: ${errorMessage(err)}`));
          return;
        }
        this.ws = ws;
        ws.onopen = () => {
          if (session !== room._session || this.ws !== ws) return;
          this.send(join);
        };
        ws.onerror = () => {
          // A close event always follows; it carries the details.
        };
        ws.onmessage = (ev) => {
          if (session !== room._session || this.ws !== ws) return;
          this.onFrame(ev.data);
        };
        ws.onclose = (ev) => {
          if (session !== room._session || this.ws !== ws) return;
          this.ws = null;
          if (this.joinWaiter) {
            const why = ev.reason ? `: ${ev.reason}` : '';
            this.joinWaiter.reject(new OpenRoomError('closed', `the server closed the connection (${ev.code})${why}`));
            return;
          }
          this.lost(session, ev.code, ev.reason || 'connection closed');
        };
      };
      this.joinWaiter = {
        resolve: (msg) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.joinWaiter = null;
          this.onRedirect = null;
          resolve(msg);
        },
        reject: fail,
      };
      open(this.url());
    });
  }

  /**
   * Keeps what `joined` says about resuming.
   * @param {any} msg
   */
  joined(msg) {
    this.resumeToken = typeof msg.resumeToken === 'string' ? msg.resumeToken : null;
    this.memberTimeout = typeof msg.memberTimeout === 'number' && msg.memberTimeout > 0 ? msg.memberTimeout : DEFAULT_MEMBER_TIMEOUT_MS;
  }

  startHeartbeat() {
    this.heartbeat = setInterval(() => this.probe(), HEARTBEAT_MS);
  }

  /** A new session: nothing to resume. */
  forget() {
    this.resumeToken = null;
    this.lastSeq = 0;
  }

  /** Closes the socket and stops the heartbeat (a pending resume goes on: stopResuming()). */
  close() {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) closeQuietly(ws, 'bye');
  }

  stopResuming() {
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = null;
  }

  /**
   * Waits `ms` on the resume timer, so that leaving stops it (the promise then
   * never settles: the session it belongs to is over).
   * @param {number} ms
   * @returns {Promise<void>}
   */
  sleep(ms) {
    return new Promise((r) => (this.resumeTimer = setTimeout(r, ms)));
  }

  /**
   * One frame from the server: tracks the last sequence number seen (for a
   * resume) and hands the message to the room.
   * @param {unknown} data
   */
  onFrame(data) {
    /** @type {any} */
    let msg;
    try {
      msg = JSON.parse(typeof data === 'string' ? data : '');
    } catch {
      console.warn('openroom: ignoring a frame that is not JSON');
      return;
    }
    this.lastFrameAt = Date.now();
    if (!msg || typeof msg.type !== 'string') return;
    if (msg.type === 'redirect') {
      if (this.onRedirect) this.onRedirect(msg);
      return;
    }
    // Whiteboard messages carry the board's own seq, not the session's (a resume sends the whole board).
    if (typeof msg.seq === 'number' && msg.seq > this.lastSeq && !isBoardMessage(msg.type)) this.lastSeq = msg.seq;
    try {
      this.room._onMessage(msg);
    } catch (err) {
      console.error('openroom: handling', msg.type, 'failed:', err);
    }
  }

  /**
   * The signaling socket went away while we were in the room. Unless we were
   * kicked, the server keeps us (members, tracks, peer connections) for its
   * member timeout: reconnect with backoff and resume. Media keeps flowing
   * meanwhile; nobody else notices.
   * @param {number} session
   * @param {number} code
   * @param {string} reason
   * @param {boolean} [immediate] the first attempt at once (we dropped a socket that was still open)
   */
  lost(session, code, reason, immediate = false) {
    const room = this.room;
    if (code === 4000 || !this.resumeToken) {
      room._lost(code, reason);
      return;
    }
    const deadline = Date.now() + (this.memberTimeout || DEFAULT_MEMBER_TIMEOUT_MS);
    room._setState('reconnecting');
    room._emit('reconnecting', { reason });
    let attempt = 0;
    const next = () => {
      if (session !== room._session) return;
      if (Date.now() >= deadline) {
        room._rejoin(code, `could not resume before the server's member timeout (${reason})`);
        return;
      }
      if (this.homeURL && attempt >= HOME_RESUME_ATTEMPTS) {
        // The room's node of a cluster may be gone: join again through the
        // server we were given, which places the room anew (or sends us back).
        room._rejoin(code, `the room's node does not answer (${reason})`);
        return;
      }
      const first = attempt === 0;
      const wait = backoff(attempt++);
      const delay = immediate && first ? 0 : wait;
      this.resumeTimer = setTimeout(() => {
        this.resumeTimer = null;
        this.tryResume(session).then((result) => {
          if (session !== room._session) return;
          if (result === 'resumed') return;
          if (result === 'expired') room._rejoin(4011, 'the server no longer has this session (it restarted, or the member timed out)');
          else next();
        });
      }, delay);
    };
    next();
  }

  /**
   * One resume attempt on a new socket.
   * @param {number} session
   * @returns {Promise<'resumed'|'expired'|'retry'>}
   */
  tryResume(session) {
    const room = this.room;
    return new Promise((resolve) => {
      /** @type {WebSocket} */
      let ws;
      try {
        ws = new WebSocket(this.homeURL || this.url());
      } catch {
        resolve('retry');
        return;
      }
      let settled = false;
      /** @param {'resumed'|'expired'|'retry'} r */
      const settle = (r) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (r !== 'resumed') closeQuietly(ws, 'resume failed');
        resolve(r);
      };
      const timer = setTimeout(() => settle('retry'), RESUME_ANSWER_TIMEOUT_MS);
      ws.onopen = () => {
        if (session !== room._session) return settle('retry');
        ws.send(JSON.stringify({ type: 'resume', room: room.room, resumeToken: this.resumeToken, lastSeq: this.lastSeq }));
      };
      ws.onclose = () => settle('retry');
      ws.onmessage = (ev) => {
        if (session !== room._session) return settle('retry');
        /** @type {any} */
        let msg;
        try {
          msg = JSON.parse(typeof ev.data === 'string' ? ev.data : '');
        } catch {
          return;
        }
        if (msg?.type === 'error' && msg.ref === 'resume') return settle(msg.code === CODE_SHUTTING_DOWN ? 'retry' : 'expired');
        if (msg?.type !== 'resumed') return;
        settle('resumed');
        // From here on this is the room's socket: what follows is the replay.
        this.ws = ws;
        if (typeof msg.resumeToken === 'string') this.resumeToken = msg.resumeToken;
        ws.onmessage = (e) => {
          if (session === room._session && this.ws === ws) this.onFrame(e.data);
        };
        ws.onclose = (e) => {
          if (session !== room._session || this.ws !== ws) return;
          this.ws = null;
          this.lost(session, e.code, e.reason || 'connection closed');
        };
        room._resumed();
      };
    });
  }

  /**
   * Sends a heartbeat and gives the socket SOCKET_PROBE_MS to answer (any
   * frame will do); a socket that does not is taken for dead (a TCP connection
   * whose address or path is gone can stay open for minutes) and the session
   * is resumed on a new one.
   */
  probe() {
    const ws = this.ws;
    if (!ws || this.probeTimer) return;
    const session = this.room._session;
    const sentAt = Date.now();
    this.send({ type: 'heartbeat' });
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      if (session !== this.room._session || this.ws !== ws || this.lastFrameAt >= sentAt) return;
      closeQuietly(ws, 'no answer');
      this.ws = null;
      this.lost(session, 1006, 'the server stopped answering');
    }, SOCKET_PROBE_MS);
  }

  /**
   * Drops the socket (after a network change it may look open for minutes
   * while its path is gone) and resumes on a new one at once.
   * @param {string} why
   */
  renew(why) {
    const ws = this.ws;
    if (!ws) return;
    closeQuietly(ws, 'renewing');
    this.ws = null;
    this.lost(this.room._session, 1006, `renewing the signaling socket (${why})`, true);
  }
}
