// openroom browser SDK.
//
// One Room object = one member in one room. It speaks the openroom signaling
// protocol (docs/protocol.md) over a WebSocket and uses two RTCPeerConnections:
// `publisher` (we offer our camera/mic, the server answers) and `subscriber`
// (the server offers everyone else's tracks, we answer).
//
//   import { Room } from '/sdk/openroom.js';
//   const room = new Room();
//   room.on('track', ({ userID, stream }) => { ... });
//   await room.join({ room: 'demo', userID: 'alice' });
//
// In-room chat rides on the same socket:
//
//   room.on('message', (m) => console.log(m.nickName, m.text));   // history too
//   const sent = await room.sendMessage('hello', { to: 'bob' });  // to: optional
//
// Camera video is published with simulcast (up to 3 layers, see
// simulcastEncodings()); the server pauses layers nobody watches (dynacast).
// Adaptive stream: the SDK watches the <video> elements that show remote video
// (room.attach(), or any element whose srcObject holds a remote track) and tells
// the server their size and visibility, so each one gets the layer it needs:
//
//   room.attach('bob', videoElement);            // srcObject kept up to date
//   room.setPinned('bob');                       // priority for bob's video
//   room.on('speakers', (list) => ...);          // [{userID, level}], loudest first
//   room.on('quality', (list) => ...);           // [{userID, quality}]
//
// No dependencies; works in current Chromium, Firefox and Safari.

/** @typedef {'connecting'|'connected'|'reconnecting'|'disconnected'} RoomState */

/**
 * @typedef {object} RoomOptions
 * @property {string} [server] Base URL of the openroom server, e.g. "http://host:8080".
 *   Default: the origin this module was loaded from.
 * @property {boolean} [adaptiveStream=true] Report the size and visibility of the
 *   <video> elements showing remote video (`track_settings`), so the server sends
 *   each the layer it needs and nothing for hidden ones. false: never report
 *   (the server then sends every video at the best layer the link allows).
 */

/**
 * @typedef {object} JoinOptions
 * @property {string|number} room Room number or name ([A-Za-z0-9_-]{1,64}).
 * @property {string} [userID] Required unless userSig is given.
 * @property {string} [nickName]
 * @property {string} [userSig] Token naming the user; fetched from get_login_info when absent.
 * @property {string} [privateMapKey] Room token (required when the server has open_login off).
 * @property {boolean} [audio=true] Publish the microphone.
 * @property {boolean} [video=true] Publish the camera.
 * @property {string} [audioDeviceId]
 * @property {string} [videoDeviceId]
 * @property {RTCIceServer[]} [iceServers] Overrides the servers the server suggests.
 * @property {number} [timeout=15000] Milliseconds to wait for the server's `joined`.
 * @property {boolean} [simulcast=true] Publish the camera in several layers (see simulcastEncodings()).
 * @property {boolean} [adaptiveStream] Overrides RoomOptions.adaptiveStream for this join.
 */

/**
 * @typedef {object} PublishedTrack
 * @property {string} trackID
 * @property {'audio'|'video'} kind
 * @property {string} [codec]
 * @property {boolean} [muted]
 * @property {boolean} [simulcast] Published in several layers.
 * @property {string[]} [rids] The layers' rids, lowest first ([] for a single layer).
 */

/** @typedef {'excellent'|'good'|'poor'|'lost'} ConnectionQuality */

/**
 * @typedef {object} SpeakerInfo
 * @property {string} userID
 * @property {number} level 0..1
 */

/**
 * @typedef {object} QualityInfo
 * @property {string} userID
 * @property {ConnectionQuality} quality
 */

/**
 * @typedef {object} Member
 * @property {string} userID
 * @property {string} nickName
 * @property {'webrtc'|'rtmp'|'http'|string} kind
 * @property {boolean} audioMuted
 * @property {boolean} videoMuted
 * @property {MediaStream|null} stream Remote media of this member; null while it has no track.
 * @property {PublishedTrack[]} tracks What the member publishes (from the server).
 * @property {ConnectionQuality|null} quality Its connection quality (from the server; null until known).
 */

/**
 * @typedef {object} DeviceInfo
 * @property {string} deviceId
 * @property {string} groupId
 * @property {'audioinput'|'videoinput'|'audiooutput'} kind
 * @property {string} label
 */

/**
 * @typedef {object} DeviceList
 * @property {DeviceInfo[]} audioinput
 * @property {DeviceInfo[]} videoinput
 * @property {DeviceInfo[]} audiooutput
 */

/**
 * @typedef {object} RemoteMemberStats
 * @property {{framesDecoded:number, bytesReceived:number, packetsReceived:number}} [video]
 * @property {{packetsReceived:number, bytesReceived:number, audioLevel:number}} [audio]
 */

/**
 * @typedef {object} ChatMessage
 * @property {number} id Server message id, increasing per room.
 * @property {string} from Sender's userID; "" for system messages.
 * @property {string} nickName Sender's nickname (their userID when they have none).
 * @property {string|null} to The recipient's userID for a private message, else null.
 * @property {string} text "" when the message carries only data.
 * @property {unknown} [data] Any JSON the sender attached.
 * @property {number} time Server time in ms.
 * @property {boolean} system Sent by the operator's backend, not a member.
 * @property {boolean} self Sent by us.
 * @property {boolean} history Part of the chat_history the server sent on join.
 * @property {string} [clientID] Only on our own messages: the id sendMessage() gave it.
 */

/**
 * @typedef {object} SendOptions
 * @property {string} [to] userID of the one member to send to (a private message).
 * @property {unknown} [data] Any JSON to attach (sendMessage only).
 */

/**
 * @typedef {object} PublishOptions
 * @property {MediaStream} [stream] Publish these tracks instead of opening devices.
 * @property {boolean} [audio=true] Open and publish the microphone (without `stream`).
 * @property {boolean} [video=true] Open and publish the camera (without `stream`).
 * @property {string} [audioDeviceId]
 * @property {string} [videoDeviceId]
 * @property {boolean} [simulcast=true] Publish a new camera track in several layers.
 */

/**
 * @typedef {object} JoinResult
 * @property {string} room
 * @property {string|number} roomID
 * @property {string} userID
 * @property {number} privileges
 * @property {RTCIceServer[]} iceServers
 */

const HEARTBEAT_MS = 7000;
const DEFAULT_JOIN_TIMEOUT_MS = 15000;
const LOGIN_PATH = '/weapp/webrtc_room/get_login_info';
/** How long sendMessage() waits for the server's echo. */
const CHAT_TIMEOUT_MS = 10000;
/** The server closes the socket on frames over 64 KiB: refuse those before sending. */
const MAX_FRAME_BYTES = 60 * 1024;
const WS_PATH = '/ws';
/** Resume backoff: the first delay, doubling up to the last (each +-20 %). */
const RESUME_FIRST_DELAY_MS = 500;
const RESUME_MAX_DELAY_MS = 4000;
/** How long a resume attempt waits for the server's answer. */
const RESUME_ANSWER_TIMEOUT_MS = 5000;
/** The server's member timeout when joined does not say (the legacy heartbeat window). */
const DEFAULT_MEMBER_TIMEOUT_MS = 20_000;
/** How long the SDK tries to join again after the server lost its session (e.g. a restart). */
const REJOIN_GIVE_UP_MS = 60_000;
/** The server is shutting down (join refused meanwhile: try again). */
const CODE_SHUTTING_DOWN = 5003;
/** A connection still `disconnected` after this long restarts ICE. */
const ICE_RESTART_AFTER_MS = 500;
/** At most one ICE restart per connection this often. */
const ICE_RESTART_MIN_GAP_MS = 3000;
/** A socket that does not answer a heartbeat within this long is taken for dead. */
const SOCKET_PROBE_MS = 3000;
/**
 * A connection that received nothing for this long, after steady traffic, has
 * lost its path (media, RTCP and congestion feedback arrive many times a second;
 * Chromium itself calls the path disconnected only after about 5 s).
 */
const LIVENESS_MS = 1500;
const LIVENESS_CHECK_MS = 250;
/** Traffic seen at every check for this long makes a connection steady... */
const LIVENESS_STEADY_MS = 2000;
/**
 * ...where "every check" allows gaps up to this long: a loaded machine runs the
 * 250 ms checks late, while a connection that gets only keepalives sees gaps of
 * about 2 s.
 */
const LIVENESS_STEADY_GAP_MS = 800;
/** ... for a connection that got only sparse traffic (keepalives) before. */
const LIVENESS_IDLE_MS = 6000;
/** Adaptive stream: track_settings go out this long after the last change... */
const SETTINGS_DEBOUNCE_MS = 250;
/** ...but never later than this after the first one, even while a tile keeps resizing. */
const SETTINGS_MAX_WAIT_MS = 1000;
/** How often the SDK looks for <video> elements showing remote video (and checks the known ones). */
const VIEW_SCAN_MS = 1000;
/** A track_settings the server refused (a track it does not send us yet) is sent again after this. */
const SETTINGS_RETRY_MS = 2000;
/** The largest width/height a track_settings may carry (device pixels). */
const MAX_RENDER_PX = 16384;
/** Simulcast rids, lowest layer first (docs/protocol.md). */
const RIDS = ['q', 'h', 'f'];
/** @type {ReadonlySet<string>} */
const QUALITIES = new Set(['excellent', 'good', 'poor', 'lost']);

/**
 * Error thrown by join()/switchDevice() and passed to `error` listeners.
 * `code` is the server's numeric code (docs/protocol.md) or a string for
 * client-side failures: 'param', 'state', 'network', 'timeout', 'closed',
 * 'aborted', 'media', 'webrtc', 'protocol'.
 */
export class OpenRoomError extends Error {
  /**
   * @param {number|string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'OpenRoomError';
    /** @type {number|string} */
    this.code = code;
  }
}

/** @param {unknown} err */
function errorMessage(err) {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

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
 * Settings for a video no element reports on: visible, and as large as the screen.
 * @returns {{visible: boolean, width: number, height: number, pinned: boolean}}
 */
function unlimited() {
  const dpr = globalThis.devicePixelRatio || 1;
  const scr = globalThis.screen;
  const width = Math.min(MAX_RENDER_PX, Math.round((scr?.width || 1920) * dpr));
  const height = Math.min(MAX_RENDER_PX, Math.round((scr?.height || 1080) * dpr));
  return { visible: true, width, height, pinned: false };
}

/**
 * @param {unknown} el
 * @returns {el is HTMLVideoElement}
 */
function isVideoElement(el) {
  return typeof HTMLVideoElement !== 'undefined' && el instanceof HTMLVideoElement;
}

/**
 * A PublishedTrack from a server track object (track_published or Member.tracks).
 * @param {any} t
 * @returns {PublishedTrack}
 */
function publishedTrack(t) {
  /** @type {PublishedTrack} */
  const out = { trackID: t.trackID, kind: t.kind, codec: t.codec, muted: !!t.muted };
  if (typeof t.simulcast === 'boolean') out.simulcast = t.simulcast;
  if (Array.isArray(t.rids)) out.rids = t.rids.filter((/** @type {unknown} */ r) => typeof r === 'string');
  return out;
}

/**
 * The lines of the m-section of `sdp` whose a=mid is `mid`, or null.
 * @param {string} sdp
 * @param {string} mid
 * @returns {string[]|null}
 */
function sdpSection(sdp, mid) {
  for (const part of sdp.split(/\r?\nm=/).slice(1)) {
    const lines = part.split(/\r?\n/).map((l) => l.trim());
    if (lines.some((l) => l === `a=mid:${mid}`)) return lines;
  }
  return null;
}

/**
 * The bitrate cap of a video layer of the given height (bits/s). The lowest
 * layers are what a weak downlink gets: two 180p videos at 100 kbit/s, with
 * audio and packet overhead, take about 330 kbit/s of a 500 kbit/s link,
 * leaving room for keyframes and resends (at 150 kbit/s the link ran full and
 * every burst overflowed it). Galene's low layer is 100 kbit/s too.
 * @param {number} height
 */
export function layerBitrate(height) {
  if (height <= 180) return 100_000;
  if (height <= 270) return 250_000;
  if (height <= 360) return 600_000;
  if (height <= 540) return 900_000;
  if (height <= 720) return 1_700_000;
  return 2_500_000;
}

/**
 * The send encodings for camera video captured at `height` pixels, lowest
 * layer first: 3 layers (rids q, h, f at 1/4, 1/2 and full size) from 540 up,
 * 2 (q at 1/2, h full) from 360 to 539, and 1 without rid below 360 (or when
 * the height is unknown or simulcast is off).
 * @param {number|undefined} height
 * @param {boolean} [simulcast=true]
 * @returns {RTCRtpEncodingParameters[]}
 */
export function simulcastEncodings(height, simulcast = true) {
  const h = typeof height === 'number' && height > 0 ? height : 0;
  const scales = !simulcast || h < 360 ? [1] : h < 540 ? [2, 1] : [4, 2, 1];
  if (scales.length === 1) {
    /** @type {RTCRtpEncodingParameters} */
    const one = { maxFramerate: 30 };
    if (h > 0) one.maxBitrate = layerBitrate(h);
    return [one];
  }
  return scales.map((scale, i) => ({
    rid: RIDS[i],
    active: true,
    scaleResolutionDownBy: scale,
    maxBitrate: layerBitrate(Math.round(h / scale)),
    maxFramerate: 30,
  }));
}

/**
 * Puts H.264 (packetization-mode=1, constrained baseline 42e01f) first, then
 * the other H.264 variants, then everything else in the browser's order.
 * @param {RTCRtpTransceiver} transceiver
 */
function preferH264(transceiver) {
  if (typeof transceiver.setCodecPreferences !== 'function') return;
  /** @param {RTCRtpCodec} c */
  const rank = (c) => {
    if (c.mimeType.toLowerCase() !== 'video/h264') return 2;
    const fmtp = (c.sdpFmtpLine || '').toLowerCase();
    return fmtp.includes('packetization-mode=1') && fmtp.includes('profile-level-id=42e01f') ? 0 : 1;
  };
  const sources = [globalThis.RTCRtpReceiver, globalThis.RTCRtpSender];
  for (const src of sources) {
    try {
      const caps = src?.getCapabilities?.('video');
      if (!caps || !caps.codecs.some((c) => rank(c) < 2)) continue;
      const sorted = caps.codecs
        .map((c, i) => ({ c, i, r: rank(c) }))
        .sort((a, b) => a.r - b.r || a.i - b.i)
        .map((x) => x.c);
      transceiver.setCodecPreferences(sorted);
      return;
    } catch {
      // Some browsers validate against the other capability list: try it.
    }
  }
}

/**
 * One side of the media (publisher or subscriber): its peer connection, a
 * promise chain that serializes signaling work, and the remote ICE candidates
 * that arrived before the remote description.
 */
class PeerSide {
  /**
   * @param {'publisher'|'subscriber'} target
   * @param {RTCPeerConnection} pc
   */
  constructor(target, pc) {
    this.target = target;
    this.pc = pc;
    /** @type {RTCIceCandidateInit[]} */
    this.pending = [];
    /** @type {Promise<void>} */
    this.chain = Promise.resolve();
    this.negotiating = false;
    this.again = false;
    /** @type {RTCOfferOptions|undefined} */
    this.againOptions = undefined;
    /** When ICE was last restarted (ms). */
    this.restartedAt = 0;
    /** @type {ReturnType<typeof setTimeout>|undefined} */
    this.restartTimer = undefined;
  }

  /**
   * Runs fn after every earlier job; the returned promise carries fn's result
   * or error, the chain itself never rejects.
   * @template T
   * @param {() => Promise<T>|T} fn
   * @returns {Promise<T>}
   */
  run(fn) {
    const p = this.chain.then(fn);
    this.chain = p.then(
      () => {},
      () => {},
    );
    return p;
  }

  async flushCandidates() {
    const list = this.pending;
    this.pending = [];
    for (const c of list) {
      try {
        await this.pc.addIceCandidate(c);
      } catch (err) {
        console.warn(`openroom: ${this.target}: addIceCandidate failed:`, errorMessage(err));
      }
    }
  }
}

/**
 * A member of an openroom room.
 */
export class Room {
  /** @param {RoomOptions} [options] */
  constructor(options = {}) {
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

    /** @type {Map<string, Set<Function>>} */
    this._listeners = new Map();
    // A new network (Wi-Fi -> 4G) or one back online: restart ICE on both connections.
    if (typeof window !== 'undefined' && typeof window.addEventListener === 'function') {
      window.addEventListener('online', () => this._onNetworkChange());
      /** @type {any} */ (globalThis.navigator)?.connection?.addEventListener?.('change', () => this._onNetworkChange());
    }
    this._session = 0;
    this._audioMuted = false;
    this._videoMuted = false;
    /** @type {WebSocket|null} */
    this._ws = null;
    /** @type {PeerSide|null} */
    this._pub = null;
    /** @type {PeerSide|null} */
    this._sub = null;
    /** @type {ReturnType<typeof setInterval>|null} */
    this._heartbeat = null;
    /** The server's token to take our session over after the socket drops (from joined/resumed). @type {string|null} */
    this._resumeToken = null;
    /** The last sequence number the server gave a message we handled. */
    this._lastSeq = 0;
    /** How long the server keeps us without a socket (ms, from joined). */
    this._memberTimeout = DEFAULT_MEMBER_TIMEOUT_MS;
    /** @type {ReturnType<typeof setTimeout>|null} */
    this._resumeTimer = null;
    /** When the last frame from the server arrived (ms). */
    this._lastFrameAt = 0;
    /** When _recoverMedia last renewed the socket (ms). */
    this._renewedAt = 0;
    /** Restart ICE on every connection after the next resume (the network changed). */
    this._restartAll = false;
    /** @type {ReturnType<typeof setTimeout>|null} */
    this._probeTimer = null;
    /** @type {ReturnType<typeof setInterval>|null} */
    this._liveTimer = null;
    /** What join() was called with, to join again after the server lost our session. @type {JoinOptions|null} */
    this._joinOpts = null;
    /** @type {{resolve:(m:any)=>void, reject:(e:Error)=>void}|null} */
    this._joinWaiter = null;
    /** trackID -> {userID, kind} from track_published / member lists. @type {Map<string, {userID:string, kind:string}>} */
    this._trackInfo = new Map();
    /** Remote streams whose removetrack we already watch. @type {WeakSet<MediaStream>} */
    this._watched = new WeakSet();
    /** @type {RTCIceServer[]} */
    this._iceServers = [];
    /** ICE servers from join options / get_login_info, for _onJoined. @type {{optIce?:RTCIceServer[], loginIce?:RTCIceServer[]}} */
    this._joinIce = {};
    /** Our publisher senders by kind. @type {{audio?:RTCRtpSender, video?:RTCRtpSender}} */
    this._senders = {};
    /** Remote tracks whose `ended` we already watch. @type {WeakSet<MediaStreamTrack>} */
    this._watchedTracks = new WeakSet();
    /** Members that left: late tracks of theirs must not bring them back. @type {Set<string>} */
    this._gone = new Set();
    /**
     * Chat messages sent and not answered yet, oldest first: the server answers
     * each with its echo (carrying our clientID) or with an error (ref "chat").
     * @type {Array<{clientID:string, resolve:(m:ChatMessage)=>void, reject:(e:Error)=>void, timer:ReturnType<typeof setTimeout>}>}
     */
    this._chatPending = [];
    this._chatSeq = 0;

    /** adaptiveStream from the constructor; a join may override it. */
    this._adaptiveDefault = options.adaptiveStream !== false;
    /** Whether this session reports track_settings. */
    this._adaptive = this._adaptiveDefault;
    /** Whether new camera tracks are published with simulcast. */
    this._simulcast = true;
    /** The server does not know track_settings (an older server): stop sending them. */
    this._settingsRefused = false;
    /** Latest `speakers`, loudest first. @type {SpeakerInfo[]} */
    this._speakers = [];
    /** Connection quality by userID, ourselves included. @type {Map<string, ConnectionQuality>} */
    this._quality = new Map();
    /** The member whose video we pinned. @type {string|null} */
    this._pinned = null;
    /**
     * <video> elements showing remote video: bound with attach() (userID set)
     * or found on the page (userID null: the owner comes from srcObject).
     * `inView` / `width` / `height` come from the observers; null until they reported.
     * @type {Map<HTMLVideoElement, {userID: string|null, inView: boolean|null, width: number, height: number}>}
     */
    this._views = new Map();
    /** trackID -> the track_settings last sent for it (JSON). @type {Map<string, string>} */
    this._sentSettings = new Map();
    /** trackID -> when a refused track_settings may be sent again (ms). @type {Map<string, number>} */
    this._settingsRetryAt = new Map();
    /** @type {ReturnType<typeof setTimeout>|null} */
    this._settingsTimer = null;
    /** When the pending track_settings flush was first asked for (ms). */
    this._settingsSince = 0;
    /** @type {ReturnType<typeof setInterval>|null} */
    this._scanTimer = null;
    /** @type {IntersectionObserver|null} */
    this._io = null;
    /** @type {ResizeObserver|null} */
    this._ro = null;
    /** @type {(() => void)|null} */
    this._onVisibility = null;
    /** Per publisher sender: the setParameters chain (one call in flight). @type {WeakMap<RTCRtpSender, Promise<void>>} */
    this._paramChains = new WeakMap();
    /** Per publisher sender: the rids publish_layers asked for last. @type {WeakMap<RTCRtpSender, string[]>} */
    this._wantLayers = new WeakMap();
    /** publish_layers for a mid not known yet (applied after the next answer). @type {Map<string, string[]>} */
    this._pendingLayers = new Map();
    /** The capture height and layer count our video was published with. @type {{height:number, layers:number}|null} */
    this._videoPublished = null;
    /** Media elements attach()ed to a member. @type {Map<HTMLMediaElement, string>} */
    this._bound = new Map();
  }

  /**
   * The members speaking now, loudest first (the server's last `speakers`;
   * it may include ourselves). [] when nobody speaks.
   * @returns {SpeakerInfo[]}
   */
  get activeSpeakers() {
    return this._speakers.map((s) => ({ ...s }));
  }

  /**
   * Connection quality of every member the server rated, ourselves included.
   * @returns {Map<string, ConnectionQuality>}
   */
  get qualities() {
    return new Map(this._quality);
  }

  /** Our own connection quality as the server sees it; null until known. @returns {ConnectionQuality|null} */
  get localQuality() {
    return (this.userID && this._quality.get(this.userID)) || null;
  }

  /** The member whose video is pinned (setPinned), or null. */
  get pinned() {
    return this._pinned;
  }

  /** Whether this room reports the size and visibility of remote videos (adaptive stream). */
  get adaptiveStream() {
    return this._adaptive;
  }

  /** Whether our microphone is muted. */
  get audioMuted() {
    return this._audioMuted;
  }

  /** Whether our camera is muted. */
  get videoMuted() {
    return this._videoMuted;
  }

  // ---------------------------------------------------------------------------
  // Events

  /**
   * @param {string} event
   * @param {Function} fn
   * @returns {this}
   */
  on(event, fn) {
    if (typeof fn !== 'function') throw new TypeError('listener must be a function');
    let set = this._listeners.get(event);
    if (!set) this._listeners.set(event, (set = new Set()));
    set.add(fn);
    return this;
  }

  /**
   * @param {string} event
   * @param {Function} fn
   * @returns {this}
   */
  off(event, fn) {
    this._listeners.get(event)?.delete(fn);
    return this;
  }

  /**
   * @param {string} event
   * @param {object} payload
   */
  _emit(event, payload) {
    const set = this._listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn.call(this, payload);
      } catch (err) {
        console.error(`openroom: "${event}" listener threw:`, err);
      }
    }
  }

  /**
   * @param {number|string} code
   * @param {string} message
   * @param {object} [extra]
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
  // Devices

  /**
   * Lists media devices by kind. Labels are empty until the page got camera/mic
   * permission once.
   * @returns {Promise<DeviceList>}
   */
  static async listDevices() {
    /** @type {DeviceList} */
    const out = { audioinput: [], videoinput: [], audiooutput: [] };
    const md = globalThis.navigator?.mediaDevices;
    if (!md?.enumerateDevices) return out;
    const devices = await md.enumerateDevices();
    for (const d of devices) {
      const list = out[/** @type {keyof DeviceList} */ (d.kind)];
      if (list) list.push({ deviceId: d.deviceId, groupId: d.groupId, kind: /** @type {any} */ (d.kind), label: d.label });
    }
    return out;
  }

  /**
   * Switches the microphone or camera without renegotiation (replaceTrack).
   * If that kind is not published yet, it is added and the publisher renegotiates.
   * @param {'audioinput'|'videoinput'} kind
   * @param {string} deviceId
   * @returns {Promise<MediaStreamTrack>} the new local track
   */
  async switchDevice(kind, deviceId) {
    if (kind !== 'audioinput' && kind !== 'videoinput') {
      throw new OpenRoomError('param', `switchDevice: kind must be "audioinput" or "videoinput", not ${JSON.stringify(kind)}`);
    }
    const md = globalThis.navigator?.mediaDevices;
    if (!md?.getUserMedia) throw new OpenRoomError('media', 'getUserMedia is not available (https or localhost needed)');
    if (this.state === 'disconnected') throw new OpenRoomError('state', 'switchDevice: not in a room');
    const stream = this.localStream;
    if (!stream) throw new OpenRoomError('state', 'switchDevice: camera/microphone are still being opened');
    const mediaKind = kind === 'audioinput' ? 'audio' : 'video';
    const session = this._session;
    const old = (mediaKind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks())[0];
    const constraints = this._constraints(mediaKind, deviceId);

    /** @type {MediaStream} */
    let fresh;
    try {
      fresh = await md.getUserMedia({ [mediaKind]: constraints });
    } catch (err) {
      // Some devices cannot open two cameras at once: free the old one and retry.
      if (!old || /** @type {any} */ (err)?.name !== 'NotReadableError') {
        throw new OpenRoomError('media', `cannot open ${mediaKind} device: ${errorMessage(err)}`);
      }
      old.stop();
      try {
        fresh = await md.getUserMedia({ [mediaKind]: constraints });
      } catch (err2) {
        throw new OpenRoomError('media', `cannot open ${mediaKind} device: ${errorMessage(err2)}`);
      }
    }
    const track = (mediaKind === 'audio' ? fresh.getAudioTracks() : fresh.getVideoTracks())[0];
    if (!track) throw new OpenRoomError('media', `no ${mediaKind} track from device ${deviceId}`);
    if (session !== this._session) {
      track.stop();
      throw new OpenRoomError('aborted', 'switchDevice: the room was left meanwhile');
    }
    track.enabled = !(mediaKind === 'audio' ? this._audioMuted : this._videoMuted);
    this._watchLocalTrack(track);

    const pc = this.publisher;
    const sender = this._senders[mediaKind];
    if (pc && sender && pc.connectionState !== 'closed') {
      try {
        await sender.replaceTrack(track);
      } catch (err) {
        track.stop();
        throw new OpenRoomError('webrtc', `replaceTrack failed: ${errorMessage(err)}`);
      }
      if (session !== this._session) {
        track.stop();
        throw new OpenRoomError('aborted', 'switchDevice: the room was left meanwhile');
      }
      if (mediaKind === 'video') this._retuneVideo(sender, track);
    } else if (pc && this._pub && pc.connectionState !== 'closed') {
      // Nothing of this kind is published yet: add it (this one renegotiates).
      if (this._addLocalTrack(track, stream)) this._negotiatePublisher();
    }
    // Before `joined` there is no publisher yet: the new track is published with the stream.

    if (old) {
      stream.removeTrack(old);
      old.stop();
    }
    stream.addTrack(track);
    this._emit('localstream', { stream });
    return track;
  }

  /**
   * @param {'audio'|'video'} kind
   * @param {string} [deviceId]
   * @returns {MediaTrackConstraints|boolean}
   */
  _constraints(kind, deviceId) {
    if (kind === 'audio') {
      return deviceId ? { deviceId: { exact: deviceId } } : true;
    }
    /** @type {MediaTrackConstraints} */
    const c = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };
    if (deviceId) c.deviceId = { exact: deviceId };
    return c;
  }

  /** @param {MediaStreamTrack} track */
  _watchLocalTrack(track) {
    track.addEventListener('ended', () => {
      if (this.localStream?.getTracks().includes(track) && this.state !== 'disconnected') {
        this._emitError('media', `the ${track.kind === 'audio' ? 'microphone' : 'camera'} stopped (${track.label || 'device'} ended)`);
      }
    });
  }

  /**
   * Opens camera/mic as asked; falls back to what works (and reports an
   * `error` event) rather than failing the join.
   * @param {JoinOptions} opts
   * @returns {Promise<MediaStream>}
   */
  async _getMedia(opts) {
    const wantAudio = opts.audio !== false;
    const wantVideo = opts.video !== false;
    const stream = new MediaStream();
    if (!wantAudio && !wantVideo) return stream;
    const md = globalThis.navigator?.mediaDevices;
    if (!md?.getUserMedia) {
      this._emitError('media', 'camera and microphone need a secure page (https or localhost); joining without them');
      return stream;
    }
    /** @type {Array<{audio?:any, video?:any}>} */
    const attempts = [];
    const audio = wantAudio ? this._constraints('audio', opts.audioDeviceId) : undefined;
    const video = wantVideo ? this._constraints('video', opts.videoDeviceId) : undefined;
    if (audio && video) attempts.push({ audio, video }, { audio }, { video });
    else if (audio) attempts.push({ audio });
    else attempts.push({ video });
    /** @type {unknown} */
    let firstErr = null;
    for (const c of attempts) {
      try {
        const got = await md.getUserMedia(c);
        if (firstErr) {
          this._emitError('media', `could not open ${audio && video ? 'camera and microphone' : c.audio ? 'microphone' : 'camera'} together (${errorMessage(firstErr)}); publishing ${c.audio ? 'audio' : 'video'} only`);
        }
        return got;
      } catch (err) {
        firstErr ??= err;
      }
    }
    this._emitError('media', `cannot open camera/microphone (${errorMessage(firstErr)}); joining without them`);
    return stream;
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
    this._simulcast = opts.simulcast !== false;
    this._adaptive = typeof opts.adaptiveStream === 'boolean' ? opts.adaptiveStream : this._adaptiveDefault;
    this.room = String(opts.room);
    this.userID = opts.userID ? String(opts.userID) : null;
    this._setState('connecting');
    const check = () => {
      if (session !== this._session) throw new OpenRoomError('aborted', 'join aborted: the room was left');
    };

    // Cameras can take a second to start: open them while we log in and
    // connect, and publish as soon as both are done.
    const media = this._getMedia(opts).then(
      (stream) => {
        if (session !== this._session) {
          stream.getTracks().forEach((t) => t.stop());
          return;
        }
        stream.getAudioTracks().forEach((t) => (t.enabled = !this._audioMuted));
        stream.getVideoTracks().forEach((t) => (t.enabled = !this._videoMuted));
        stream.getTracks().forEach((t) => this._watchLocalTrack(t));
        this.localStream = stream;
        this._emit('localstream', { stream });
        if (this._pub) this._publishLocal();
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
        const info = await this._login(String(opts.userID));
        check();
        userSig = info.userSig;
        if (info.userID) this.userID = String(info.userID);
        if (Array.isArray(info.iceServers)) loginIce = info.iceServers;
      }

      /** @type {Record<string, unknown>} */
      const join = { type: 'join', room: this.room, userSig };
      if (opts.privateMapKey) join.privateMapKey = opts.privateMapKey;
      if (opts.nickName) join.nickName = opts.nickName;
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
   * @param {string} userID
   * @returns {Promise<{userID?:string, userSig:string, sdkAppID?:number, accountType?:number, iceServers?:RTCIceServer[]}>}
   */
  async _login(userID) {
    let res;
    try {
      res = await fetch(this.server + LOGIN_PATH, {
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
   * Opens the WebSocket, sends join, waits for joined.
   * @param {number} session
   * @param {Record<string, unknown>} join
   * @param {number} timeout
   * @param {RTCIceServer[]|undefined} optIce
   * @param {RTCIceServer[]|undefined} loginIce
   * @returns {Promise<any>}
   */
  _connect(session, join, timeout, optIce, loginIce) {
    return new Promise((resolve, reject) => {
      const wsURL = this._wsURL();
      /** @type {WebSocket} */
      let ws;
      try {
        ws = new WebSocket(wsURL);
      } catch (err) {
        reject(new OpenRoomError('network', `cannot open ${wsURL}: ${errorMessage(err)}`));
        return;
      }
      this._ws = ws;
      let settled = false;
      const timer = setTimeout(() => {
        fail(new OpenRoomError('timeout', `no answer to join within ${timeout} ms`));
      }, timeout);
      /** @param {Error} err */
      const fail = (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this._joinWaiter = null;
        reject(err);
      };
      this._joinWaiter = {
        resolve: (msg) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this._joinWaiter = null;
          resolve(msg);
        },
        reject: fail,
      };
      this._joinIce = { optIce, loginIce };

      ws.onopen = () => {
        if (session !== this._session) return;
        this._send(join);
      };
      ws.onerror = () => {
        // A close event always follows; it carries the details.
      };
      ws.onmessage = (ev) => {
        if (session !== this._session || this._ws !== ws) return;
        this._onFrame(ev.data);
      };
      ws.onclose = (ev) => {
        if (session !== this._session || this._ws !== ws) return;
        this._ws = null;
        if (this._joinWaiter) {
          const why = ev.reason ? `: ${ev.reason}` : '';
          this._joinWaiter.reject(new OpenRoomError('closed', `the server closed the connection (${ev.code})${why}`));
          return;
        }
        this._socketLost(session, ev.code, ev.reason || 'connection closed');
      };
    });
  }

  /** The signaling URL: ws(s)://host/path/ws. */
  _wsURL() {
    const base = new URL(this.server);
    return `${base.protocol === 'https:' ? 'wss:' : 'ws:'}//${base.host}${base.pathname.replace(/\/+$/, '')}${WS_PATH}`;
  }

  /**
   * One frame from the server: tracks the last sequence number seen (for a
   * resume) and handles the message.
   * @param {unknown} data
   */
  _onFrame(data) {
    /** @type {any} */
    let msg;
    try {
      msg = JSON.parse(typeof data === 'string' ? data : '');
    } catch {
      console.warn('openroom: ignoring a frame that is not JSON');
      return;
    }
    this._lastFrameAt = Date.now();
    if (!msg || typeof msg.type !== 'string') return;
    if (typeof msg.seq === 'number' && msg.seq > this._lastSeq) this._lastSeq = msg.seq;
    try {
      this._onMessage(msg);
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
  _socketLost(session, code, reason, immediate = false) {
    if (code === 4000 || !this._resumeToken) {
      this._lost(code, reason);
      return;
    }
    const deadline = Date.now() + (this._memberTimeout || DEFAULT_MEMBER_TIMEOUT_MS);
    this._setState('reconnecting');
    this._emit('reconnecting', { reason });
    let attempt = 0;
    const next = () => {
      if (session !== this._session) return;
      if (Date.now() >= deadline) {
        this._rejoin(code, `could not resume before the server's member timeout (${reason})`);
        return;
      }
      // About 0.5, 1, 2, 4, 4... s, +-20 %: many members cut at once do not return at once.
      const first = attempt === 0;
      const backoff = Math.min(RESUME_MAX_DELAY_MS, RESUME_FIRST_DELAY_MS * 2 ** attempt++) * (0.8 + Math.random() * 0.4);
      const delay = immediate && first ? 0 : backoff;
      this._resumeTimer = setTimeout(() => {
        this._resumeTimer = null;
        this._tryResume(session).then((result) => {
          if (session !== this._session) return;
          if (result === 'resumed') return;
          if (result === 'expired') this._rejoin(4011, 'the server no longer has this session (it restarted, or the member timed out)');
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
  _tryResume(session) {
    return new Promise((resolve) => {
      /** @type {WebSocket} */
      let ws;
      try {
        ws = new WebSocket(this._wsURL());
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
        if (r !== 'resumed') {
          ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
          try {
            ws.close(1000, 'resume failed');
          } catch {
            // already closed
          }
        }
        resolve(r);
      };
      const timer = setTimeout(() => settle('retry'), RESUME_ANSWER_TIMEOUT_MS);
      ws.onopen = () => {
        if (session !== this._session) return settle('retry');
        ws.send(JSON.stringify({ type: 'resume', room: this.room, resumeToken: this._resumeToken, lastSeq: this._lastSeq }));
      };
      ws.onclose = () => settle('retry');
      ws.onmessage = (ev) => {
        if (session !== this._session) return settle('retry');
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
        this._ws = ws;
        if (typeof msg.resumeToken === 'string') this._resumeToken = msg.resumeToken;
        ws.onmessage = (e) => {
          if (session === this._session && this._ws === ws) this._onFrame(e.data);
        };
        ws.onclose = (e) => {
          if (session !== this._session || this._ws !== ws) return;
          this._ws = null;
          this._socketLost(session, e.code, e.reason || 'connection closed');
        };
        this._setState('connected');
        this._updateMediaState();
        this._afterResume();
        this._emit('reconnected', {});
      };
    });
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
    for (const id of [...this.members.keys()]) this._removeMember(id, 'reconnecting');
    this._gone.clear();
    this._resumeToken = null;
    this._lastSeq = 0;
    this._setState('reconnecting');
    const deadline = Date.now() + REJOIN_GIVE_UP_MS;
    for (let attempt = 0; ; attempt++) {
      if (session !== this._session) return;
      try {
        let userSig = opts.userSig;
        /** @type {RTCIceServer[]|undefined} */
        let loginIce;
        if (!userSig) {
          const info = await this._login(String(opts.userID));
          userSig = info.userSig;
          if (Array.isArray(info.iceServers)) loginIce = info.iceServers;
        }
        if (session !== this._session) return;
        /** @type {Record<string, unknown>} */
        const join = { type: 'join', room: this.room, userSig };
        if (opts.privateMapKey) join.privateMapKey = opts.privateMapKey;
        if (opts.nickName) join.nickName = opts.nickName;
        await this._connect(session, join, opts.timeout ?? DEFAULT_JOIN_TIMEOUT_MS, opts.iceServers || undefined, loginIce);
        if (session !== this._session) return;
        this._emit('reconnected', { rejoined: true });
        return;
      } catch (err) {
        if (session !== this._session) return;
        if (err instanceof OpenRoomError && typeof err.code === 'number' && err.code !== CODE_SHUTTING_DOWN && err.code !== 5000) {
          this._lost(err.code, `rejoining failed: ${err.message}`); // refused for good (token, privileges, room full)
          return;
        }
        this._dropConnection();
        if (Date.now() >= deadline) {
          this._lost(code, `${reason}; rejoining failed: ${errorMessage(err)}`);
          return;
        }
        const delay = Math.min(RESUME_MAX_DELAY_MS, RESUME_FIRST_DELAY_MS * 2 ** attempt) * (0.8 + Math.random() * 0.4);
        await new Promise((r) => (this._resumeTimer = setTimeout(r, delay)));
      }
    }
  }

  /**
   * Watches that packets still arrive on each connection's selected path: the
   * server sends something every few hundred ms (media, RTCP, transport-cc
   * feedback, ICE keepalives), so LIVENESS_MS of silence means the path is gone
   * (a network change), seconds before the browser calls it `disconnected`.
   */
  _startLiveness() {
    if (this._liveTimer) clearInterval(this._liveTimer);
    /** @type {WeakMap<RTCPeerConnection, {packets:number, at:number, steadySince:number}>} */
    const seen = new WeakMap();
    let checking = false; // a slow getStats must not let two checks interleave
    this._liveTimer = setInterval(async () => {
      if (checking) return;
      checking = true;
      try {
        await check();
      } finally {
        checking = false;
      }
    }, LIVENESS_CHECK_MS);
    const check = async () => {
      for (const side of [this._pub, this._sub]) {
        if (!side) continue;
        const pc = side.pc;
        if ((pc.connectionState ?? pc.iceConnectionState) !== 'connected') {
          seen.delete(pc);
          continue;
        }
        let packets = -1; // bytes, in fact: what the transport received
        try {
          (await pc.getStats()).forEach((r) => {
            if (r.type === 'transport' && typeof r.bytesReceived === 'number') packets = Math.max(packets, r.bytesReceived);
          });
        } catch {
          continue;
        }
        if (packets < 0 || side !== this._pub && side !== this._sub) continue;
        const now = Date.now();
        const last = seen.get(pc);
        // A connection that had traffic at every check (media, RTCP, feedback) for
        // LIVENESS_STEADY_MS and then none for LIVENESS_MS has lost its path; one
        // that only gets keepalives (every 2 s) is given longer.
        if (!last || packets !== last.packets) {
          const steadySince = last && now - last.at <= LIVENESS_STEADY_GAP_MS ? last.steadySince : now;
          seen.set(pc, { packets, at: now, steadySince });
        } else if (now - last.at >= (last.at - last.steadySince >= LIVENESS_STEADY_MS ? LIVENESS_MS : LIVENESS_IDLE_MS)) {
          seen.delete(pc);
          this._recoverMedia(`${side.target}: nothing received for ${now - last.at} ms`, true);
        }
      }
    };
  }

  /** Closes the socket and the peer connections; keeps camera, microphone and members. */
  _dropConnection() {
    if (this._heartbeat) clearInterval(this._heartbeat);
    this._heartbeat = null;
    if (this._liveTimer) clearInterval(this._liveTimer);
    this._liveTimer = null;
    if (this._probeTimer) clearTimeout(this._probeTimer);
    this._probeTimer = null;
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      try {
        ws.close(1000, 'bye');
      } catch {
        // already closing
      }
    }
    for (const side of [this._pub, this._sub]) {
      if (!side) continue;
      clearTimeout(side.restartTimer);
      const pc = side.pc;
      pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = pc.oniceconnectionstatechange = null;
      try {
        pc.close();
      } catch {
        // ignore
      }
    }
    this._pub = this._sub = null;
    this.publisher = this.subscriber = null;
    this._senders = {};
    this._stopAdaptive();
    this._pendingLayers.clear();
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
    if (this.state === 'disconnected' && !this._ws) return;
    this._session++;
    this._send({ type: 'leave' });
    if (this._joinWaiter) this._joinWaiter.reject(new OpenRoomError('aborted', 'join aborted: the room was left'));
    this._teardown();
    this._setState('disconnected');
  }

  _resetRoom() {
    this._resumeToken = null;
    this._lastSeq = 0;
    this.members = new Map();
    this._trackInfo = new Map();
    this._gone = new Set();
    this.roomID = null;
    this.privileges = 0;
    this._speakers = [];
    this._quality = new Map();
    this._pinned = null;
    this._sentSettings = new Map();
    this._settingsRetryAt = new Map();
    this._pendingLayers = new Map();
    this._videoPublished = null;
    this._settingsRefused = false;
  }

  /** Closes socket and peer connections, stops local media. Emits nothing. */
  _teardown() {
    if (this._resumeTimer) clearTimeout(this._resumeTimer);
    this._resumeTimer = null;
    this._dropConnection();
    this._joinIce = {};
    if (this.localStream) {
      this.localStream.getTracks().forEach((t) => t.stop());
      this.localStream = null;
    }
    this.members.clear();
    this._trackInfo.clear();
    const pending = this._chatPending;
    this._chatPending = [];
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new OpenRoomError('closed', 'the room was left before the server confirmed the message'));
    }
  }

  /**
   * @param {Record<string, unknown>} msg
   * @returns {boolean} whether it was handed to the socket
   */
  _send(msg) {
    return this._sendFrame(JSON.stringify(msg));
  }

  /**
   * @param {string} frame
   * @returns {boolean} whether it was handed to the socket
   */
  _sendFrame(frame) {
    const ws = this._ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    try {
      ws.send(frame);
      return true;
    } catch (err) {
      console.warn('openroom: send failed:', errorMessage(err));
      return false;
    }
  }

  // ---------------------------------------------------------------------------
  // Mute

  /** @param {boolean} muted */
  setAudioMuted(muted) {
    this._setMuted('audio', !!muted);
  }

  /** @param {boolean} muted */
  setVideoMuted(muted) {
    this._setMuted('video', !!muted);
  }

  muteAudio() {
    this._setMuted('audio', true);
  }

  unmuteAudio() {
    this._setMuted('audio', false);
  }

  muteVideo() {
    this._setMuted('video', true);
  }

  unmuteVideo() {
    this._setMuted('video', false);
  }

  /**
   * @param {'audio'|'video'} kind
   * @param {boolean} muted
   */
  _setMuted(kind, muted) {
    if (kind === 'audio') this._audioMuted = muted;
    else this._videoMuted = muted;
    const tracks = this.localStream ? (kind === 'audio' ? this.localStream.getAudioTracks() : this.localStream.getVideoTracks()) : [];
    tracks.forEach((t) => (t.enabled = !muted));
    if (this.state === 'connected' || this.state === 'reconnecting') this._send({ type: 'mute', kind, muted });
    this._emit('mute', { userID: this.userID, kind, muted, local: true });
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
    const opts = options || {};
    if (typeof text !== 'string') return Promise.reject(new OpenRoomError('param', 'sendMessage: text must be a string'));
    /** @type {Record<string, unknown>} */
    const fields = {};
    if (text !== '') fields.text = text;
    if (opts.data !== undefined) fields.data = opts.data;
    if (fields.text === undefined && fields.data === undefined) {
      return Promise.reject(new OpenRoomError('param', 'sendMessage: the message is empty'));
    }
    return this._sendChat(fields, opts.to);
  }

  /**
   * Sends JSON data (no text) to the room, or to one member with `to`; it
   * arrives as a `message` event whose `data` is set. Same answer as sendMessage().
   * @param {unknown} data
   * @param {{to?: string}} [options]
   * @returns {Promise<ChatMessage>}
   */
  sendData(data, options) {
    if (data === undefined) return Promise.reject(new OpenRoomError('param', 'sendData: data is required'));
    return this._sendChat({ data }, (options || {}).to);
  }

  /**
   * @param {Record<string, unknown>} fields
   * @param {unknown} to
   * @returns {Promise<ChatMessage>}
   */
  _sendChat(fields, to) {
    if (this.state === 'disconnected' || this._joinWaiter || !this._pub || !this._ws) {
      return Promise.reject(new OpenRoomError('state', 'not in a room: join first'));
    }
    if (to != null && to !== '') fields.to = String(to);
    const clientID = `${Date.now().toString(36)}-${++this._chatSeq}`;
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
          this._chatPending = this._chatPending.filter((p) => p !== entry);
          reject(new OpenRoomError('timeout', `the server did not confirm the message within ${CHAT_TIMEOUT_MS} ms`));
        }, CHAT_TIMEOUT_MS),
      };
      this._chatPending.push(entry);
      if (!this._sendFrame(frame)) {
        clearTimeout(entry.timer);
        this._chatPending = this._chatPending.filter((p) => p !== entry);
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
  _chatFailed(code, message, clientID) {
    let i = typeof clientID === 'string' ? this._chatPending.findIndex((p) => p.clientID === clientID) : -1;
    if (i < 0 && this._chatPending.length > 0) i = 0;
    if (i < 0) return false;
    const [entry] = this._chatPending.splice(i, 1);
    clearTimeout(entry.timer);
    const err = new OpenRoomError(code, message);
    /** @type {any} */ (err).ref = 'chat';
    entry.reject(err);
    return true;
  }

  /**
   * @param {any} m a server chat object
   * @param {boolean} history
   * @returns {ChatMessage|null}
   */
  _chatMessage(m, history) {
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
      self: from !== '' && from === this.userID,
      history,
    };
    if (m.data !== undefined) out.data = m.data;
    if (typeof m.clientID === 'string') out.clientID = m.clientID;
    return out;
  }

  /** @param {any} msg */
  _onChat(msg) {
    const m = this._chatMessage(msg, false);
    if (!m) return;
    if (m.clientID) {
      const i = this._chatPending.findIndex((p) => p.clientID === m.clientID);
      if (i >= 0) {
        const [entry] = this._chatPending.splice(i, 1);
        clearTimeout(entry.timer);
        entry.resolve(m);
      }
    }
    this._emit('message', m);
  }

  /** @param {any} msg */
  _onChatHistory(msg) {
    const list = Array.isArray(msg.messages) ? msg.messages : [];
    /** @type {ChatMessage[]} */
    const messages = [];
    for (const item of list) {
      const m = this._chatMessage(item, true);
      if (m) messages.push(m);
    }
    this._emit('history', { messages });
    for (const m of messages) this._emit('message', m);
  }

  // ---------------------------------------------------------------------------
  // Publishing later

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
  async publish(options) {
    const opts = options || {};
    if (this.state === 'disconnected' || this._joinWaiter || !this._pub) {
      throw new OpenRoomError('state', 'publish: join a room first');
    }
    if (typeof opts.simulcast === 'boolean') this._simulcast = opts.simulcast;
    const session = this._session;
    const given = opts.stream || null;
    /** @type {MediaStream} */
    let fresh;
    if (given) {
      fresh = given;
    } else {
      const wantAudio = opts.audio !== false;
      const wantVideo = opts.video !== false;
      if (!wantAudio && !wantVideo) throw new OpenRoomError('param', 'publish: neither audio nor video asked for');
      const md = globalThis.navigator?.mediaDevices;
      if (!md?.getUserMedia) throw new OpenRoomError('media', 'getUserMedia is not available (https or localhost needed)');
      try {
        fresh = await md.getUserMedia({
          audio: wantAudio ? this._constraints('audio', opts.audioDeviceId) : false,
          video: wantVideo ? this._constraints('video', opts.videoDeviceId) : false,
        });
      } catch (err) {
        throw new OpenRoomError('media', `cannot open camera/microphone: ${errorMessage(err)}`);
      }
    }
    if (session !== this._session) {
      if (!given) fresh.getTracks().forEach((t) => t.stop());
      throw new OpenRoomError('aborted', 'publish: the room was left meanwhile');
    }
    const stream = this.localStream || (this.localStream = new MediaStream());
    for (const track of fresh.getTracks()) {
      const kind = /** @type {'audio'|'video'} */ (track.kind);
      const old = stream.getTracks().find((t) => t.kind === kind);
      if (old === track) continue;
      track.enabled = !(kind === 'audio' ? this._audioMuted : this._videoMuted);
      this._watchLocalTrack(track);
      const sender = this._senders[kind];
      if (sender) {
        try {
          await sender.replaceTrack(track);
        } catch (err) {
          throw new OpenRoomError('webrtc', `replaceTrack failed: ${errorMessage(err)}`);
        }
        if (session !== this._session) throw new OpenRoomError('aborted', 'publish: the room was left meanwhile');
        if (kind === 'video') this._retuneVideo(sender, track);
      }
      if (old) {
        stream.removeTrack(old);
        old.stop();
      }
      stream.addTrack(track);
    }
    this._publishLocal();
    this._emit('localstream', { stream });
    return stream;
  }

  // ---------------------------------------------------------------------------
  // Signaling

  /** @param {any} msg */
  _onMessage(msg) {
    switch (msg.type) {
      case 'joined':
        this._onJoined(msg);
        return;
      case 'error': {
        const code = msg.code ?? 'protocol';
        const message = String(msg.message ?? 'server error');
        if (this._joinWaiter) {
          const w = this._joinWaiter;
          w.reject(new OpenRoomError(code, message));
          return;
        }
        if (msg.ref === 'offer' && this._pub) this._publisherOfferFailed();
        if (msg.ref === 'chat' && this._chatFailed(code, message, msg.clientID)) return;
        if (msg.ref === 'track_settings') {
          // Adaptive stream is best effort: a track that just went away, or a
          // server without adaptive stream (then stop asking), is no error for the app.
          if (code === 4002) this._settingsRefused = true;
          else this._settingsFailed(message);
          console.debug('openroom: track_settings refused:', message);
          return;
        }
        this._emitError(code, message, msg.ref ? { ref: msg.ref } : undefined);
        return;
      }
      case 'kicked':
        this._onKicked(msg);
        return;
      case 'media_lost': {
        // The server stopped hearing from one of our connections (consent failed on its
        // side): our socket works, so restart ICE on it at once.
        const side = msg.target === 'publisher' ? this._pub : msg.target === 'subscriber' ? this._sub : null;
        if (side) this._restartIce(side, `the server lost it (${msg.state ?? 'disconnected'})`);
        return;
      }
      case 'going_away':
        this._emit('goingaway', { reason: String(msg.reason ?? 'server going away'), within: Number(msg.within) || 0 });
        return;
      default:
        break;
    }
    if (this._joinWaiter || !this._pub) return; // not in the room yet
    switch (msg.type) {
      case 'answer':
        this._onAnswer(msg);
        break;
      case 'offer':
        this._onOffer(msg);
        break;
      case 'candidate':
        this._onCandidate(msg);
        break;
      case 'member_joined':
        if (msg.member && typeof msg.member.userID === 'string') {
          this._gone.delete(msg.member.userID);
          this._upsertMember(msg.member);
        }
        break;
      case 'member_left':
        if (typeof msg.userID === 'string') this._removeMember(msg.userID, msg.reason ?? 'left');
        break;
      case 'track_published':
        this._onTrackPublished(msg);
        break;
      case 'track_unpublished':
        this._onTrackUnpublished(msg);
        break;
      case 'mute':
        this._onRemoteMute(msg);
        break;
      case 'chat':
        this._onChat(msg);
        break;
      case 'chat_history':
        this._onChatHistory(msg);
        break;
      case 'publish_layers':
        this._onPublishLayers(msg);
        break;
      case 'speakers':
        this._onSpeakers(msg);
        break;
      case 'quality':
        this._onQuality(msg);
        break;
      case 'heartbeat':
        break;
      default:
        console.debug('openroom: ignoring message type', msg.type);
    }
  }

  /** @param {any} msg */
  _onJoined(msg) {
    const waiter = this._joinWaiter;
    if (!waiter) return; // duplicate
    if (typeof msg.userID === 'string' && msg.userID) this.userID = msg.userID;
    this._resumeToken = typeof msg.resumeToken === 'string' ? msg.resumeToken : null;
    this._memberTimeout = typeof msg.memberTimeout === 'number' && msg.memberTimeout > 0 ? msg.memberTimeout : DEFAULT_MEMBER_TIMEOUT_MS;
    this.roomID = msg.roomID ?? this.room;
    this.privileges = typeof msg.privileges === 'number' ? msg.privileges : 0;
    const { optIce, loginIce } = this._joinIce || {};
    this._iceServers = optIce || (Array.isArray(msg.iceServers) ? msg.iceServers : loginIce) || [];

    /** @type {RTCConfiguration} */
    const config = { iceServers: this._iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };
    let pubPC;
    let subPC;
    try {
      pubPC = new RTCPeerConnection(config);
      subPC = new RTCPeerConnection(config);
    } catch (err) {
      pubPC?.close();
      waiter.reject(new OpenRoomError('webrtc', `cannot create a peer connection: ${errorMessage(err)}`));
      return;
    }
    this._pub = new PeerSide('publisher', pubPC);
    this._sub = new PeerSide('subscriber', subPC);
    this.publisher = pubPC;
    this.subscriber = subPC;
    for (const side of [this._pub, this._sub]) this._wirePeer(side);
    subPC.ontrack = (ev) => this._onRemoteTrack(ev);

    for (const m of Array.isArray(msg.members) ? msg.members : []) {
      if (m && typeof m.userID === 'string') this._upsertMember(m);
    }

    this._heartbeat = setInterval(() => this._probeSocket(), HEARTBEAT_MS);
    this._startLiveness();
    this._startAdaptive();
    this._setState('connected');
    waiter.resolve(msg);

    if (this._audioMuted) this._send({ type: 'mute', kind: 'audio', muted: true });
    if (this._videoMuted) this._send({ type: 'mute', kind: 'video', muted: true });

    this._publishLocal();
  }

  /** Publishes the local tracks not published yet (one per kind). */
  _publishLocal() {
    const stream = this.localStream;
    if (!stream || !this.publisher) return;
    let added = 0;
    for (const track of stream.getTracks()) {
      if (this._addLocalTrack(track, stream)) added++;
    }
    if (added > 0) this._negotiatePublisher();
  }

  /**
   * Adds a sendonly transceiver for one of our tracks to the publisher.
   * @param {MediaStreamTrack} track
   * @param {MediaStream} stream
   * @returns {boolean}
   */
  _addLocalTrack(track, stream) {
    const pc = this.publisher;
    if (!pc) return false;
    const kind = /** @type {'audio'|'video'} */ (track.kind);
    if (this._senders[kind]) return false; // one track per kind
    try {
      /** @type {RTCRtpTransceiverInit} */
      const init = { direction: 'sendonly', streams: [stream] };
      /** @type {RTCRtpTransceiver} */
      let tr;
      if (kind === 'video') {
        const height = track.getSettings?.().height ?? 0;
        const encodings = simulcastEncodings(height, this._simulcast);
        try {
          tr = pc.addTransceiver(track, { ...init, sendEncodings: encodings });
          this._videoPublished = { height, layers: encodings.length };
        } catch (err) {
          // A browser without sendEncodings support: one layer, its own bitrate.
          console.warn('openroom: simulcast not available:', errorMessage(err));
          tr = pc.addTransceiver(track, init);
          this._videoPublished = { height, layers: 1 };
        }
        preferH264(tr);
      } else {
        tr = pc.addTransceiver(track, init);
      }
      this._senders[kind] = tr.sender;
      return true;
    } catch (err) {
      this._emitError('webrtc', `cannot publish ${kind}: ${errorMessage(err)}`);
      return false;
    }
  }

  /** @param {PeerSide} side */
  _wirePeer(side) {
    const pc = side.pc;
    pc.onicecandidate = (ev) => {
      const c = ev.candidate;
      if (!c || !c.candidate) return; // end of candidates: the server ignores it anyway
      this._send({ type: 'candidate', target: side.target, candidate: c.toJSON() });
    };
    const onChange = () => {
      this._updateMediaState();
      const st = pc.connectionState ?? pc.iceConnectionState;
      clearTimeout(side.restartTimer);
      if (st === 'failed') this._recoverMedia('failed');
      // A short blip recovers by itself; one that lasts means the path is gone.
      else if (st === 'disconnected') side.restartTimer = setTimeout(() => this._recoverMedia('disconnected'), ICE_RESTART_AFTER_MS);
    };
    if ('connectionState' in pc) pc.onconnectionstatechange = onChange;
    else /** @type {any} */ (pc).oniceconnectionstatechange = onChange;
  }

  /**
   * Restarts ICE on one connection (new credentials, new candidate pairs):
   * the publisher with our own offer, the subscriber by asking the server to
   * offer again. Media resumes without publishing or subscribing again. At
   * most once per ICE_RESTART_MIN_GAP_MS per connection.
   * @param {PeerSide} side
   * @param {string} why
   */
  _restartIce(side, why) {
    if (side !== this._pub && side !== this._sub) return; // a closed connection
    const now = Date.now();
    if (now - (side.restartedAt ?? 0) < ICE_RESTART_MIN_GAP_MS) return;
    side.restartedAt = now;
    console.info(`openroom: ${side.target}: restarting ICE (${why})`);
    if (side.target === 'publisher') this._negotiatePublisher({ iceRestart: true });
    else this._send({ type: 'ice_restart', target: 'subscriber' });
  }

  /** The device's network changed (or came back): both connections find new paths. */
  _onNetworkChange() {
    if (this.state !== 'connected' && this.state !== 'reconnecting') return;
    this._recoverMedia('network change', true);
  }

  /**
   * A media path broke (or the network changed). The signaling socket most
   * likely broke with it (a TCP connection bound to an address that is gone
   * can look open for minutes), and ICE restarts need signaling: the session
   * is resumed on a fresh socket at once, then ICE restarts on the broken
   * connections (all of them after a network change). Once per
   * ICE_RESTART_MIN_GAP_MS.
   * @param {string} why
   * @param {boolean} [all] restart every connection, not only the broken ones
   */
  _recoverMedia(why, all = false) {
    if (all) this._restartAll = true;
    if (!this._ws) return; // a resume runs: it restarts ICE when it is done
    const now = Date.now();
    if (now - this._renewedAt < ICE_RESTART_MIN_GAP_MS) {
      this._restartBroken(all, false); // the socket is fresh: restart ICE over it
      return;
    }
    this._renewedAt = now;
    console.info(`openroom: media path lost (${why}): resuming on a fresh socket, then restarting ICE`);
    const ws = this._ws;
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    try {
      ws.close(1000, 'renewing');
    } catch {
      // already closing
    }
    this._ws = null;
    this._socketLost(this._session, 1006, `renewing the signaling socket (${why})`, true);
  }

  /**
   * Sends a heartbeat and gives the socket SOCKET_PROBE_MS to answer (any
   * frame will do); a socket that does not is taken for dead (a TCP connection
   * whose address or path is gone can stay open for minutes) and the session
   * is resumed on a new one.
   */
  _probeSocket() {
    const ws = this._ws;
    if (!ws || this._probeTimer) return;
    const session = this._session;
    const sentAt = Date.now();
    this._send({ type: 'heartbeat' });
    this._probeTimer = setTimeout(() => {
      this._probeTimer = null;
      if (session !== this._session || this._ws !== ws || this._lastFrameAt >= sentAt) return;
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      try {
        ws.close(1000, 'no answer');
      } catch {
        // already closing
      }
      this._ws = null;
      this._socketLost(session, 1006, 'the server stopped answering');
    }, SOCKET_PROBE_MS);
  }

  /**
   * After a resume: what we sent on the dead socket may be lost. A publisher
   * offer still unanswered is sent again, and connections that are down
   * restart ICE.
   */
  _afterResume() {
    const pub = this._pub;
    if (pub?.negotiating && pub.pc.signalingState === 'have-local-offer' && pub.pc.localDescription) {
      this._send({ type: 'offer', target: 'publisher', sdp: pub.pc.localDescription.sdp });
    }
    const all = this._restartAll;
    this._restartAll = false;
    this._restartBroken(all, true);
  }

  /**
   * Restarts ICE on the connections that are down (all of them with `all`);
   * `now` ignores the per-connection gap (what was sent before a resume is lost).
   * @param {boolean} all
   * @param {boolean} now
   */
  _restartBroken(all, now) {
    for (const side of [this._pub, this._sub]) {
      if (!side) continue;
      const st = side.pc.connectionState ?? side.pc.iceConnectionState;
      if (all || st === 'disconnected' || st === 'failed') {
        if (now) side.restartedAt = 0;
        this._restartIce(side, all ? 'network change' : st);
      }
    }
  }

  /** connected <-> reconnecting, from the peer connections' states. */
  _updateMediaState() {
    if (this.state !== 'connected' && this.state !== 'reconnecting') return;
    let broken = !this._ws; // the socket is being resumed
    for (const side of [this._pub, this._sub]) {
      if (!side) continue;
      const s = side.pc.connectionState ?? side.pc.iceConnectionState;
      if (s === 'disconnected' || s === 'failed') broken = true;
    }
    this._setState(broken ? 'reconnecting' : 'connected');
  }

  /**
   * Offers our media on the publisher. Only one offer is in flight; a request
   * made meanwhile runs when the answer is in.
   * @param {RTCOfferOptions} [options]
   */
  _negotiatePublisher(options) {
    const side = this._pub;
    if (!side) return;
    if (side.negotiating) {
      side.again = true;
      if (options?.iceRestart) side.againOptions = options;
      return;
    }
    side.negotiating = true;
    const session = this._session;
    side
      .run(async () => {
        if (session !== this._session) return;
        const offer = await side.pc.createOffer(options);
        if (session !== this._session) return;
        await side.pc.setLocalDescription(offer);
        if (session !== this._session) return;
        const sdp = side.pc.localDescription?.sdp ?? offer.sdp;
        if (!this._send({ type: 'offer', target: 'publisher', sdp })) side.negotiating = false;
      })
      .catch((err) => {
        side.negotiating = false;
        if (session === this._session) this._emitError('webrtc', `publish offer failed: ${errorMessage(err)}`);
      });
  }

  /** The server refused our offer: go back to stable so a later offer can work. */
  _publisherOfferFailed() {
    const side = this._pub;
    if (!side || !side.negotiating) return;
    side
      .run(async () => {
        if (side.pc.signalingState === 'have-local-offer') {
          await side.pc.setLocalDescription({ type: 'rollback' });
        }
      })
      .catch(() => {})
      .finally(() => {
        side.negotiating = false;
        side.again = false;
      });
  }

  /** @param {any} msg */
  _onAnswer(msg) {
    if (msg.target && msg.target !== 'publisher') return;
    const side = this._pub;
    if (!side || typeof msg.sdp !== 'string') return;
    const session = this._session;
    side
      .run(async () => {
        if (side.pc.signalingState !== 'have-local-offer') {
          console.warn('openroom: unexpected publisher answer in state', side.pc.signalingState);
          return;
        }
        await side.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
        await side.flushCandidates();
        if (session !== this._session) return;
        this._afterPublisherAnswer(msg.sdp);
      })
      .catch((err) => {
        if (session === this._session) this._emitError('webrtc', `cannot apply the server's answer: ${errorMessage(err)}`);
      })
      .finally(() => {
        if (session !== this._session) return;
        side.negotiating = false;
        if (side.again) {
          const opts = side.againOptions;
          side.again = false;
          side.againOptions = undefined;
          this._negotiatePublisher(opts);
        }
      });
  }

  /** @param {any} msg */
  _onOffer(msg) {
    if (msg.target && msg.target !== 'subscriber') return;
    const side = this._sub;
    if (!side || typeof msg.sdp !== 'string') return;
    const session = this._session;
    side
      .run(async () => {
        const pc = side.pc;
        if (pc.signalingState === 'have-remote-offer') {
          // An earlier offer we could not answer: start over with this one.
          await pc.setRemoteDescription({ type: 'rollback' });
        }
        await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
        await side.flushCandidates();
        const answer = await pc.createAnswer();
        if (session !== this._session) return;
        await pc.setLocalDescription(answer);
        if (session !== this._session) return;
        this._send({ type: 'answer', target: 'subscriber', sdp: pc.localDescription?.sdp ?? answer.sdp });
        this._reconcileSubscriber();
      })
      .catch((err) => {
        if (session === this._session) this._emitError('webrtc', `cannot answer the server's offer: ${errorMessage(err)}`);
      });
  }

  /** @param {any} msg */
  _onCandidate(msg) {
    const side = msg.target === 'publisher' ? this._pub : msg.target === 'subscriber' ? this._sub : null;
    const c = msg.candidate;
    if (!side || !c) return;
    /** @type {RTCIceCandidateInit} */
    const init = typeof c === 'string' ? { candidate: c, sdpMid: '0', sdpMLineIndex: 0 } : c;
    if (!init.candidate) return; // end of candidates
    side
      .run(async () => {
        if (!side.pc.remoteDescription) {
          side.pending.push(init);
          return;
        }
        await side.pc.addIceCandidate(init);
      })
      .catch((err) => console.warn(`openroom: ${side.target}: addIceCandidate failed:`, errorMessage(err)));
  }

  /** @param {any} msg */
  _onKicked(msg) {
    const reason = String(msg.reason ?? 'kicked');
    const code = typeof msg.code === 'number' ? msg.code : 4000;
    if (this._joinWaiter) {
      this._joinWaiter.reject(new OpenRoomError(code, reason));
      return;
    }
    this._session++;
    this._teardown();
    this._setState('disconnected');
    this._emit('kicked', { reason, code });
    this._emit('disconnected', { code: 4000, reason });
  }

  // ---------------------------------------------------------------------------
  // Members and tracks

  /**
   * Adds or updates a remote member from a server Member object.
   * @param {any} m
   * @returns {Member|null}
   */
  _upsertMember(m) {
    if (m.userID === this.userID) return null;
    let member = this.members.get(m.userID);
    const isNew = !member;
    if (!member) {
      member = {
        userID: m.userID,
        nickName: m.userID,
        kind: 'webrtc',
        audioMuted: false,
        videoMuted: false,
        stream: null,
        tracks: [],
        quality: this._quality.get(m.userID) ?? null,
      };
      this.members.set(m.userID, member);
    }
    if (typeof m.nickName === 'string' && m.nickName) member.nickName = m.nickName;
    if (typeof m.kind === 'string' && m.kind) member.kind = m.kind;
    if (typeof m.audioMuted === 'boolean') member.audioMuted = m.audioMuted;
    if (typeof m.videoMuted === 'boolean') member.videoMuted = m.videoMuted;
    if (Array.isArray(m.tracks)) {
      member.tracks = m.tracks.filter((/** @type {any} */ t) => t && typeof t.trackID === 'string').map(publishedTrack);
      for (const t of member.tracks) this._trackInfo.set(t.trackID, { userID: member.userID, kind: t.kind });
    }
    this._emit(isNew ? 'memberjoined' : 'memberupdated', { member });
    return member;
  }

  /**
   * @param {string} userID
   * @param {string} reason
   */
  _removeMember(userID, reason) {
    const member = this.members.get(userID);
    if (!member) return;
    if (member.stream) {
      for (const t of member.stream.getTracks()) this._dropTrack(member, t);
    }
    for (const t of member.tracks) {
      this._trackInfo.delete(t.trackID);
      this._sentSettings.delete(t.trackID);
    }
    this.members.delete(userID);
    this._gone.add(userID);
    this._quality.delete(userID);
    for (const [el, bound] of this._bound) {
      if (bound === userID) this.detach(el);
    }
    this._emit('memberleft', { userID, reason });
  }

  /**
   * Removes a track from a member's stream and emits trackremoved.
   * @param {Member} member
   * @param {MediaStreamTrack} track
   * @param {string} [trackID] the published trackID, when known
   */
  _dropTrack(member, track, trackID) {
    const stream = member.stream;
    if (!stream || !stream.getTracks().includes(track)) return;
    stream.removeTrack(track);
    if (stream.getTracks().length === 0) member.stream = null;
    this._syncBound(member.userID);
    this._settingsChanged();
    this._emit('trackremoved', { userID: member.userID, kind: track.kind, trackID: trackID ?? track.id });
  }

  /** @param {RTCTrackEvent} ev */
  _onRemoteTrack(ev) {
    const track = ev.track;
    const remoteStream = ev.streams?.[0];
    const userID = remoteStream?.id || this._trackInfo.get(track.id)?.userID;
    if (!userID) {
      console.warn('openroom: a remote track without a stream id; ignored', track.id);
      return;
    }
    this._attachRemoteTrack(userID, track, remoteStream);
  }

  /**
   * Makes `track` part of `userID`'s member stream (and of nobody else's).
   * @param {string} userID
   * @param {MediaStreamTrack} track
   * @param {MediaStream} [remoteStream] the browser's stream for it, when known
   */
  _attachRemoteTrack(userID, track, remoteStream) {
    if (track.readyState === 'ended' || userID === this.userID || this._gone.has(userID)) return;

    // A transceiver reused for another member hands us the same track again.
    for (const other of this.members.values()) {
      if (other.userID !== userID && other.stream?.getTracks().includes(track)) this._dropTrack(other, track);
    }

    const member = this.members.get(userID) ?? this._upsertMember({ userID });
    if (!member) return;
    if (member.stream?.getTracks().includes(track)) return; // already ours
    if (member.stream) {
      for (const t of member.stream.getTracks()) {
        if (t.kind === track.kind) this._dropTrack(member, t); // one track per kind
      }
    }
    if (!member.stream) member.stream = new MediaStream();
    const stream = member.stream;
    stream.addTrack(track);

    if (remoteStream && !this._watched.has(remoteStream)) {
      this._watched.add(remoteStream);
      remoteStream.addEventListener('removetrack', (e) => {
        const owner = this.members.get(remoteStream.id);
        if (owner && e.track) this._dropTrack(owner, e.track);
      });
    }
    if (!this._watchedTracks.has(track)) {
      this._watchedTracks.add(track);
      track.addEventListener('ended', () => {
        for (const m of this.members.values()) this._dropTrack(m, track);
      });
    }
    this._syncBound(userID);
    this._emit('track', { userID, kind: track.kind, track, stream });
    this._settingsChanged();
  }

  /**
   * After each subscriber negotiation, lines our member streams up with what
   * the remote description says (m-section mid -> msid stream id = userID):
   * catches a reused transceiver whose stream changed without a track event,
   * and tracks whose m-section went inactive.
   */
  _reconcileSubscriber() {
    const pc = this.subscriber;
    const sdp = pc?.remoteDescription?.sdp;
    if (!pc || !sdp) return;
    /** @type {Map<string, {owner: string|null, active: boolean}>} */
    const sections = new Map();
    for (const part of sdp.split(/\r?\nm=/).slice(1)) {
      const lines = part.split(/\r?\n/);
      const port = Number(lines[0].split(' ')[1]);
      let mid = null;
      let owner = null;
      let dir = 'sendrecv';
      for (const line of lines) {
        if (line.startsWith('a=mid:')) mid = line.slice(6).trim();
        else if (line.startsWith('a=msid:')) owner = line.slice(7).split(' ')[0].trim();
        else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line.trim())) dir = line.trim().slice(2);
      }
      if (mid == null) continue;
      const active = port !== 0 && (dir === 'sendonly' || dir === 'sendrecv');
      sections.set(mid, { owner: owner && owner !== '-' ? owner : null, active });
    }
    for (const tr of pc.getTransceivers()) {
      const track = tr.receiver.track;
      if (!track || tr.mid == null) continue;
      const info = sections.get(tr.mid);
      if (!info) continue;
      if (info.active && info.owner && track.readyState === 'live') {
        this._attachRemoteTrack(info.owner, track);
      } else if (!info.active) {
        for (const m of this.members.values()) this._dropTrack(m, track);
      }
    }
  }

  /** @param {any} msg */
  _onTrackPublished(msg) {
    if (typeof msg.userID !== 'string' || typeof msg.trackID !== 'string') return;
    this._gone.delete(msg.userID);
    const member = this.members.get(msg.userID) ?? this._upsertMember({ userID: msg.userID });
    if (!member) return;
    this._trackInfo.set(msg.trackID, { userID: msg.userID, kind: msg.kind });
    const fresh = publishedTrack(msg);
    const i = member.tracks.findIndex((t) => t.trackID === msg.trackID);
    if (i < 0) member.tracks.push(fresh);
    else member.tracks[i] = { ...fresh, muted: member.tracks[i].muted };
    this._settingsChanged();
  }

  /** @param {any} msg */
  _onTrackUnpublished(msg) {
    if (typeof msg.userID !== 'string' || typeof msg.trackID !== 'string') return;
    this._trackInfo.delete(msg.trackID);
    const member = this.members.get(msg.userID);
    if (!member) return;
    member.tracks = member.tracks.filter((t) => t.trackID !== msg.trackID);
    this._sentSettings.delete(msg.trackID);
    const stream = member.stream;
    if (!stream) return;
    let track = stream.getTracks().find((t) => t.id === msg.trackID);
    if (!track && msg.kind) {
      // The browser may keep an older track id on a reused transceiver: take the
      // one track of that kind that no current publication claims.
      const published = new Set(member.tracks.map((t) => t.trackID));
      const orphans = stream.getTracks().filter((t) => t.kind === msg.kind && !published.has(t.id));
      if (orphans.length === 1) track = orphans[0];
    }
    if (track) this._dropTrack(member, track, msg.trackID);
  }

  /** @param {any} msg */
  _onRemoteMute(msg) {
    if (typeof msg.userID !== 'string' || (msg.kind !== 'audio' && msg.kind !== 'video')) return;
    const muted = !!msg.muted;
    if (msg.userID === this.userID) return;
    const member = this.members.get(msg.userID);
    if (member) {
      if (msg.kind === 'audio') member.audioMuted = muted;
      else member.videoMuted = muted;
      for (const t of member.tracks) if (t.kind === msg.kind) t.muted = muted;
    }
    this._emit('mute', { userID: msg.userID, kind: msg.kind, muted });
  }

  // ---------------------------------------------------------------------------
  // Simulcast and dynacast (our own video)

  /**
   * Runs `mutate` on the sender's current parameters and applies them when it
   * returns true. Per sender the calls are chained, so one setParameters is in
   * flight at a time and each starts from a fresh getParameters().
   * @param {RTCRtpSender} sender
   * @param {(params: RTCRtpSendParameters) => boolean} mutate
   * @returns {Promise<boolean>} whether setParameters succeeded (false: skipped or failed)
   */
  _setSenderParams(sender, mutate) {
    const session = this._session;
    const prev = this._paramChains.get(sender) ?? Promise.resolve();
    const next = prev.then(async () => {
      if (session !== this._session) return false;
      const params = sender.getParameters();
      if (!params.encodings || params.encodings.length === 0) return false;
      if (!mutate(params)) return false;
      try {
        await sender.setParameters(params);
        return true;
      } catch (err) {
        console.warn('openroom: setParameters failed:', errorMessage(err));
        return false;
      }
    });
    this._paramChains.set(
      sender,
      next.then(
        () => {},
        () => {},
      ),
    );
    return next;
  }

  /**
   * Turns the sender's layers on and off as the last publish_layers for it
   * said: an encoding is active when its rid is listed (one without rid: when
   * the list is not empty).
   * @param {RTCRtpSender} sender
   */
  _applyLayers(sender) {
    return this._setSenderParams(sender, (params) => {
      const rids = this._wantLayers.get(sender);
      if (!rids) return false;
      let changed = false;
      for (const enc of params.encodings) {
        const active = enc.rid ? rids.includes(enc.rid) : rids.length > 0;
        if (enc.active !== active) {
          enc.active = active;
          changed = true;
        }
      }
      return changed;
    });
  }

  /** @param {any} msg publish_layers: {trackID, mid, rids} */
  _onPublishLayers(msg) {
    if (!Array.isArray(msg.rids)) return;
    const rids = msg.rids.filter((/** @type {unknown} */ r) => typeof r === 'string');
    const pc = this.publisher;
    if (!pc) return;
    const mid = msg.mid == null || msg.mid === '' ? null : String(msg.mid);
    /** @type {RTCRtpSender|null} */
    let sender = null;
    try {
      if (mid != null) sender = pc.getTransceivers().find((t) => t.mid === mid)?.sender ?? null;
    } catch {
      return; // closed
    }
    if (!sender && mid == null) sender = this._senders.video ?? null;
    if (!sender) {
      if (mid != null) this._pendingLayers.set(mid, rids); // before our answer arrived: applied then
      return;
    }
    this._wantLayers.set(sender, rids);
    void this._applyLayers(sender);
  }

  /**
   * After each publisher answer: if the server took our simulcast video as one
   * layer, send that layer at full size; then apply publish_layers that
   * waited for their mid (and again the ones a failed setParameters missed).
   * @param {string} sdp the answer
   */
  _afterPublisherAnswer(sdp) {
    const pc = this.publisher;
    if (!pc) return;
    /** @type {RTCRtpTransceiver[]} */
    let transceivers;
    try {
      transceivers = pc.getTransceivers();
    } catch {
      return;
    }
    const video = this._senders.video;
    const published = this._videoPublished;
    if (video && published && published.layers > 1) {
      const mid = transceivers.find((t) => t.sender === video)?.mid;
      const section = mid != null ? sdpSection(sdp, mid) : null;
      if (section && !section.some((l) => l.startsWith('a=simulcast:'))) {
        void this._setSenderParams(video, (params) => {
          if (params.encodings.length !== 1) return false;
          const enc = params.encodings[0];
          if ((enc.scaleResolutionDownBy ?? 1) === 1) return false;
          enc.scaleResolutionDownBy = 1;
          if (published.height > 0) enc.maxBitrate = layerBitrate(published.height);
          return true;
        });
      }
    }
    for (const tr of transceivers) {
      if (tr.mid == null) continue;
      const rids = this._pendingLayers.get(tr.mid);
      if (rids) {
        this._pendingLayers.delete(tr.mid);
        this._wantLayers.set(tr.sender, rids);
      }
      if (this._wantLayers.has(tr.sender)) void this._applyLayers(tr.sender);
    }
  }

  /**
   * A new camera track on our video sender (replaceTrack): the layers stay,
   * their bitrate caps follow the new capture height.
   * @param {RTCRtpSender} sender
   * @param {MediaStreamTrack} track
   */
  _retuneVideo(sender, track) {
    const height = track.getSettings?.().height ?? 0;
    if (!height) return;
    if (this._videoPublished) this._videoPublished.height = height;
    void this._setSenderParams(sender, (params) => {
      let changed = false;
      for (const enc of params.encodings) {
        const want = layerBitrate(Math.round(height / (enc.scaleResolutionDownBy || 1)));
        if (enc.maxBitrate !== want) {
          enc.maxBitrate = want;
          changed = true;
        }
      }
      return changed;
    });
  }

  // ---------------------------------------------------------------------------
  // Active speakers and connection quality

  /** @param {any} msg speakers: {speakers: [{userID, level}]} */
  _onSpeakers(msg) {
    /** @type {SpeakerInfo[]} */
    const speakers = [];
    for (const s of Array.isArray(msg.speakers) ? msg.speakers : []) {
      if (!s || typeof s.userID !== 'string' || !s.userID) continue;
      const level = typeof s.level === 'number' && Number.isFinite(s.level) ? Math.min(1, Math.max(0, s.level)) : 0;
      speakers.push({ userID: s.userID, level });
    }
    this._speakers = speakers;
    this._emit('speakers', this.activeSpeakers);
  }

  /** @param {any} msg quality: {members: [{userID, quality}]} (all at first, then the changed ones) */
  _onQuality(msg) {
    /** @type {QualityInfo[]} */
    const changed = [];
    for (const q of Array.isArray(msg.members) ? msg.members : []) {
      if (!q || typeof q.userID !== 'string' || !QUALITIES.has(q.quality)) continue;
      const quality = /** @type {ConnectionQuality} */ (q.quality);
      this._quality.set(q.userID, quality);
      const member = this.members.get(q.userID);
      if (member) member.quality = quality;
      changed.push({ userID: q.userID, quality });
    }
    if (changed.length > 0) this._emit('quality', changed);
  }

  // ---------------------------------------------------------------------------
  // Adaptive stream

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
    if (typeof userID !== 'string' || !userID) throw new OpenRoomError('param', 'attach: userID is required');
    if (!element || typeof element !== 'object' || !('srcObject' in element)) {
      throw new OpenRoomError('param', 'attach: a <video> or <audio> element is required');
    }
    this._bound.set(element, userID);
    if (isVideoElement(element)) this._watchView(element, userID);
    this._syncBound(userID);
    this._settingsChanged();
    return element;
  }

  /**
   * Undoes attach() (or stops watching an element the SDK found): clears its
   * srcObject if it shows a member's stream.
   * @param {HTMLMediaElement} element
   */
  detach(element) {
    const userID = this._bound.get(element);
    this._bound.delete(element);
    if (userID != null && element.srcObject && element.srcObject === this.members.get(userID)?.stream) element.srcObject = null;
    this._unwatchView(element);
    this._settingsChanged();
  }

  /**
   * Pins a member's video (the server gives it priority over the others) or,
   * with null, unpins. Sends `track_settings` with `pinned` at once.
   * @param {string|null} userID
   */
  setPinned(userID) {
    const id = userID == null || userID === '' ? null : String(userID);
    if (id === this._pinned) return;
    this._pinned = id;
    this._flushSettings();
  }

  /** @param {string} userID */
  _syncBound(userID) {
    for (const [el, bound] of this._bound) {
      if (bound !== userID) continue;
      const stream = this.members.get(userID)?.stream ?? null;
      if (el.srcObject === stream) continue;
      el.srcObject = stream;
      if (stream) {
        const p = el.play();
        if (p && typeof p.catch === 'function') p.catch(() => {});
      }
    }
  }

  /**
   * @param {HTMLVideoElement} el
   * @param {string|null} userID
   */
  _watchView(el, userID) {
    const view = this._views.get(el);
    if (view) {
      if (userID) view.userID = userID;
      return;
    }
    this._views.set(el, { userID, inView: null, width: 0, height: 0 });
    this._observeView(el);
  }

  /** @param {HTMLVideoElement} el */
  _observeView(el) {
    this._io?.observe(el);
    if (this._ro) {
      try {
        this._ro.observe(el, { box: 'device-pixel-content-box' });
      } catch {
        this._ro.observe(el);
      }
    }
  }

  /** @param {HTMLMediaElement} el */
  _unwatchView(el) {
    if (!isVideoElement(el) || !this._views.delete(el)) return;
    this._io?.unobserve(el);
    this._ro?.unobserve(el);
  }

  /** Starts watching remote videos (after joined), when adaptive stream is on. */
  _startAdaptive() {
    if (!this._adaptive || typeof document === 'undefined') return;
    if (typeof IntersectionObserver === 'function') {
      this._io = new IntersectionObserver((entries) => {
        for (const e of entries) {
          const view = this._views.get(/** @type {HTMLVideoElement} */ (e.target));
          if (view) view.inView = e.isIntersecting;
        }
        this._settingsChanged();
      });
    }
    if (typeof ResizeObserver === 'function') {
      this._ro = new ResizeObserver((entries) => {
        const dpr = globalThis.devicePixelRatio || 1;
        for (const e of entries) {
          const view = this._views.get(/** @type {HTMLVideoElement} */ (e.target));
          if (!view) continue;
          const px = e.devicePixelContentBoxSize?.[0];
          const box = e.contentBoxSize?.[0];
          if (px) {
            view.width = Math.round(px.inlineSize);
            view.height = Math.round(px.blockSize);
          } else if (box) {
            view.width = Math.round(box.inlineSize * dpr);
            view.height = Math.round(box.blockSize * dpr);
          } else {
            view.width = Math.round(e.contentRect.width * dpr);
            view.height = Math.round(e.contentRect.height * dpr);
          }
        }
        this._settingsChanged();
      });
    }
    for (const el of this._views.keys()) this._observeView(el);
    this._onVisibility = () => this._settingsChanged();
    document.addEventListener('visibilitychange', this._onVisibility);
    this._scanTimer = setInterval(() => this._settingsChanged(), VIEW_SCAN_MS);
  }

  /** Stops watching and forgets the elements (teardown). */
  _stopAdaptive() {
    if (this._settingsTimer) clearTimeout(this._settingsTimer);
    this._settingsTimer = null;
    if (this._scanTimer) clearInterval(this._scanTimer);
    this._scanTimer = null;
    this._io?.disconnect();
    this._ro?.disconnect();
    this._io = this._ro = null;
    if (this._onVisibility && typeof document !== 'undefined') document.removeEventListener('visibilitychange', this._onVisibility);
    this._onVisibility = null;
    this._views.clear();
    this._bound.clear();
    this._sentSettings.clear();
    this._settingsRetryAt.clear();
  }

  /**
   * Something that may change what we report happened: send track_settings
   * SETTINGS_DEBOUNCE_MS after the last such change (at most SETTINGS_MAX_WAIT_MS
   * after the first).
   */
  _settingsChanged() {
    if (!this._ws || (!this._adaptive && !this._pinned && this._sentSettings.size === 0)) return;
    const now = Date.now();
    if (this._settingsTimer) clearTimeout(this._settingsTimer);
    else this._settingsSince = now;
    const wait = Math.max(0, Math.min(SETTINGS_DEBOUNCE_MS, this._settingsSince + SETTINGS_MAX_WAIT_MS - now));
    this._settingsTimer = setTimeout(() => {
      this._settingsTimer = null;
      this._flushSettings();
    }, wait);
  }

  /**
   * The server refused a track_settings (e.g. "unknown trackID" while it is not
   * subscribed to us yet): forget what we sent for that track, so it is sent
   * again (not before SETTINGS_RETRY_MS).
   * @param {string} message the error's message, which quotes the trackID
   */
  _settingsFailed(message) {
    const now = Date.now();
    for (const trackID of this._sentSettings.keys()) {
      if (!message.includes(`"${trackID}"`)) continue;
      this._sentSettings.delete(trackID);
      this._settingsRetryAt.set(trackID, now + SETTINGS_RETRY_MS);
      this._settingsChanged();
    }
  }

  /** Sends track_settings for every remote video whose settings changed. */
  _flushSettings() {
    if (this._settingsTimer) clearTimeout(this._settingsTimer);
    this._settingsTimer = null;
    if (this._settingsRefused || !this._ws || this._joinWaiter || this.state === 'disconnected') return;
    const now = Date.now();
    for (const [trackID, settings] of this._computeSettings()) {
      const key = JSON.stringify(settings);
      if (this._sentSettings.get(trackID) === key) continue;
      const retryAt = this._settingsRetryAt.get(trackID);
      if (retryAt !== undefined) {
        if (now < retryAt) continue; // the scan comes back
        this._settingsRetryAt.delete(trackID);
      }
      if (this._send({ type: 'track_settings', trackID, ...settings })) this._sentSettings.set(trackID, key);
    }
  }

  /**
   * What to report per remote video trackID: the largest visible element
   * showing it (visible: false when none is, or the page is hidden).
   * @returns {Map<string, {visible: boolean, width: number, height: number, pinned: boolean}>}
   */
  _computeSettings() {
    /** @type {Map<string, {visible: boolean, width: number, height: number, pinned: boolean}>} */
    const out = new Map();
    /** Tracks with an element the observers have not measured yet: no report this time. */
    const waiting = new Set();
    const doc = typeof document !== 'undefined' ? document : null;
    if (this._adaptive && doc) {
      this._discoverViews(doc);
      const hidden = doc.visibilityState === 'hidden';
      for (const [el, view] of this._views) {
        if (!el.isConnected) {
          if (!view.userID) this._unwatchView(el); // found by us and gone from the page
          continue;
        }
        const userID = view.userID ?? this._ownerOf(el.srcObject);
        if (!userID) continue;
        const member = this.members.get(userID);
        const track = member?.stream?.getVideoTracks()[0];
        const src = el.srcObject;
        if (!member || !track || track.readyState !== 'live' || !(src instanceof MediaStream) || !src.getTracks().includes(track)) continue;
        const trackID = this._videoTrackID(member, track);
        if (!trackID) continue;
        const measured = view.inView !== null || !this._io;
        if (!measured) {
          waiting.add(trackID);
          continue;
        }
        let entry = out.get(trackID);
        if (!entry) out.set(trackID, (entry = { visible: false, width: 0, height: 0, pinned: false }));
        let { width, height } = view;
        if (!this._ro) {
          const dpr = globalThis.devicePixelRatio || 1;
          width = Math.round(el.clientWidth * dpr);
          height = Math.round(el.clientHeight * dpr);
        }
        const inView = this._io ? !!view.inView : true;
        const shown = typeof el.checkVisibility === 'function' ? el.checkVisibility({ visibilityProperty: true }) : true;
        if (!hidden && inView && shown && width > 0 && height > 0) {
          entry.visible = true;
          entry.width = Math.min(MAX_RENDER_PX, Math.max(entry.width, width));
          entry.height = Math.min(MAX_RENDER_PX, Math.max(entry.height, height));
        }
      }
    }
    for (const id of waiting) out.delete(id);
    // No element shows a video we reported before: hidden (adaptive), or back to "no limit".
    for (const trackID of this._sentSettings.keys()) {
      if (out.has(trackID) || waiting.has(trackID)) continue;
      if (!this._trackInfo.has(trackID)) {
        this._sentSettings.delete(trackID);
        continue;
      }
      out.set(trackID, this._adaptive ? { visible: false, width: 0, height: 0, pinned: false } : unlimited());
    }
    if (this._pinned) {
      const member = this.members.get(this._pinned);
      const trackID = member ? this._videoTrackID(member, member.stream?.getVideoTracks()[0]) : null;
      if (trackID && !waiting.has(trackID)) {
        let entry = out.get(trackID);
        if (!entry) out.set(trackID, (entry = unlimited()));
        entry.pinned = true;
      }
    }
    return out;
  }

  /**
   * Watches every <video> on the page whose srcObject holds a member's video.
   * @param {Document} doc
   */
  _discoverViews(doc) {
    /** @type {Set<MediaStreamTrack>} */
    const remote = new Set();
    for (const m of this.members.values()) for (const t of m.stream?.getVideoTracks() ?? []) remote.add(t);
    if (remote.size === 0) return;
    for (const el of doc.querySelectorAll('video')) {
      if (this._views.has(el)) continue;
      const src = el.srcObject;
      if (src instanceof MediaStream && src.getVideoTracks().some((t) => remote.has(t))) this._watchView(el, null);
    }
  }

  /**
   * The member whose video a srcObject shows.
   * @param {MediaProvider|null} src
   * @returns {string|null}
   */
  _ownerOf(src) {
    if (!(src instanceof MediaStream)) return null;
    const tracks = src.getVideoTracks();
    for (const m of this.members.values()) {
      if (!m.stream) continue;
      if (m.stream === src || m.stream.getVideoTracks().some((t) => tracks.includes(t))) return m.userID;
    }
    return null;
  }

  /**
   * The server's trackID of a member's video (the browser may keep an older
   * track id on a reused transceiver, so the publication is the better source).
   * @param {Member} member
   * @param {MediaStreamTrack|undefined} track
   * @returns {string|null}
   */
  _videoTrackID(member, track) {
    const videos = member.tracks.filter((t) => t.kind === 'video');
    if (videos.length === 1) return videos[0].trackID;
    if (track && videos.some((t) => t.trackID === track.id)) return track.id;
    return videos[0]?.trackID ?? null;
  }

  // ---------------------------------------------------------------------------
  // Stats

  /**
   * Inbound media statistics per remote member, from subscriber.getStats().
   * Every current member has an entry; `video`/`audio` appear once the
   * browser has stats for that kind.
   * @returns {Promise<Record<string, RemoteMemberStats>>}
   */
  async remoteStats() {
    /** @type {Record<string, RemoteMemberStats>} */
    const out = {};
    for (const id of this.members.keys()) out[id] = {};
    const pc = this.subscriber;
    if (!pc || pc.connectionState === 'closed') return out;
    /** @type {RTCStatsReport} */
    let report;
    try {
      report = await pc.getStats();
    } catch {
      return out;
    }

    /** track id -> userID, from the streams we hand out. */
    const owner = new Map();
    for (const m of this.members.values()) {
      for (const t of m.stream?.getTracks() ?? []) owner.set(t.id, m.userID);
    }
    /** mid -> userID, for browsers whose inbound-rtp lacks trackIdentifier. */
    const midOwner = new Map();
    try {
      for (const tr of pc.getTransceivers()) {
        const t = tr.receiver.track;
        if (tr.mid != null && t && owner.has(t.id)) midOwner.set(tr.mid, owner.get(t.id));
      }
    } catch {
      // closed meanwhile
    }

    /** @type {Record<string, any>} */
    const best = {};
    report.forEach((/** @type {any} */ s) => {
      if (s.type !== 'inbound-rtp') return;
      const kind = s.kind ?? s.mediaType;
      if (kind !== 'audio' && kind !== 'video') return;
      let trackId = s.trackIdentifier;
      if (!trackId && s.trackId) trackId = /** @type {any} */ (report).get(s.trackId)?.trackIdentifier;
      let userID = trackId ? owner.get(trackId) : undefined;
      if (!userID && s.mid != null) userID = midOwner.get(s.mid);
      if (!userID || !out[userID]) return;
      const key = `${userID}\n${kind}`;
      if (best[key] && (best[key].bytesReceived ?? 0) >= (s.bytesReceived ?? 0)) return;
      best[key] = s;
      if (kind === 'video') {
        out[userID].video = {
          framesDecoded: s.framesDecoded ?? 0,
          bytesReceived: s.bytesReceived ?? 0,
          packetsReceived: s.packetsReceived ?? 0,
          frameWidth: s.frameWidth ?? 0,
          frameHeight: s.frameHeight ?? 0,
        };
      } else {
        let level = s.audioLevel;
        if (typeof level !== 'number' && s.trackId) level = /** @type {any} */ (report).get(s.trackId)?.audioLevel;
        out[userID].audio = {
          packetsReceived: s.packetsReceived ?? 0,
          bytesReceived: s.bytesReceived ?? 0,
          audioLevel: typeof level === 'number' ? level : 0,
        };
      }
    });
    return out;
  }
}

export default Room;
