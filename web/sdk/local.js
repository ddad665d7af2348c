// Our own media: the tracks of room.localStream published on the publisher
// connection (one sender per kind, the camera in simulcast layers), mute,
// publish() after join and switchDevice() without renegotiation. Devices are
// opened by devices.js; a screen share would be one more sender here.
//
// Of the room it uses its session, state, localStream, events, the signal
// client (mute), the transport (negotiation) and the simulcast layers.

import { OpenRoomError, errorMessage } from './errors.js';
import { mediaDevices, openDevice, openTracks } from './devices.js';
import { preferH264, simulcastEncodings } from './simulcast.js';

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

  /** Publishes the local tracks not published yet (one per kind). */
  publishAll() {
    const stream = this.room.localStream;
    if (!stream || !this.room.publisher) return;
    let added = 0;
    for (const track of stream.getTracks()) {
      if (this.add(track, stream)) added++;
    }
    if (added > 0) this.room._transport.negotiatePublisher();
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
