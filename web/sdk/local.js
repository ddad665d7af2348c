// Our own media: the tracks of room.localStream published on the publisher
// connection (one sender per kind, the camera in simulcast layers), mute,
// publish() after join and switchDevice() without renegotiation, and a shared
// screen (one more video sender, and one for its sound: the legacy aux
// stream). Devices are opened by devices.js.
//
// Of the room it uses its session, state, localStream, events, the signal
// client (mute), the transport (negotiation) and the simulcast layers.

import { OpenRoomError, errorMessage } from './errors.js';
import { mediaDevices, openDevice, openScreen, openTracks } from './devices.js';
import { preferH264, screenBitrate, simulcastEncodings } from './simulcast.js';

/** The legacy privilege to send the aux stream: a shared screen. */
const PRIV_SEND_AUX = 64;

/** @typedef {import('./room.js').Room} Room */
/** @typedef {import('./openroom.js').PublishOptions} PublishOptions */

export class LocalMedia {
  /** @param {Room} room */
  constructor(room) {
    this.room = room;
    this.audioMuted = false;
    this.videoMuted = false;
    /** Whether new camera tracks are published with simulcast. */
    this.simulcast = true;
    /** Our publisher senders by kind. @type {{audio?:RTCRtpSender, video?:RTCRtpSender}} */
    this.senders = {};
    /** The shared screen and its sound, while we share. @type {MediaStream|null} */
    this.screen = null;
    /** Their transceivers on the publisher (none before it exists, or after a rejoin until re-added). @type {RTCRtpTransceiver[]} */
    this.screenTransceivers = [];
  }

  /**
   * Whether a kind is muted: its tracks are published disabled.
   * @param {'audio'|'video'} kind
   */
  muted(kind) {
    return kind === 'audio' ? this.audioMuted : this.videoMuted;
  }

  /**
   * @param {'audio'|'video'} kind
   * @param {boolean} muted
   */
  setMuted(kind, muted) {
    const room = this.room;
    if (kind === 'audio') this.audioMuted = muted;
    else this.videoMuted = muted;
    const tracks = room.localStream ? (kind === 'audio' ? room.localStream.getAudioTracks() : room.localStream.getVideoTracks()) : [];
    tracks.forEach((t) => (t.enabled = !muted));
    if (room.state === 'connected' || room.state === 'reconnecting') room._signal.send({ type: 'mute', kind, muted });
    room._emit('mute', { userID: room.userID, kind, muted, local: true });
  }

  /**
   * Reports a device that stops while it is ours (unplugged, or revoked).
   * @param {MediaStreamTrack} track
   */
  watch(track) {
    const room = this.room;
    track.addEventListener('ended', () => {
      if (room.localStream?.getTracks().includes(track) && room.state !== 'disconnected') {
        room._emitError('media', `the ${track.kind === 'audio' ? 'microphone' : 'camera'} stopped (${track.label || 'device'} ended)`);
      }
    });
  }

  /**
   * The camera/mic opened for a join become the local stream, published as
   * soon as the publisher connection is there.
   * @param {MediaStream} stream
   */
  adopt(stream) {
    const room = this.room;
    stream.getAudioTracks().forEach((t) => (t.enabled = !this.audioMuted));
    stream.getVideoTracks().forEach((t) => (t.enabled = !this.videoMuted));
    stream.getTracks().forEach((t) => this.watch(t));
    room.localStream = stream;
    room._emit('localstream', { stream });
    if (room._transport.pub) this.publishAll();
  }

  /** Publishes the local tracks not published yet (one per kind), and the shared screen. */
  publishAll() {
    const stream = this.room.localStream;
    if (!this.room.publisher) return;
    let added = 0;
    for (const track of stream?.getTracks() ?? []) {
      if (stream && this.add(track, stream)) added++;
    }
    if (this.screen && this.screenTransceivers.length === 0 && this.addScreen(this.screen)) added++;
    if (added > 0) this.room._transport.negotiatePublisher();
  }

  /**
   * What the publisher's sending m-lines carry, by mid, for the offer: the
   * shared screen's are named; the rest are the camera and microphone.
   * @returns {Record<string, 'screen'|'screen_audio'>}
   */
  sources() {
    /** @type {Record<string, 'screen'|'screen_audio'>} */
    const out = {};
    for (const tr of this.screenTransceivers) {
      if (tr.mid != null) out[tr.mid] = tr.sender.track?.kind === 'audio' ? 'screen_audio' : 'screen';
    }
    return out;
  }

  /**
   * Shares the screen (see Room.shareScreen).
   * @param {{audio?: boolean, frameRate?: number, contentHint?: string}} [options]
   * @returns {Promise<MediaStream>}
   */
  async shareScreen(options) {
    const room = this.room;
    if ((room.state !== 'connected' && room.state !== 'reconnecting') || !room._transport.pub) {
      throw new OpenRoomError('state', 'shareScreen: join a room first');
    }
    if ((room.privileges & PRIV_SEND_AUX) === 0) {
      throw new OpenRoomError('forbidden', `shareScreen: this member may not send a screen (privilege ${PRIV_SEND_AUX}, send aux video, is not in ${room.privileges})`);
    }
    if (this.screen) return this.screen;
    const session = room._session;
    const stream = await openScreen(options);
    if (session !== room._session || this.screen) {
      stream.getTracks().forEach((t) => t.stop());
      throw new OpenRoomError('aborted', 'shareScreen: the room was left, or another share began, meanwhile');
    }
    // The browser's own "Stop sharing" ends the video track.
    stream.getVideoTracks()[0].addEventListener('ended', () => {
      if (this.screen === stream) this.stopScreen();
    });
    this.screen = stream;
    if (this.addScreen(stream)) room._transport.negotiatePublisher();
    room._emit('localscreen', { stream });
    return stream;
  }

  /**
   * Adds the screen's transceivers: one layer at full resolution (a screen is
   * read, not watched: no simulcast), and its sound.
   * @param {MediaStream} stream
   * @returns {boolean}
   */
  addScreen(stream) {
    const room = this.room;
    const pc = room.publisher;
    if (!pc) return false;
    try {
      const video = stream.getVideoTracks()[0];
      const { width = 1280, height = 720 } = video.getSettings?.() ?? {};
      const init = /** @type {RTCRtpTransceiverInit} */ ({ direction: 'sendonly', streams: [stream] });
      const vt = pc.addTransceiver(video, { ...init, sendEncodings: [{ maxBitrate: screenBitrate(width, height) }] });
      preferH264(vt);
      this.screenTransceivers = [vt];
      const params = vt.sender.getParameters();
      if (params && 'degradationPreference' in params) {
        /** @type {any} */ (params).degradationPreference = 'maintain-resolution';
        vt.sender.setParameters(params).catch(() => {});
      }
      const audio = stream.getAudioTracks()[0];
      if (audio) this.screenTransceivers.push(pc.addTransceiver(audio, init));
      return true;
    } catch (err) {
      room._emitError('webrtc', `cannot publish the screen: ${errorMessage(err)}`);
      return false;
    }
  }

  /** Stops sharing the screen (see Room.stopScreen). */
  stopScreen() {
    const stream = this.screen;
    if (!stream) return;
    const room = this.room;
    this.screen = null;
    const trs = this.screenTransceivers;
    this.screenTransceivers = [];
    stream.getTracks().forEach((t) => t.stop());
    const pc = room.publisher;
    if (pc && pc.connectionState !== 'closed' && trs.length > 0) {
      for (const tr of trs) {
        try {
          tr.stop(); // its m-line goes inactive: the server unpublishes the track
        } catch {
          // the connection closed meanwhile
        }
      }
      room._transport.negotiatePublisher();
    }
    room._emit('localscreen', { stream: null });
  }

  /**
   * Adds a sendonly transceiver for one of our tracks to the publisher.
   * @param {MediaStreamTrack} track
   * @param {MediaStream} stream
   * @returns {boolean}
   */
  add(track, stream) {
    const room = this.room;
    const pc = room.publisher;
    if (!pc) return false;
    const kind = /** @type {'audio'|'video'} */ (track.kind);
    if (this.senders[kind]) return false; // one track per kind
    try {
      /** @type {RTCRtpTransceiverInit} */
      const init = { direction: 'sendonly', streams: [stream] };
      /** @type {RTCRtpTransceiver} */
      let tr;
      if (kind === 'video') {
        const height = track.getSettings?.().height ?? 0;
        const encodings = simulcastEncodings(height, this.simulcast);
        try {
          tr = pc.addTransceiver(track, { ...init, sendEncodings: encodings });
          room._layers.published = { height, layers: encodings.length };
        } catch (err) {
          // A browser without sendEncodings support: one layer, its own bitrate.
          console.warn('openroom: simulcast not available:', errorMessage(err));
          tr = pc.addTransceiver(track, init);
          room._layers.published = { height, layers: 1 };
        }
        preferH264(tr);
      } else {
        tr = pc.addTransceiver(track, init);
      }
      this.senders[kind] = tr.sender;
      return true;
    } catch (err) {
      room._emitError('webrtc', `cannot publish ${kind}: ${errorMessage(err)}`);
      return false;
    }
  }

  /**
   * Switches the microphone or camera (see Room.switchDevice).
   * @param {'audioinput'|'videoinput'} kind
   * @param {string} deviceId
   * @returns {Promise<MediaStreamTrack>} the new local track
   */
  async switchDevice(kind, deviceId) {
    const room = this.room;
    if (kind !== 'audioinput' && kind !== 'videoinput') {
      throw new OpenRoomError('param', `switchDevice: kind must be "audioinput" or "videoinput", not ${JSON.stringify(kind)}`);
    }
    const md = mediaDevices();
    if (room.state === 'disconnected') throw new OpenRoomError('state', 'switchDevice: not in a room');
    const stream = room.localStream;
    if (!stream) throw new OpenRoomError('state', 'switchDevice: camera/microphone are still being opened');
    const mediaKind = kind === 'audioinput' ? 'audio' : 'video';
    const session = room._session;
    const old = (mediaKind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks())[0];

    const track = await openDevice(md, mediaKind, deviceId, old);
    if (session !== room._session) {
      track.stop();
      throw new OpenRoomError('aborted', 'switchDevice: the room was left meanwhile');
    }
    track.enabled = !this.muted(mediaKind);
    this.watch(track);

    const pc = room.publisher;
    const sender = this.senders[mediaKind];
    if (pc && sender && pc.connectionState !== 'closed') {
      try {
        await sender.replaceTrack(track);
      } catch (err) {
        track.stop();
        throw new OpenRoomError('webrtc', `replaceTrack failed: ${errorMessage(err)}`);
      }
      if (session !== room._session) {
        track.stop();
        throw new OpenRoomError('aborted', 'switchDevice: the room was left meanwhile');
      }
      if (mediaKind === 'video') room._layers.retune(sender, track);
    } else if (pc && room._transport.pub && pc.connectionState !== 'closed') {
      // Nothing of this kind is published yet: add it (this one renegotiates).
      if (this.add(track, stream)) room._transport.negotiatePublisher();
    }
    // Before `joined` there is no publisher yet: the new track is published with the stream.

    if (old) {
      stream.removeTrack(old);
      old.stop();
    }
    stream.addTrack(track);
    room._emit('localstream', { stream });
    return track;
  }

  /**
   * Publishes local media after join (see Room.publish).
   * @param {PublishOptions} [options]
   * @returns {Promise<MediaStream>}
   */
  async publish(options) {
    const room = this.room;
    const opts = options || {};
    if (room.state === 'disconnected' || room._signal.joinWaiter || !room._transport.pub) {
      throw new OpenRoomError('state', 'publish: join a room first');
    }
    if (typeof opts.simulcast === 'boolean') this.simulcast = opts.simulcast;
    const session = room._session;
    const given = opts.stream || null;
    /** @type {MediaStream} */
    let fresh;
    if (given) {
      fresh = given;
    } else {
      const audio = opts.audio !== false;
      const video = opts.video !== false;
      if (!audio && !video) throw new OpenRoomError('param', 'publish: neither audio nor video asked for');
      fresh = await openTracks({ audio, video, audioDeviceId: opts.audioDeviceId, videoDeviceId: opts.videoDeviceId });
    }
    if (session !== room._session) {
      if (!given) fresh.getTracks().forEach((t) => t.stop());
      throw new OpenRoomError('aborted', 'publish: the room was left meanwhile');
    }
    const stream = room.localStream || (room.localStream = new MediaStream());
    for (const track of fresh.getTracks()) {
      const kind = /** @type {'audio'|'video'} */ (track.kind);
      const old = stream.getTracks().find((t) => t.kind === kind);
      if (old === track) continue;
      track.enabled = !this.muted(kind);
      this.watch(track);
      const sender = this.senders[kind];
      if (sender) {
        try {
          await sender.replaceTrack(track);
        } catch (err) {
          throw new OpenRoomError('webrtc', `replaceTrack failed: ${errorMessage(err)}`);
        }
        if (session !== room._session) throw new OpenRoomError('aborted', 'publish: the room was left meanwhile');
        if (kind === 'video') room._layers.retune(sender, track);
      }
      if (old) {
        stream.removeTrack(old);
        old.stop();
      }
      stream.addTrack(track);
    }
    this.publishAll();
    room._emit('localstream', { stream });
    return stream;
  }
}
