// The other members of the room and their media: room.members kept up to date
// from the server (member_joined, member_left, track_published, mute, ...),
// each member's stream built from the subscriber's remote tracks, who speaks,
// and connection quality.
//
// Of the room it uses members, userID, events and the subscriber connection, and
// it tells the adaptive stream when a member's media changes (elements
// attach()ed to it follow).

/** @typedef {import('./room.js').Room} Room */
/** @typedef {import('./openroom.js').Member} Member */
/** @typedef {import('./openroom.js').PublishedTrack} PublishedTrack */
/** @typedef {import('./openroom.js').SpeakerInfo} SpeakerInfo */
/** @typedef {import('./openroom.js').QualityInfo} QualityInfo */
/** @typedef {import('./openroom.js').ConnectionQuality} ConnectionQuality */
/** @typedef {import('./openroom.js').TrackSource} TrackSource */

/** @type {ReadonlySet<string>} */
const QUALITIES = new Set(['excellent', 'good', 'poor', 'lost']);

/**
 * A PublishedTrack from a server track object (track_published or Member.tracks).
 * @param {any} t
 * @returns {PublishedTrack}
 */
function publishedTrack(t) {
  /** @type {PublishedTrack} */
  const out = { trackID: t.trackID, kind: t.kind, codec: t.codec, muted: !!t.muted, source: sourceOf(t) };
  if (typeof t.simulcast === 'boolean') out.simulcast = t.simulcast;
  if (Array.isArray(t.rids)) out.rids = t.rids.filter((/** @type {unknown} */ r) => typeof r === 'string');
  return out;
}

/** The stream id suffix of a member's shared screen (and its sound): "{userID}.screen". */
const SCREEN_SUFFIX = '.screen';

/**
 * A track's source from the server, defaulting by kind (older servers name none).
 * @param {any} t
 * @returns {TrackSource}
 */
function sourceOf(t) {
  if (t.source === 'camera' || t.source === 'microphone' || isScreenSource(t.source)) return t.source;
  return sourceFor(t.kind, false);
}

/** @param {string|undefined} source */
const isScreenSource = (source) => source === 'screen' || source === 'screen_audio';

/**
 * The source of a track of kind that is, or is not, part of a shared screen.
 * @param {'audio'|'video'} kind
 * @param {boolean} screen
 * @returns {TrackSource}
 */
const sourceFor = (kind, screen) => (screen ? (kind === 'audio' ? 'screen_audio' : 'screen') : kind === 'audio' ? 'microphone' : 'camera');

/**
 * Who a remote stream id belongs to, and whether it is their shared screen.
 * @param {string} id
 * @returns {{userID: string, screen: boolean}}
 */
function ownerOf(id) {
  return id.endsWith(SCREEN_SUFFIX) ? { userID: id.slice(0, -SCREEN_SUFFIX.length), screen: true } : { userID: id, screen: false };
}

/**
 * The member's stream a track of `screen`-ness belongs in.
 * @param {Member} member
 * @param {boolean} screen
 */
const slotOf = (member, screen) => (screen ? member.screenStream : member.stream);

export class Participants {
  /** @param {Room} room */
  constructor(room) {
    this.room = room;
    /** trackID -> {userID, kind, source} from track_published / member lists. @type {Map<string, {userID:string, kind:string, source?:TrackSource}>} */
    this.trackInfo = new Map();
    /** Members that left: late tracks of theirs must not bring them back. @type {Set<string>} */
    this.gone = new Set();
    /** Latest `speakers`, loudest first. @type {SpeakerInfo[]} */
    this.speakers = [];
    /** Connection quality by userID, ourselves included. @type {Map<string, ConnectionQuality>} */
    this.quality = new Map();
    /** Remote streams whose removetrack we already watch. @type {WeakSet<MediaStream>} */
    this.watchedStreams = new WeakSet();
    /** Remote tracks whose `ended` we already watch. @type {WeakSet<MediaStreamTrack>} */
    this.watchedTracks = new WeakSet();
  }

  /** A new join: nothing known about anybody. */
  reset() {
    this.trackInfo = new Map();
    this.gone = new Set();
    this.speakers = [];
    this.quality = new Map();
  }

  /**
   * Adds or updates a remote member from a server Member object.
   * @param {any} m
   * @returns {Member|null}
   */
  upsert(m) {
    const room = this.room;
    if (m.userID === room.userID) return null;
    let member = room.members.get(m.userID);
    const isNew = !member;
    if (!member) {
      member = {
        userID: m.userID,
        nickName: m.userID,
        kind: 'webrtc',
        audioMuted: false,
        videoMuted: false,
        stream: null,
        screenStream: null,
        tracks: [],
        quality: this.quality.get(m.userID) ?? null,
      };
      room.members.set(m.userID, member);
    }
    if (typeof m.nickName === 'string' && m.nickName) member.nickName = m.nickName;
    if (typeof m.kind === 'string' && m.kind) member.kind = m.kind;
    if (typeof m.audioMuted === 'boolean') member.audioMuted = m.audioMuted;
    if (typeof m.videoMuted === 'boolean') member.videoMuted = m.videoMuted;
    if (Array.isArray(m.tracks)) {
      member.tracks = m.tracks.filter((/** @type {any} */ t) => t && typeof t.trackID === 'string').map(publishedTrack);
      for (const t of member.tracks) this.trackInfo.set(t.trackID, { userID: member.userID, kind: t.kind, source: t.source });
    }
    room._emit(isNew ? 'memberjoined' : 'memberupdated', { member });
    return member;
  }

  /** @param {any} msg member_joined */
  onJoined(msg) {
    if (msg.member && typeof msg.member.userID === 'string') {
      this.gone.delete(msg.member.userID);
      this.upsert(msg.member);
    }
  }

  /**
   * @param {string} userID
   * @param {string} reason
   */
  remove(userID, reason) {
    const room = this.room;
    const member = room.members.get(userID);
    if (!member) return;
    for (const t of [...(member.stream?.getTracks() ?? []), ...(member.screenStream?.getTracks() ?? [])]) this.dropTrack(member, t);
    for (const t of member.tracks) {
      this.trackInfo.delete(t.trackID);
      room._adaptive.forgetTrack(t.trackID);
    }
    room.members.delete(userID);
    this.gone.add(userID);
    this.quality.delete(userID);
    room._adaptive.memberLeft(userID);
    room._emit('memberleft', { userID, reason });
  }

  /** @param {any} msg member_left */
  onLeft(msg) {
    if (typeof msg.userID === 'string') this.remove(msg.userID, msg.reason ?? 'left');
  }

  /**
   * Everybody leaves (we join again after the server lost our session): they
   * come back with the new session.
   * @param {string} reason
   */
  removeAll(reason) {
    for (const id of [...this.room.members.keys()]) this.remove(id, reason);
    this.gone.clear();
  }

  /**
   * Removes a track from a member's stream and emits trackremoved.
   * @param {Member} member
   * @param {MediaStreamTrack} track
   * @param {string} [trackID] the published trackID, when known
   */
  dropTrack(member, track, trackID) {
    const screen = !!member.screenStream?.getTracks().includes(track);
    const stream = screen ? member.screenStream : member.stream;
    if (!stream || !stream.getTracks().includes(track)) return;
    stream.removeTrack(track);
    if (stream.getTracks().length === 0) {
      if (screen) member.screenStream = null;
      else member.stream = null;
    }
    const room = this.room;
    room._adaptive.sync(member.userID);
    room._adaptive.changed();
    const kind = /** @type {'audio'|'video'} */ (track.kind);
    room._emit('trackremoved', { userID: member.userID, kind, trackID: trackID ?? track.id, source: sourceFor(kind, screen) });
  }

  /** @param {RTCTrackEvent} ev */
  onRemoteTrack(ev) {
    const track = ev.track;
    const remoteStream = ev.streams?.[0];
    const info = this.trackInfo.get(track.id);
    const owner = remoteStream?.id ? ownerOf(remoteStream.id) : info ? { userID: info.userID, screen: isScreenSource(info.source) } : null;
    if (!owner) {
      console.warn('openroom: a remote track without a stream id; ignored', track.id);
      return;
    }
    this.attachTrack(owner.userID, track, remoteStream, owner.screen);
  }

  /**
   * Makes `track` part of `userID`'s member stream (and of nobody else's).
   * @param {string} userID
   * @param {MediaStreamTrack} track
   * @param {MediaStream} [remoteStream] the browser's stream for it, when known
   * @param {boolean} [screen] it is the member's shared screen (or its sound): it goes in screenStream
   */
  attachTrack(userID, track, remoteStream, screen = false) {
    const room = this.room;
    if (track.readyState === 'ended' || userID === room.userID || this.gone.has(userID)) return;

    // A transceiver reused for another member (or moved between a camera and a
    // screen) hands us the same track again.
    for (const other of room.members.values()) {
      if (other.userID !== userID && (other.stream?.getTracks().includes(track) || other.screenStream?.getTracks().includes(track))) this.dropTrack(other, track);
    }

    const member = room.members.get(userID) ?? this.upsert({ userID });
    if (!member) return;
    if (slotOf(member, screen)?.getTracks().includes(track)) return; // already ours
    if (slotOf(member, !screen)?.getTracks().includes(track)) this.dropTrack(member, track);
    for (const t of slotOf(member, screen)?.getTracks() ?? []) {
      if (t.kind === track.kind) this.dropTrack(member, t); // one track per kind and stream
    }
    let stream = slotOf(member, screen);
    if (!stream) {
      stream = new MediaStream();
      if (screen) member.screenStream = stream;
      else member.stream = stream;
    }
    stream.addTrack(track);

    if (remoteStream && !this.watchedStreams.has(remoteStream)) {
      this.watchedStreams.add(remoteStream);
      remoteStream.addEventListener('removetrack', (e) => {
        const owner = room.members.get(ownerOf(remoteStream.id).userID);
        if (owner && e.track) this.dropTrack(owner, e.track);
      });
    }
    if (!this.watchedTracks.has(track)) {
      this.watchedTracks.add(track);
      track.addEventListener('ended', () => {
        for (const m of room.members.values()) this.dropTrack(m, track);
      });
    }
    room._adaptive.sync(userID);
    const kind = /** @type {'audio'|'video'} */ (track.kind);
    room._emit('track', { userID, kind, track, stream, source: sourceFor(kind, screen) });
    room._adaptive.changed();
  }

  /**
   * After each subscriber negotiation, lines our member streams up with what
   * the remote description says (m-section mid -> msid stream id = userID):
   * catches a reused transceiver whose stream changed without a track event,
   * and tracks whose m-section went inactive.
   */
  reconcile() {
    const room = this.room;
    const pc = room.subscriber;
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
        const owner = ownerOf(info.owner);
        this.attachTrack(owner.userID, track, undefined, owner.screen);
      } else if (!info.active) {
        for (const m of room.members.values()) this.dropTrack(m, track);
      }
    }
  }

  /** @param {any} msg */
  onTrackPublished(msg) {
    if (typeof msg.userID !== 'string' || typeof msg.trackID !== 'string') return;
    this.gone.delete(msg.userID);
    const member = this.room.members.get(msg.userID) ?? this.upsert({ userID: msg.userID });
    if (!member) return;
    const fresh = publishedTrack(msg);
    this.trackInfo.set(msg.trackID, { userID: msg.userID, kind: msg.kind, source: fresh.source });
    const i = member.tracks.findIndex((t) => t.trackID === msg.trackID);
    if (i < 0) member.tracks.push(fresh);
    else member.tracks[i] = { ...fresh, muted: member.tracks[i].muted };
    this.room._adaptive.changed();
  }

  /** @param {any} msg */
  onTrackUnpublished(msg) {
    if (typeof msg.userID !== 'string' || typeof msg.trackID !== 'string') return;
    this.trackInfo.delete(msg.trackID);
    const member = this.room.members.get(msg.userID);
    if (!member) return;
    const gone = member.tracks.find((t) => t.trackID === msg.trackID);
    member.tracks = member.tracks.filter((t) => t.trackID !== msg.trackID);
    this.room._adaptive.forgetTrack(msg.trackID);
    const stream = isScreenSource(msg.source ?? gone?.source) ? member.screenStream : member.stream;
    if (!stream) return;
    let track = stream.getTracks().find((t) => t.id === msg.trackID);
    if (!track && msg.kind) {
      // The browser may keep an older track id on a reused transceiver: take the
      // one track of that kind that no current publication claims.
      const published = new Set(member.tracks.map((t) => t.trackID));
      const orphans = stream.getTracks().filter((t) => t.kind === msg.kind && !published.has(t.id));
      if (orphans.length === 1) track = orphans[0];
    }
    if (track) this.dropTrack(member, track, msg.trackID);
  }

  /** @param {any} msg */
  onMute(msg) {
    const room = this.room;
    if (typeof msg.userID !== 'string' || (msg.kind !== 'audio' && msg.kind !== 'video')) return;
    const muted = !!msg.muted;
    if (msg.userID === room.userID) return;
    const member = room.members.get(msg.userID);
    if (member) {
      if (msg.kind === 'audio') member.audioMuted = muted;
      else member.videoMuted = muted;
      for (const t of member.tracks) if (t.kind === msg.kind && !isScreenSource(t.source)) t.muted = muted; // mute is the camera's and microphone's
    }
    room._emit('mute', { userID: msg.userID, kind: msg.kind, muted });
  }

  /** @param {any} msg speakers: {speakers: [{userID, level}]} */
  onSpeakers(msg) {
    /** @type {SpeakerInfo[]} */
    const speakers = [];
    for (const s of Array.isArray(msg.speakers) ? msg.speakers : []) {
      if (!s || typeof s.userID !== 'string' || !s.userID) continue;
      const level = typeof s.level === 'number' && Number.isFinite(s.level) ? Math.min(1, Math.max(0, s.level)) : 0;
      speakers.push({ userID: s.userID, level });
    }
    this.speakers = speakers;
    this.room._emit('speakers', this.room.activeSpeakers);
  }

  /** @param {any} msg quality: {members: [{userID, quality}]} (all at first, then the changed ones) */
  onQuality(msg) {
    /** @type {QualityInfo[]} */
    const changed = [];
    for (const q of Array.isArray(msg.members) ? msg.members : []) {
      if (!q || typeof q.userID !== 'string' || !QUALITIES.has(q.quality)) continue;
      const quality = /** @type {ConnectionQuality} */ (q.quality);
      this.quality.set(q.userID, quality);
      const member = this.room.members.get(q.userID);
      if (member) member.quality = quality;
      changed.push({ userID: q.userID, quality });
    }
    if (changed.length > 0) this.room._emit('quality', changed);
  }
}
