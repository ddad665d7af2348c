// Adaptive stream: the <video> elements that show remote video (attach(), or
// any element whose srcObject holds a member's video) are watched for size and
// visibility, and the server is told (track_settings) so that each video comes
// in the layer its largest visible element needs, and not at all when no
// element shows it. Pinning a member asks for its video first.
//
// Of the room it uses members, state and the signal client (to send, and to
// know whether we are in the room), and the participants' published tracks.

import { OpenRoomError } from './errors.js';

/** @typedef {import('./room.js').Room} Room */
/** @typedef {import('./openroom.js').Member} Member */
/** @typedef {{visible: boolean, width: number, height: number, pinned: boolean}} Settings */

/** track_settings go out this long after the last change... */
const SETTINGS_DEBOUNCE_MS = 250;
/** ...but never later than this after the first one, even while a tile keeps resizing. */
const SETTINGS_MAX_WAIT_MS = 1000;
/** How often the SDK looks for <video> elements showing remote video (and checks the known ones). */
const VIEW_SCAN_MS = 1000;
/** A track_settings the server refused (a track it does not send us yet) is sent again after this. */
const SETTINGS_RETRY_MS = 2000;
/** The largest width/height a track_settings may carry (device pixels). */
const MAX_RENDER_PX = 16384;
/** The server's code for a message type it does not know (an older server). */
const CODE_UNKNOWN_TYPE = 4002;

/**
 * Settings for a video no element reports on: visible, and as large as the screen.
 * @returns {Settings}
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

export class AdaptiveStream {
  /**
   * @param {Room} room
   * @param {boolean} enabled the Room's adaptiveStream option (a join may override it)
   */
  constructor(room, enabled) {
    this.room = room;
    this.byDefault = enabled;
    /** Whether this session reports track_settings. */
    this.enabled = enabled;
    /** The server does not know track_settings (an older server): stop sending them. */
    this.refusedAll = false;
    /** The member whose video we pinned. @type {string|null} */
    this.pinned = null;
    /**
     * <video> elements showing remote video: bound with attach() (userID set)
     * or found on the page (userID null: the owner comes from srcObject).
     * `inView` / `width` / `height` come from the observers; null until they reported.
     * @type {Map<HTMLVideoElement, {userID: string|null, inView: boolean|null, width: number, height: number}>}
     */
    this.views = new Map();
    /** Media elements attach()ed to a member. @type {Map<HTMLMediaElement, string>} */
    this.bound = new Map();
    /** trackID -> the track_settings last sent for it (JSON). @type {Map<string, string>} */
    this.sent = new Map();
    /** trackID -> when a refused track_settings may be sent again (ms). @type {Map<string, number>} */
    this.retryAt = new Map();
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.timer = null;
    /** When the pending track_settings flush was first asked for (ms). */
    this.since = 0;
    /** @type {ReturnType<typeof setInterval>|null} */
    this.scanTimer = null;
    /** @type {IntersectionObserver|null} */
    this.io = null;
    /** @type {ResizeObserver|null} */
    this.ro = null;
    /** @type {(() => void)|null} */
    this.onVisibility = null;
  }

  /** A new join: nothing pinned or sent yet. */
  reset() {
    this.pinned = null;
    this.sent = new Map();
    this.retryAt = new Map();
    this.refusedAll = false;
  }

  /**
   * Shows a member's media in `element` (see Room.attach).
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
    this.bound.set(element, userID);
    if (isVideoElement(element)) this.watch(element, userID);
    this.sync(userID);
    this.changed();
    return element;
  }

  /** @param {HTMLMediaElement} element */
  detach(element) {
    const userID = this.bound.get(element);
    this.bound.delete(element);
    if (userID != null && element.srcObject && element.srcObject === this.room.members.get(userID)?.stream) element.srcObject = null;
    this.unwatch(element);
    this.changed();
  }

  /** @param {string|null} userID */
  setPinned(userID) {
    const id = userID == null || userID === '' ? null : String(userID);
    if (id === this.pinned) return;
    this.pinned = id;
    this.flush();
  }

  /**
   * A member left: the elements attach()ed to it are detached.
   * @param {string} userID
   */
  memberLeft(userID) {
    for (const [el, bound] of this.bound) {
      if (bound === userID) this.detach(el);
    }
  }

  /**
   * A track is gone: nothing more to report on it.
   * @param {string} trackID
   */
  forgetTrack(trackID) {
    this.sent.delete(trackID);
  }

  /**
   * Points the elements attach()ed to a member at its current stream.
   * @param {string} userID
   */
  sync(userID) {
    for (const [el, bound] of this.bound) {
      if (bound !== userID) continue;
      const stream = this.room.members.get(userID)?.stream ?? null;
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
  watch(el, userID) {
    const view = this.views.get(el);
    if (view) {
      if (userID) view.userID = userID;
      return;
    }
    this.views.set(el, { userID, inView: null, width: 0, height: 0 });
    this.observe(el);
  }

  /** @param {HTMLVideoElement} el */
  observe(el) {
    this.io?.observe(el);
    if (this.ro) {
      try {
        this.ro.observe(el, { box: 'device-pixel-content-box' });
      } catch {
        this.ro.observe(el);
      }
    }
  }

  /** @param {HTMLMediaElement} el */
  unwatch(el) {
    if (!isVideoElement(el) || !this.views.delete(el)) return;
    this.io?.unobserve(el);
    this.ro?.unobserve(el);
  }

  /** Starts watching remote videos (after joined), when adaptive stream is on. */
  start() {
    if (!this.enabled || typeof document === 'undefined') return;
    if (typeof IntersectionObserver === 'function') {
      this.io = new IntersectionObserver((entries) => {
        for (const e of entries) {
          const view = this.views.get(/** @type {HTMLVideoElement} */ (e.target));
          if (view) view.inView = e.isIntersecting;
        }
        this.changed();
      });
    }
    if (typeof ResizeObserver === 'function') {
      this.ro = new ResizeObserver((entries) => {
        const dpr = globalThis.devicePixelRatio || 1;
        for (const e of entries) {
          const view = this.views.get(/** @type {HTMLVideoElement} */ (e.target));
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
        this.changed();
      });
    }
    for (const el of this.views.keys()) this.observe(el);
    this.onVisibility = () => this.changed();
    document.addEventListener('visibilitychange', this.onVisibility);
    this.scanTimer = setInterval(() => this.changed(), VIEW_SCAN_MS);
  }

  /** Stops watching and forgets the elements (the connection is closed). */
  stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.scanTimer) clearInterval(this.scanTimer);
    this.scanTimer = null;
    this.io?.disconnect();
    this.ro?.disconnect();
    this.io = this.ro = null;
    if (this.onVisibility && typeof document !== 'undefined') document.removeEventListener('visibilitychange', this.onVisibility);
    this.onVisibility = null;
    this.views.clear();
    this.bound.clear();
    this.sent.clear();
    this.retryAt.clear();
  }

  /**
   * Something that may change what we report happened: send track_settings
   * SETTINGS_DEBOUNCE_MS after the last such change (at most SETTINGS_MAX_WAIT_MS
   * after the first).
   */
  changed() {
    if (!this.room._signal.ws || (!this.enabled && !this.pinned && this.sent.size === 0)) return;
    const now = Date.now();
    if (this.timer) clearTimeout(this.timer);
    else this.since = now;
    const wait = Math.max(0, Math.min(SETTINGS_DEBOUNCE_MS, this.since + SETTINGS_MAX_WAIT_MS - now));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  /**
   * The server refused a track_settings. Adaptive stream is best effort: a
   * track that just went away (e.g. "unknown trackID" while it is not
   * subscribed to us yet) is asked for again later, not before
   * SETTINGS_RETRY_MS; a server without adaptive stream is not asked again.
   * Neither is an error for the app.
   * @param {number|string} code
   * @param {string} message the error's message, which quotes the trackID
   */
  refused(code, message) {
    if (code === CODE_UNKNOWN_TYPE) {
      this.refusedAll = true;
    } else {
      const now = Date.now();
      for (const trackID of this.sent.keys()) {
        if (!message.includes(`"${trackID}"`)) continue;
        this.sent.delete(trackID);
        this.retryAt.set(trackID, now + SETTINGS_RETRY_MS);
        this.changed();
      }
    }
    console.debug('openroom: track_settings refused:', message);
  }

  /** Sends track_settings for every remote video whose settings changed. */
  flush() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const room = this.room;
    if (this.refusedAll || !room._signal.ws || room._signal.joinWaiter || room.state === 'disconnected') return;
    const now = Date.now();
    for (const [trackID, settings] of this.compute()) {
      const key = JSON.stringify(settings);
      if (this.sent.get(trackID) === key) continue;
      const retryAt = this.retryAt.get(trackID);
      if (retryAt !== undefined) {
        if (now < retryAt) continue; // the scan comes back
        this.retryAt.delete(trackID);
      }
      if (room._signal.send({ type: 'track_settings', trackID, ...settings })) this.sent.set(trackID, key);
    }
  }

  /**
   * What to report per remote video trackID: the largest visible element
   * showing it (visible: false when none is, or the page is hidden).
   * @returns {Map<string, Settings>}
   */
  compute() {
    const room = this.room;
    /** @type {Map<string, Settings>} */
    const out = new Map();
    /** Tracks with an element the observers have not measured yet: no report this time. */
    const waiting = new Set();
    const doc = typeof document !== 'undefined' ? document : null;
    if (this.enabled && doc) {
      this.discover(doc);
      const hidden = doc.visibilityState === 'hidden';
      for (const [el, view] of this.views) {
        if (!el.isConnected) {
          if (!view.userID) this.unwatch(el); // found by us and gone from the page
          continue;
        }
        const userID = view.userID ?? this.ownerOf(el.srcObject);
        if (!userID) continue;
        const member = room.members.get(userID);
        const track = member?.stream?.getVideoTracks()[0];
        const src = el.srcObject;
        if (!member || !track || track.readyState !== 'live' || !(src instanceof MediaStream) || !src.getTracks().includes(track)) continue;
        const trackID = this.videoTrackID(member, track);
        if (!trackID) continue;
        const measured = view.inView !== null || !this.io;
        if (!measured) {
          waiting.add(trackID);
          continue;
        }
        let entry = out.get(trackID);
        if (!entry) out.set(trackID, (entry = { visible: false, width: 0, height: 0, pinned: false }));
        let { width, height } = view;
        if (!this.ro) {
          const dpr = globalThis.devicePixelRatio || 1;
          width = Math.round(el.clientWidth * dpr);
          height = Math.round(el.clientHeight * dpr);
        }
        const inView = this.io ? !!view.inView : true;
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
    for (const trackID of this.sent.keys()) {
      if (out.has(trackID) || waiting.has(trackID)) continue;
      if (!room._participants.trackInfo.has(trackID)) {
        this.sent.delete(trackID);
        continue;
      }
      out.set(trackID, this.enabled ? { visible: false, width: 0, height: 0, pinned: false } : unlimited());
    }
    if (this.pinned) {
      const member = room.members.get(this.pinned);
      const trackID = member ? this.videoTrackID(member, member.stream?.getVideoTracks()[0]) : null;
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
  discover(doc) {
    /** @type {Set<MediaStreamTrack>} */
    const remote = new Set();
    for (const m of this.room.members.values()) for (const t of m.stream?.getVideoTracks() ?? []) remote.add(t);
    if (remote.size === 0) return;
    for (const el of doc.querySelectorAll('video')) {
      if (this.views.has(el)) continue;
      const src = el.srcObject;
      if (src instanceof MediaStream && src.getVideoTracks().some((t) => remote.has(t))) this.watch(el, null);
    }
  }

  /**
   * The member whose video a srcObject shows.
   * @param {MediaProvider|null} src
   * @returns {string|null}
   */
  ownerOf(src) {
    if (!(src instanceof MediaStream)) return null;
    const tracks = src.getVideoTracks();
    for (const m of this.room.members.values()) {
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
  videoTrackID(member, track) {
    const videos = member.tracks.filter((t) => t.kind === 'video' && t.source !== 'screen'); // a camera's, not a shared screen's
    if (videos.length === 1) return videos[0].trackID;
    if (track && videos.some((t) => t.trackID === track.id)) return track.id;
    return videos[0]?.trackID ?? null;
  }
}
