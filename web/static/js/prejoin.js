// The pre-join screen: a camera preview, device choice, a name, and whether to come in
// muted or with the camera off. A denied or missing device gets a plain explanation and
// Retry (and a way in without it). Resolves with what was chosen when Join is pressed.
//
// Test contract: #prejoin (shown while it runs), #prejoin-video, #prejoin-name,
// #prejoin-audioinput / #prejoin-videoinput / #prejoin-audiooutput, #prejoin-mic-off,
// #prejoin-cam-off, #prejoin-error (with data-error = denied|missing|busy|other),
// #prejoin-retry, #prejoin-without, #prejoin-join.

import { cleanName } from './names.js';

/**
 * @typedef {object} PrejoinChoice
 * @property {string} name          the display name (cleaned)
 * @property {string} audioDeviceId '' for the default
 * @property {string} videoDeviceId '' for the default
 * @property {string} speakerId     '' for the default
 * @property {boolean} audioMuted
 * @property {boolean} videoMuted
 * @property {boolean} noDevices    join without camera and microphone (they were refused or missing)
 */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** Words for a getUserMedia failure, and what to do about it. @param {unknown} err */
export function explainMediaError(err) {
  const name = err instanceof Error || (err && typeof err === 'object' && 'name' in err) ? String(/** @type {any} */ (err).name) : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return {
        kind: 'denied',
        text:
          'The browser blocked the camera and microphone for this page. Allow them (the camera icon in the ' +
          'address bar, or the site settings), then press Retry.',
      };
    case 'NotFoundError':
    case 'OverconstrainedError':
      return { kind: 'missing', text: 'No camera or microphone was found. Connect one and press Retry, or join without.' };
    case 'NotReadableError':
    case 'AbortError':
      return {
        kind: 'busy',
        text: 'The camera or microphone could not start: another app may be using it. Close that app and press Retry.',
      };
  }
  return { kind: 'other', text: `The camera and microphone could not start (${name || String(err)}). Press Retry, or join without.` };
}

/**
 * Runs the pre-join screen until Join.
 * @param {{defaultName: string, onName?: (name: string) => void}} opts
 * @returns {Promise<PrejoinChoice>}
 */
export function prejoin({ defaultName, onName }) {
  const root = $('prejoin');
  const video = /** @type {HTMLVideoElement} */ ($('prejoin-video'));
  const nameInput = /** @type {HTMLInputElement} */ ($('prejoin-name'));
  const errorBox = $('prejoin-error');
  const note = $('prejoin-preview-note');
  const retry = /** @type {HTMLButtonElement} */ ($('prejoin-retry'));
  const without = /** @type {HTMLButtonElement} */ ($('prejoin-without'));
  const join = /** @type {HTMLButtonElement} */ ($('prejoin-join'));
  const micOff = /** @type {HTMLInputElement} */ ($('prejoin-mic-off'));
  const camOff = /** @type {HTMLInputElement} */ ($('prejoin-cam-off'));
  const selects = {
    audioinput: /** @type {HTMLSelectElement} */ ($('prejoin-audioinput')),
    videoinput: /** @type {HTMLSelectElement} */ ($('prejoin-videoinput')),
    audiooutput: /** @type {HTMLSelectElement} */ ($('prejoin-audiooutput')),
  };
  /** @type {MediaStream|null} */
  let stream = null;
  let generation = 0;

  root.hidden = false;
  document.body.classList.add('prejoining');
  nameInput.value = defaultName;
  nameInput.addEventListener('input', () => onName?.(cleanName(nameInput.value)));

  function stopPreview() {
    stream?.getTracks().forEach((t) => t.stop());
    stream = null;
    video.srcObject = null;
  }

  function showError(/** @type {unknown} */ err) {
    const { kind, text } = explainMediaError(err);
    errorBox.textContent = text;
    errorBox.dataset.error = kind;
    errorBox.hidden = false;
    note.textContent = kind === 'denied' ? 'Camera blocked' : 'No camera';
    retry.hidden = false;
    without.hidden = false;
    root.dataset.media = 'failed';
  }

  async function fillDevices() {
    const list = await navigator.mediaDevices.enumerateDevices().catch(() => /** @type {MediaDeviceInfo[]} */ ([]));
    const current = {
      audioinput: stream?.getAudioTracks()[0]?.getSettings().deviceId ?? '',
      videoinput: stream?.getVideoTracks()[0]?.getSettings().deviceId ?? '',
      audiooutput: selects.audiooutput.value,
    };
    for (const kind of /** @type {const} */ (['audioinput', 'videoinput', 'audiooutput'])) {
      const sel = selects[kind];
      const devices = list.filter((d) => d.kind === kind && d.deviceId);
      sel.replaceChildren(new Option(kind === 'audiooutput' ? 'System default' : 'Default', ''));
      devices.forEach((d, i) => {
        const label = d.label || `${kind === 'videoinput' ? 'Camera' : kind === 'audioinput' ? 'Microphone' : 'Speaker'} ${i + 1}`;
        sel.append(new Option(label, d.deviceId, false, d.deviceId === current[kind]));
      });
      sel.disabled = kind !== 'audiooutput' && !stream;
    }
    /** @type {HTMLElement} */ (selects.audiooutput.closest('.field')).hidden =
      !('setSinkId' in HTMLMediaElement.prototype) || !list.some((d) => d.kind === 'audiooutput');
  }

  async function preview() {
    const gen = ++generation;
    stopPreview();
    errorBox.hidden = true;
    note.textContent = 'Camera off';
    retry.hidden = true;
    without.hidden = true;
    root.dataset.media = 'starting';
    const audio = selects.audioinput.value ? { deviceId: { exact: selects.audioinput.value } } : true;
    const videoC = selects.videoinput.value ? { deviceId: { exact: selects.videoinput.value } } : true;
    try {
      if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('this page is not in a secure context (https or localhost)'), { name: 'SecurityError' });
      const s = await navigator.mediaDevices.getUserMedia({ audio, video: videoC });
      if (gen !== generation) {
        s.getTracks().forEach((t) => t.stop());
        return;
      }
      stream = s;
      video.srcObject = s;
      void video.play().catch(() => {});
      root.dataset.media = 'ready';
    } catch (err) {
      if (gen !== generation) return;
      showError(err);
    }
    await fillDevices();
  }

  selects.audioinput.addEventListener('change', () => void preview());
  selects.videoinput.addEventListener('change', () => void preview());
  retry.addEventListener('click', () => void preview());
  camOff.addEventListener('change', () => root.classList.toggle('cam-off', camOff.checked));

  return new Promise((resolve) => {
    const finish = (/** @type {boolean} */ withoutDevices) => {
      const name = cleanName(nameInput.value);
      if (!name) {
        nameInput.focus();
        nameInput.setCustomValidity('Your name, as the others will see it');
        nameInput.reportValidity();
        return;
      }
      const choice = {
        name,
        audioDeviceId: stream?.getAudioTracks()[0]?.getSettings().deviceId ?? selects.audioinput.value,
        videoDeviceId: stream?.getVideoTracks()[0]?.getSettings().deviceId ?? selects.videoinput.value,
        speakerId: selects.audiooutput.value,
        audioMuted: micOff.checked,
        videoMuted: camOff.checked,
        noDevices: withoutDevices,
      };
      generation++;
      stopPreview(); // the room opens its own camera and microphone with these devices
      root.hidden = true;
      document.body.classList.remove('prejoining');
      resolve(choice);
    };
    nameInput.addEventListener('input', () => nameInput.setCustomValidity(''));
    $('prejoin-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      finish(root.dataset.media === 'failed');
    });
    without.addEventListener('click', () => finish(true));
    void preview();
    (nameInput.value ? join : nameInput).focus();
  });
}
