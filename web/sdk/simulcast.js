// Simulcast of our camera: the layers it is published in (simulcastEncodings,
// layerBitrate, H.264 first), and afterwards turning them on and off as the
// server asks (dynacast: publish_layers) with bitrate caps that follow the
// capture size.

import { errorMessage } from './errors.js';

/** @typedef {import('./room.js').Room} Room */

/** Simulcast rids, lowest layer first (docs/protocol.md). */
const RIDS = ['q', 'h', 'f'];

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
 * The bitrate cap of a shared screen, by its size: text stays readable at
 * full resolution (about 0.1 bit per pixel and frame at 15 fps, 0.4-4 Mbit/s).
 * @param {number} width
 * @param {number} height
 * @returns {number} bits per second
 */
export function screenBitrate(width, height) {
  const px = Math.max(width, 1) * Math.max(height, 1);
  return Math.round(Math.min(4_000_000, Math.max(400_000, px * 1.5)));
}

/**
 * Puts H.264 (packetization-mode=1, constrained baseline 42e01f) first, then
 * the other H.264 variants, then everything else in the browser's order.
 * @param {RTCRtpTransceiver} transceiver
 */
export function preferH264(transceiver) {
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
 * The layers of our published video once it is sent: which ones are active
 * (publish_layers) and their bitrate caps. Uses the room's session, its
 * publisher connection and our video sender (room._local.senders.video).
 */
export class VideoLayers {
  /** @param {Room} room */
  constructor(room) {
    this.room = room;
    /** The capture height and layer count our video was published with. @type {{height:number, layers:number}|null} */
    this.published = null;
    /** Per publisher sender: the setParameters chain (one call in flight). @type {WeakMap<RTCRtpSender, Promise<void>>} */
    this.chains = new WeakMap();
    /** Per publisher sender: the rids publish_layers asked for last. @type {WeakMap<RTCRtpSender, string[]>} */
    this.wanted = new WeakMap();
    /** publish_layers for a mid not known yet (applied after the next answer). @type {Map<string, string[]>} */
    this.pending = new Map();
  }

  /** A new join: nothing published yet. */
  reset() {
    this.published = null;
    this.pending = new Map();
  }

  /**
   * Runs `mutate` on the sender's current parameters and applies them when it
   * returns true. Per sender the calls are chained, so one setParameters is in
   * flight at a time and each starts from a fresh getParameters().
   * @param {RTCRtpSender} sender
   * @param {(params: RTCRtpSendParameters) => boolean} mutate
   * @returns {Promise<boolean>} whether setParameters succeeded (false: skipped or failed)
   */
  setParams(sender, mutate) {
    const room = this.room;
    const session = room._session;
    const prev = this.chains.get(sender) ?? Promise.resolve();
    const next = prev.then(async () => {
      if (session !== room._session) return false;
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
    this.chains.set(
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
  apply(sender) {
    return this.setParams(sender, (params) => {
      const rids = this.wanted.get(sender);
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
  onPublishLayers(msg) {
    if (!Array.isArray(msg.rids)) return;
    const rids = msg.rids.filter((/** @type {unknown} */ r) => typeof r === 'string');
    const pc = this.room.publisher;
    if (!pc) return;
    const mid = msg.mid == null || msg.mid === '' ? null : String(msg.mid);
    /** @type {RTCRtpSender|null} */
    let sender = null;
    try {
      if (mid != null) sender = pc.getTransceivers().find((t) => t.mid === mid)?.sender ?? null;
    } catch {
      return; // closed
    }
    if (!sender && mid == null) sender = this.room._local.senders.video ?? null;
    if (!sender) {
      if (mid != null) this.pending.set(mid, rids); // before our answer arrived: applied then
      return;
    }
    this.wanted.set(sender, rids);
    void this.apply(sender);
  }

  /**
   * After each publisher answer: if the server took our simulcast video as one
   * layer, send that layer at full size; then apply publish_layers that
   * waited for their mid (and again the ones a failed setParameters missed).
   * @param {string} sdp the answer
   */
  afterAnswer(sdp) {
    const pc = this.room.publisher;
    if (!pc) return;
    /** @type {RTCRtpTransceiver[]} */
    let transceivers;
    try {
      transceivers = pc.getTransceivers();
    } catch {
      return;
    }
    const video = this.room._local.senders.video;
    const published = this.published;
    if (video && published && published.layers > 1) {
      const mid = transceivers.find((t) => t.sender === video)?.mid;
      const section = mid != null ? sdpSection(sdp, mid) : null;
      if (section && !section.some((l) => l.startsWith('a=simulcast:'))) {
        void this.setParams(video, (params) => {
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
      const rids = this.pending.get(tr.mid);
      if (rids) {
        this.pending.delete(tr.mid);
        this.wanted.set(tr.sender, rids);
      }
      if (this.wanted.has(tr.sender)) void this.apply(tr.sender);
    }
  }

  /**
   * A new camera track on our video sender (replaceTrack): the layers stay,
   * their bitrate caps follow the new capture height.
   * @param {RTCRtpSender} sender
   * @param {MediaStreamTrack} track
   */
  retune(sender, track) {
    const height = track.getSettings?.().height ?? 0;
    if (!height) return;
    if (this.published) this.published.height = height;
    void this.setParams(sender, (params) => {
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
}
