// Room: one member in one room. It owns the room's state (what the app reads:
// state, members, localStream, ...), runs join, leave and rejoin, hands each
// server message to the module it concerns, and wires the modules:
//
//   signal.js        the WebSocket: frames, heartbeat, resume; get_login_info
//   transport.js     the publisher and subscriber peer connections, ICE restarts
//   participants.js  the other members and their remote streams, speakers, quality
//   adaptive.js      the <video> elements showing remote video -> track_settings
//   local.js         our camera/mic on the publisher, mute, publish, switchDevice
//   devices.js       listing and opening capture devices
//   simulcast.js     our video's layers (encodings, publish_layers)
//   chat.js          in-room chat
//   stats.js         remoteStats()
//
// The public types are in openroom.d.ts.

import { OpenRoomError, errorMessage } from './errors.js';
import { Emitter } from './events.js';
import { CODE_SHUTTING_DOWN, Signal, backoff, login } from './signal.js';
import { Transport } from './transport.js';
import { Participants } from './participants.js';
import { AdaptiveStream } from './adaptive.js';
import { LocalMedia } from './local.js';
import { listDevices, openMedia } from './devices.js';
import { VideoLayers } from './simulcast.js';
import { Board } from './board.js';
import { Chat } from './chat.js';
import { remoteStats } from './stats.js';

/** @typedef {import('./openroom.js').Room} RoomAPI */
/** @typedef {import('./openroom.js').RoomOptions} RoomOptions */
/** @typedef {import('./openroom.js').RoomState} RoomState */
/** @typedef {import('./openroom.js').JoinOptions} JoinOptions */
/** @typedef {import('./openroom.js').JoinResult} JoinResult */
/** @typedef {import('./openroom.js').Member} Member */
/** @typedef {import('./openroom.js').SpeakerInfo} SpeakerInfo */
/** @typedef {import('./openroom.js').ConnectionQuality} ConnectionQuality */
/** @typedef {import('./openroom.js').DeviceList} DeviceList */
/** @typedef {import('./openroom.js').SendOptions} SendOptions */
/** @typedef {import('./openroom.js').ChatMessage} ChatMessage */
/** @typedef {import('./openroom.js').PublishOptions} PublishOptions */
/** @typedef {import('./openroom.js').RemoteMemberStats} RemoteMemberStats */

const DEFAULT_JOIN_TIMEOUT_MS = 15000;
/** How long the SDK tries to join again after the server lost its session (e.g. a restart). */
const REJOIN_GIVE_UP_MS = 60_000;
/** The server's internal error: joining again may work. */
const CODE_INTERNAL = 5000;

/** The origin this module was loaded from (the server that serves /sdk/). */
function defaultServer() {
  try {
    const u = new URL(import.meta.url);
    if (u.protocol === 'http:' || u.protocol === 'https:') return u.origin;
  } catch {
    // fall through
  }
  return globalThis.location ? globalThis.location.origin : 'http://localhost:8080';
}

/**
 * The join message.
 * @param {string} room
 * @param {JoinOptions} opts
 * @param {string|undefined} userSig
 * @returns {Record<string, unknown>}
 */
function joinMessage(room, opts, userSig) {
  /** @type {Record<string, unknown>} */
  const join = { type: 'join', room, userSig };
  if (opts.privateMapKey) join.privateMapKey = opts.privateMapKey;
  if (opts.nickName) join.nickName = opts.nickName;
  return join;
}

/**
 * A member of an openroom room.
 * @implements {RoomAPI}
 */
export class Room extends Emitter {
  /** @param {RoomOptions} [options] */
  constructor(options = {}) {
    super();
    const base = new URL(options.server || defaultServer());
    /** Base URL of the server, without trailing slash. @type {string} */
    this.server = base.origin + base.pathname.replace(/\/+$/, '');
    /** @type {RoomState} */
    this.state = 'disconnected';
    /** Our userID (from join options, confirmed by the server). @type {string|null} */
    this.userID = null;
    /** Room name as joined. @type {string|null} */
    this.room = null;
    /** @type {string|number|null} */
    this.roomID = null;
    /** Privilege bits granted by the server. @type {number} */
    this.privileges = 0;
    /** Remote members (never ourselves), by userID. @type {Map<string, Member>} */
    this.members = new Map();
    /** Our camera/mic. @type {MediaStream|null} */
    this.localStream = null;
    /** @type {RTCPeerConnection|null} */
    this.publisher = null;
    /** @type {RTCPeerConnection|null} */
    this.subscriber = null;

    /** Bumped by every join, leave and loss: async work of an older session stops. */
    this._session = 0;
    /** What join() was called with, to join again after the server lost our session. @type {JoinOptions|null} */
    this._joinOpts = null;
    /** @type {RTCIceServer[]} */
    this._iceServers = [];
    /** ICE servers from join options / get_login_info, for _onJoined. @type {{optIce?:RTCIceServer[], loginIce?:RTCIceServer[]}} */
    this._joinIce = {};

    this._signal = new Signal(this);
    this._transport = new Transport(this);
    this._participants = new Participants(this);
    this._adaptive = new AdaptiveStream(this, options.adaptiveStream !== false);
    this._local = new LocalMedia(this);
    this._layers = new VideoLayers(this);
    this._chat = new Chat(this);
    /** The room's shared whiteboard. */
    this.board = new Board(this);

    // A new network (Wi-Fi -> 4G) or one back online: restart ICE on both connections.
    if (typeof window !== 'undefined' && typeof window.addEventListener === 'function') {
      window.addEventListener('online', () => this._transport.onNetworkChange());
      /** @type {any} */ (globalThis.navigator)?.connection?.addEventListener?.('change', () => this._transport.onNetworkChange());
    }
  }

  /**
   * The members speaking now, loudest first (the server's last `speakers`;
   * it may include ourselves). [] when nobody speaks.
   * @returns {SpeakerInfo[]}
   */
  get activeSpeakers() {
    return this._participants.speakers.map((s) => ({ ...s }));
  }

  /**
   * Connection quality of every member the server rated, ourselves included.
   * @returns {Map<string, ConnectionQuality>}
   */
  get qualities() {
    return new Map(this._participants.quality);
  }

  /** Our own connection quality as the server sees it; null until known. @returns {ConnectionQuality|null} */
  get localQuality() {
    return (this.userID && this._participants.quality.get(this.userID)) || null;
  }

  /** The member whose video is pinned (setPinned), or null. */
  get pinned() {
    return this._adaptive.pinned;
  }

  /** Whether this room reports the size and visibility of remote videos (adaptive stream). */
  get adaptiveStream() {
    return this._adaptive.enabled;
  }

  /** Whether our microphone is muted. */
  get audioMuted() {
    return this._local.audioMuted;
  }

  /** Whether our camera is muted. */
  get videoMuted() {
    return this._local.videoMuted;
  }

  /**
   * @param {number|string} code
   * @param {string} message
   * @param {{ref?: string}} [extra]
   */
  _emitError(code, message, extra) {
    this._emit('error', { code, message, ...extra });
  }

  /** @param {RoomState} state */
  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this._emit('state', { state });
  }

  // ---------------------------------------------------------------------------
  // Devices and our media

  /**
   * Lists media devices by kind. Labels are empty until the page got camera/mic
   * permission once.
   * @returns {Promise<DeviceList>}
   */
  static async listDevices() {
    return listDevices();
  }

  /**
   * Switches the microphone or camera without renegotiation (replaceTrack).
   * If that kind is not published yet, it is added and the publisher renegotiates.
   * @param {'audioinput'|'videoinput'} kind
   * @param {string} deviceId
   * @returns {Promise<MediaStreamTrack>} the new local track
   */
  switchDevice(kind, deviceId) {
    return this._local.switchDevice(kind, deviceId);
  }

  /**
   * Publishes local media after join(): for a member that joined with
   * `audio: false, video: false`, or to add a kind it does not publish yet.
   * Opens the devices (or takes the tracks of `options.stream`); a kind that
   * is already published has its track replaced. Resolves with localStream.
   * `simulcast: false` publishes a camera in one layer; it applies to video
   * published from now on (a replaced track keeps the layers it had).
   * @param {PublishOptions} [options]
   * @returns {Promise<MediaStream>}
   */
  publish(options) {
    return this._local.publish(options);
  }

  /**
   * Shares a screen, window or tab (the browser asks which; call it from a
   * click). It is published as a second video track, source "screen" (and
   * "screen_audio" for its sound, where the browser shares it), in one layer
   * at full resolution, hinted as text: the legacy aux stream, which needs
   * privilege 64 (send aux). Resolves with screenStream; rejects with the
   * browser's NotAllowedError when the picker is cancelled, or OpenRoomError
   * 'state' / 'forbidden' / 'media' / 'aborted'. The browser's own "Stop
   * sharing" calls stopScreen(). Emits `localscreen`.
   * @param {{audio?: boolean, frameRate?: number, contentHint?: string}} [options]
   * @returns {Promise<MediaStream>}
   */
  shareScreen(options) {
    return this._local.shareScreen(options);
  }

  /** Stops sharing the screen; the others see it go. Emits `localscreen` with stream null. */
  stopScreen() {
    this._local.stopScreen();
  }

  /** The screen we share, or null. @returns {MediaStream|null} */
  get screenStream() {
    return this._local.screen;
  }

  /** @param {boolean} muted */
  setAudioMuted(muted) {
    this._local.setMuted('audio', !!muted);
  }

  /** @param {boolean} muted */
  setVideoMuted(muted) {
    this._local.setMuted('video', !!muted);
  }

  muteAudio() {
    this._local.setMuted('audio', true);
  }

  unmuteAudio() {
    this._local.setMuted('audio', false);
  }

  muteVideo() {
    this._local.setMuted('video', true);
  }

  unmuteVideo() {
    this._local.setMuted('video', false);
  }

  // ---------------------------------------------------------------------------
  // Join / leave

  /**
   * Joins a room: gets a userSig if needed, connects the WebSocket and opens
   * camera/mic at the same time, then publishes. State turns `connected` when
   * the server says `joined`; the promise resolves once the camera/mic are also
   * open (or given up on: see the `error` event; the join does not fail for that).
   * @param {JoinOptions} opts
   * @returns {Promise<JoinResult>}
   */
  async join(opts) {
    if (!opts || opts.room == null || opts.room === '') throw new OpenRoomError('param', 'join: room is required');
    if (!opts.userSig && !opts.userID) throw new OpenRoomError('param', 'join: userID (or userSig) is required');
    if (this.state !== 'disconnected') throw new OpenRoomError('state', `join: already ${this.state}`);

    const session = ++this._session;
    this._resetRoom();
    this._joinOpts = opts;
    this._local.simulcast = opts.simulcast !== false;
    this._adaptive.enabled = typeof opts.adaptiveStream === 'boolean' ? opts.adaptiveStream : this._adaptive.byDefault;
    this.room = String(opts.room);
    this.userID = opts.userID ? String(opts.userID) : null;
    this._setState('connecting');
    const check = () => {
      if (session !== this._session) throw new OpenRoomError('aborted', 'join aborted: the room was left');
    };

    // Cameras can take a second to start: open them while we log in and
    // connect, and publish as soon as both are done.
    const media = openMedia(opts, (message) => this._emitError('media', message)).then(
      (stream) => {
        if (session !== this._session) {
          stream.getTracks().forEach((t) => t.stop());
          return;
        }
        this._local.adopt(stream);
      },
      (err) => {
        if (session === this._session) this._emitError('media', `cannot open camera/microphone: ${errorMessage(err)}`);
      },
    );

    try {
      let userSig = opts.userSig;
      /** @type {RTCIceServer[]|undefined} */
      let loginIce;
      if (!userSig) {
        const info = await login(this.server, String(opts.userID));
        check();
        userSig = info.userSig;
        if (info.userID) this.userID = String(info.userID);
        if (Array.isArray(info.iceServers)) loginIce = info.iceServers;
      }

      const join = joinMessage(this.room, opts, userSig);
      const joined = await this._connect(session, join, opts.timeout ?? DEFAULT_JOIN_TIMEOUT_MS, opts.iceServers || undefined, loginIce);
      check();
      await media;
      check();
      return {
        room: joined.room ?? this.room,
        roomID: joined.roomID ?? this.room,
        userID: this.userID ?? '',
        privileges: this.privileges,
        iceServers: this._iceServers,
      };
    } catch (err) {
      if (session === this._session) {
        this._session++; // media still opening is stopped when it arrives
        this._teardown();
        this._setState('disconnected');
      }
      throw err instanceof OpenRoomError ? err : new OpenRoomError('network', errorMessage(err));
    }
  }

  /**
   * Opens the socket, sends join, waits for joined.
   * @param {number} session
   * @param {Record<string, unknown>} join
   * @param {number} timeout
   * @param {RTCIceServer[]|undefined} optIce
   * @param {RTCIceServer[]|undefined} loginIce
   * @returns {Promise<any>}
   */
  _connect(session, join, timeout, optIce, loginIce) {
    this._joinIce = { optIce, loginIce };
    return this._signal.connect(session, join, timeout);
  }

  /**
   * The server lost our session (it restarted, or we were away past its member
   * timeout): join the same room again, with the same camera, microphone and
   * mute state, for up to REJOIN_GIVE_UP_MS. The others see us leave and join.
   * @param {number} code
   * @param {string} reason
   */
  async _rejoin(code, reason) {
    const opts = this._joinOpts;
    if (!opts) {
      this._lost(code, reason);
      return;
    }
    const session = ++this._session;
    this._dropConnection();
    this._participants.removeAll('reconnecting');
    this._signal.forget();
    this._setState('reconnecting');
    const deadline = Date.now() + REJOIN_GIVE_UP_MS;
    for (let attempt = 0; ; attempt++) {
      if (session !== this._session) return;
      try {
        let userSig = opts.userSig;
        /** @type {RTCIceServer[]|undefined} */
        let loginIce;
        if (!userSig) {
          const info = await login(this.server, String(opts.userID));
          userSig = info.userSig;
          if (Array.isArray(info.iceServers)) loginIce = info.iceServers;
        }
        if (session !== this._session) return;
        const join = joinMessage(/** @type {string} */ (this.room), opts, userSig);
        await this._connect(session, join, opts.timeout ?? DEFAULT_JOIN_TIMEOUT_MS, opts.iceServers || undefined, loginIce);
        if (session !== this._session) return;
        this._emit('reconnected', { rejoined: true });
        return;
      } catch (err) {
        if (session !== this._session) return;
        if (err instanceof OpenRoomError && typeof err.code === 'number' && err.code !== CODE_SHUTTING_DOWN && err.code !== CODE_INTERNAL) {
          this._lost(err.code, `rejoining failed: ${err.message}`); // refused for good (token, privileges, room full)
          return;
        }
        this._dropConnection();
        if (Date.now() >= deadline) {
          this._lost(code, `${reason}; rejoining failed: ${errorMessage(err)}`);
          return;
        }
        await this._signal.sleep(backoff(attempt));
      }
    }
  }

  /** The signal client resumed our session on a new socket. */
  _resumed() {
    this._setState('connected');
    this._transport.updateState();
    this._transport.afterResume();
    this._emit('reconnected', {});
  }

  /** Closes the socket and the peer connections; keeps camera, microphone and members. */
  _dropConnection() {
    this._signal.close();
    this._transport.close();
    this.publisher = this.subscriber = null;
    this._local.senders = {};
    this._local.screenTransceivers = []; // a rejoin publishes the shared screen again
    this._adaptive.stop();
    this._layers.pending.clear();
  }

  /**
   * The socket went away while we were in the room.
   * @param {number} code
   * @param {string} reason
   */
  _lost(code, reason) {
    this._session++;
    this._teardown();
    this._setState('disconnected');
    this._emit('disconnected', { code, reason });
  }

  /**
   * Leaves the room: tells the server, closes everything, stops camera/mic.
   * Safe to call at any time (also while join() is pending; join then rejects).
   */
  leave() {
    if (this.state === 'disconnected' && !this._signal.ws) return;
    this._session++;
    this._signal.send({ type: 'leave' });
    if (this._signal.joinWaiter) this._signal.joinWaiter.reject(new OpenRoomError('aborted', 'join aborted: the room was left'));
    this._teardown();
    this._setState('disconnected');
  }

  _resetRoom() {
    this._signal.forget();
    this.members = new Map();
    this._participants.reset();
    this.roomID = null;
    this.privileges = 0;
    this._adaptive.reset();
    this._layers.reset();
    this.board.reset();
  }

  /** Closes socket and peer connections, stops local media. Emits nothing. */
  _teardown() {
    this._signal.stopResuming();
    this._dropConnection();
    this._joinIce = {};
    if (this.localStream) {
      this.localStream.getTracks().forEach((t) => t.stop());
      this.localStream = null;
    }
    if (this._local.screen) {
      this._local.screen.getTracks().forEach((t) => t.stop());
      this._local.screen = null;
    }
    this.members.clear();
    this._participants.trackInfo.clear();
    this._chat.abort();
  }

  // ---------------------------------------------------------------------------
  // Chat

  /**
   * Sends a chat message to the room, or to one member with `to`. Resolves with
   * the message as the server echoed it (its id and time set); rejects with an
   * OpenRoomError carrying the server's code: 4001 (empty or bad fields),
   * 3 (`to` names nobody in the room), 4130 (over 4096 bytes), 4290 (more than
   * 10 messages/s), or 'state' / 'closed' / 'timeout' / 'param'.
   * @param {string} text
   * @param {SendOptions} [options]
   * @returns {Promise<ChatMessage>}
   */
  sendMessage(text, options) {
    return this._chat.sendMessage(text, options);
  }

  /**
   * Sends JSON data (no text) to the room, or to one member with `to`; it
   * arrives as a `message` event whose `data` is set. Same answer as sendMessage().
   * @param {unknown} data
   * @param {{to?: string}} [options]
   * @returns {Promise<ChatMessage>}
   */
  sendData(data, options) {
    return this._chat.sendData(data, options);
  }

  // ---------------------------------------------------------------------------
  // Server messages

  /** @param {any} msg */
  _onMessage(msg) {
    switch (msg.type) {
      case 'joined':
        this._onJoined(msg);
        return;
      case 'error': {
        const code = msg.code ?? 'protocol';
        const message = String(msg.message ?? 'server error');
        const waiter = this._signal.joinWaiter;
        if (waiter) {
          waiter.reject(new OpenRoomError(code, message));
          return;
        }
        if (msg.ref === 'offer') this._transport.publisherOfferFailed();
        if (msg.ref === 'chat' && this._chat.failed(code, message, msg.clientID)) return;
        if (msg.ref === 'track_settings') {
          this._adaptive.refused(code, message);
          return;
        }
        this._emitError(code, message, msg.ref ? { ref: msg.ref } : undefined);
        return;
      }
      case 'kicked':
        this._onKicked(msg);
        return;
      case 'media_lost':
        this._transport.onMediaLost(msg);
        return;
      case 'going_away':
        this._emit('goingaway', { reason: String(msg.reason ?? 'server going away'), within: Number(msg.within) || 0 });
        return;
      default:
        break;
    }
    if (this._signal.joinWaiter || !this._transport.pub) return; // not in the room yet
    switch (msg.type) {
      case 'board':
        this.board.onOp(msg);
        return;
      case 'board_state':
        this.board.onState(msg);
        return;
      case 'answer':
        this._transport.onAnswer(msg);
        break;
      case 'offer':
        this._transport.onOffer(msg);
        break;
      case 'candidate':
        this._transport.onCandidate(msg);
        break;
      case 'member_joined':
        this._participants.onJoined(msg);
        break;
      case 'member_left':
        this._participants.onLeft(msg);
        break;
      case 'track_published':
        this._participants.onTrackPublished(msg);
        break;
      case 'track_unpublished':
        this._participants.onTrackUnpublished(msg);
        break;
      case 'mute':
        this._participants.onMute(msg);
        break;
      case 'chat':
        this._chat.onChat(msg);
        break;
      case 'chat_history':
        this._chat.onHistory(msg);
        break;
      case 'publish_layers':
        this._layers.onPublishLayers(msg);
        break;
      case 'speakers':
        this._participants.onSpeakers(msg);
        break;
      case 'quality':
        this._participants.onQuality(msg);
        break;
      case 'heartbeat':
        break;
      default:
        console.debug('openroom: ignoring message type', msg.type);
    }
  }

  /** @param {any} msg */
  _onJoined(msg) {
    const waiter = this._signal.joinWaiter;
    if (!waiter) return; // duplicate
    if (typeof msg.userID === 'string' && msg.userID) this.userID = msg.userID;
    this._signal.joined(msg);
    this.roomID = msg.roomID ?? this.room;
    this.privileges = typeof msg.privileges === 'number' ? msg.privileges : 0;
    const { optIce, loginIce } = this._joinIce || {};
    this._iceServers = optIce || (Array.isArray(msg.iceServers) ? msg.iceServers : loginIce) || [];

    let pcs;
    try {
      pcs = this._transport.open(this._iceServers);
    } catch (err) {
      waiter.reject(new OpenRoomError('webrtc', `cannot create a peer connection: ${errorMessage(err)}`));
      return;
    }
    this.publisher = pcs.publisher;
    this.subscriber = pcs.subscriber;
    pcs.subscriber.ontrack = (ev) => this._participants.onRemoteTrack(ev);

    for (const m of Array.isArray(msg.members) ? msg.members : []) {
      if (m && typeof m.userID === 'string') this._participants.upsert(m);
    }

    this._signal.startHeartbeat();
    this._transport.startLiveness();
    this._adaptive.start();
    this._setState('connected');
    waiter.resolve(msg);

    if (this._local.audioMuted) this._signal.send({ type: 'mute', kind: 'audio', muted: true });
    if (this._local.videoMuted) this._signal.send({ type: 'mute', kind: 'video', muted: true });

    this._local.publishAll();
  }

  /** @param {any} msg */
  _onKicked(msg) {
    const reason = String(msg.reason ?? 'kicked');
    const code = typeof msg.code === 'number' ? msg.code : 4000;
    const waiter = this._signal.joinWaiter;
    if (waiter) {
      waiter.reject(new OpenRoomError(code, reason));
      return;
    }
    this._session++;
    this._teardown();
    this._setState('disconnected');
    this._emit('kicked', { reason, code });
    this._emit('disconnected', { code: 4000, reason });
  }

  // ---------------------------------------------------------------------------
  // Showing remote media (adaptive stream)

  /**
   * Shows a member's media in `element`: its srcObject is set to the member's
   * stream now and whenever that changes (null while the member has no media),
   * until detach(element) or the member leaves. A <video> is also watched for
   * adaptive stream. (Any <video> whose srcObject holds a member's video is
   * watched too; attach() just makes it explicit.)
   * @template {HTMLMediaElement} E
   * @param {string} userID
   * @param {E} element
   * @returns {E}
   */
  attach(userID, element) {
    return this._adaptive.attach(userID, element);
  }

  /**
   * Undoes attach() (or stops watching an element the SDK found): clears its
   * srcObject if it shows a member's stream.
   * @param {HTMLMediaElement} element
   */
  detach(element) {
    this._adaptive.detach(element);
  }

  /**
   * Pins a member's video (the server gives it priority over the others) or,
   * with null, unpins. Sends `track_settings` with `pinned` at once.
   * @param {string|null} userID
   */
  setPinned(userID) {
    this._adaptive.setPinned(userID);
  }

  // ---------------------------------------------------------------------------
  // Stats

  /**
   * Inbound media statistics per remote member, from subscriber.getStats().
   * Every current member has an entry; `video`/`audio` appear once the
   * browser has stats for that kind.
   * @returns {Promise<Record<string, RemoteMemberStats>>}
   */
  remoteStats() {
    return remoteStats(this.subscriber, this.members);
  }
}

export default Room;
