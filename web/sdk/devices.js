// Capture devices: listing cameras and microphones and opening them with the
// SDK's constraints and fallbacks. Nothing here knows the room; local.js
// publishes what these functions open (a screen capture would be opened here
// too, and published there).

import { OpenRoomError, errorMessage } from './errors.js';

/** @typedef {import('./openroom.js').DeviceList} DeviceList */
/** @typedef {import('./openroom.js').JoinOptions} JoinOptions */

/**
 * Lists media devices by kind. Labels are empty until the page got camera/mic
 * permission once.
 * @returns {Promise<DeviceList>}
 */
export async function listDevices() {
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
 * navigator.mediaDevices; throws where getUserMedia is missing (a page that
 * is neither https nor localhost).
 * @returns {MediaDevices}
 */
export function mediaDevices() {
  const md = globalThis.navigator?.mediaDevices;
  if (!md?.getUserMedia) throw new OpenRoomError('media', 'getUserMedia is not available (https or localhost needed)');
  return md;
}

/**
 * getUserMedia constraints for the microphone, or for the camera at 640x480, 30 fps.
 * @param {'audio'|'video'} kind
 * @param {string} [deviceId]
 * @returns {MediaTrackConstraints|boolean}
 */
function constraints(kind, deviceId) {
  if (kind === 'audio') {
    return deviceId ? { deviceId: { exact: deviceId } } : true;
  }
  /** @type {MediaTrackConstraints} */
  const c = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };
  if (deviceId) c.deviceId = { exact: deviceId };
  return c;
}

/**
 * Opens camera/mic for a join as asked; falls back to what works (and calls
 * `warn` with what failed) rather than failing: an empty stream at worst.
 * @param {JoinOptions} opts
 * @param {(message: string) => void} warn
 * @returns {Promise<MediaStream>}
 */
export async function openMedia(opts, warn) {
  const wantAudio = opts.audio !== false;
  const wantVideo = opts.video !== false;
  const stream = new MediaStream();
  if (!wantAudio && !wantVideo) return stream;
  const md = globalThis.navigator?.mediaDevices;
  if (!md?.getUserMedia) {
    warn('camera and microphone need a secure page (https or localhost); joining without them');
    return stream;
  }
  /** @type {Array<{audio?:any, video?:any}>} */
  const attempts = [];
  const audio = wantAudio ? constraints('audio', opts.audioDeviceId) : undefined;
  const video = wantVideo ? constraints('video', opts.videoDeviceId) : undefined;
  if (audio && video) attempts.push({ audio, video }, { audio }, { video });
  else if (audio) attempts.push({ audio });
  else attempts.push({ video });
  /** @type {unknown} */
  let firstErr = null;
  for (const c of attempts) {
    try {
      const got = await md.getUserMedia(c);
      if (firstErr) {
        warn(`could not open ${audio && video ? 'camera and microphone' : c.audio ? 'microphone' : 'camera'} together (${errorMessage(firstErr)}); publishing ${c.audio ? 'audio' : 'video'} only`);
      }
      return got;
    } catch (err) {
      firstErr ??= err;
    }
  }
  warn(`cannot open camera/microphone (${errorMessage(firstErr)}); joining without them`);
  return stream;
}

/**
 * Opens the microphone and/or camera for publish().
 * @param {{audio: boolean, video: boolean, audioDeviceId?: string, videoDeviceId?: string}} opts
 * @returns {Promise<MediaStream>}
 */
export async function openTracks(opts) {
  const md = mediaDevices();
  try {
    return await md.getUserMedia({
      audio: opts.audio ? constraints('audio', opts.audioDeviceId) : false,
      video: opts.video ? constraints('video', opts.videoDeviceId) : false,
    });
  } catch (err) {
    throw new OpenRoomError('media', `cannot open camera/microphone: ${errorMessage(err)}`);
  }
}

/**
 * Opens another microphone or camera, to replace `old`. Some devices cannot
 * open two cameras at once: then the old track is stopped and it is tried again.
 * @param {MediaDevices} md
 * @param {'audio'|'video'} kind
 * @param {string} deviceId
 * @param {MediaStreamTrack|undefined} old
 * @returns {Promise<MediaStreamTrack>}
 */
export async function openDevice(md, kind, deviceId, old) {
  const c = constraints(kind, deviceId);
  /** @type {MediaStream} */
  let fresh;
  try {
    fresh = await md.getUserMedia({ [kind]: c });
  } catch (err) {
    if (!old || /** @type {any} */ (err)?.name !== 'NotReadableError') {
      throw new OpenRoomError('media', `cannot open ${kind} device: ${errorMessage(err)}`);
    }
    old.stop();
    try {
      fresh = await md.getUserMedia({ [kind]: c });
    } catch (err2) {
      throw new OpenRoomError('media', `cannot open ${kind} device: ${errorMessage(err2)}`);
    }
  }
  const track = (kind === 'audio' ? fresh.getAudioTracks() : fresh.getVideoTracks())[0];
  if (!track) throw new OpenRoomError('media', `no ${kind} track from device ${deviceId}`);
  return track;
}

/**
 * Opens the browser's screen picker (getDisplayMedia): a screen, window or tab,
 * with its sound where the browser offers it. The video track is hinted as
 * text, so the encoder keeps it sharp rather than smooth. Rejects with the
 * browser's error (NotAllowedError when the user cancels the picker).
 * @param {{audio?: boolean, frameRate?: number, contentHint?: string}} [opts]
 * @returns {Promise<MediaStream>}
 */
export async function openScreen(opts = {}) {
  const md = globalThis.navigator?.mediaDevices;
  if (!md?.getDisplayMedia) throw new OpenRoomError('media', 'this browser cannot share the screen (no getDisplayMedia)');
  const stream = await md.getDisplayMedia({
    video: { frameRate: { ideal: opts.frameRate ?? 15, max: 30 } },
    audio: opts.audio !== false,
  });
  const video = stream.getVideoTracks()[0];
  if (!video) {
    stream.getTracks().forEach((t) => t.stop());
    throw new OpenRoomError('media', 'the browser shared no video');
  }
  if ('contentHint' in video) video.contentHint = opts.contentHint ?? 'text';
  return stream;
}
