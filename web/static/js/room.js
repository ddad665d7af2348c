// Room page: /r/{room}?user={name: any script; the user ID is derived from it}[&template=1v1|1v3][&simulcast=0][&adaptive=0]
//   Without ?user= the pre-join screen (prejoin.js) comes first: preview, devices, name, muted.
//   simulcast=0 publishes the camera in one layer; adaptive=0 turns adaptive stream off
//   (the server then sends every video at the best layer the link allows).
//
// Test contract (kept stable on purpose):
//   window.openroom       the Room instance (set before join starts)
//   #state                textContent = the SDK state
//   [data-user=ID]        one tile per remote member, with a <video>; removed when it leaves
//                         (our own tile is #self-tile, without data-user)
//   #members li[data-user=ID]  one per member, ourselves included
//   .speaking             on the tile (and list item) of the loudest speaker, from the SDK's
//                         `speakers` event only; .is-large marks the big tile of 1v3/grid
//                         (the pinned member, else the last remote active speaker)
//   .quality[data-quality] on every tile (#self-tile too): excellent|good|poor|lost
//                         (the SDK's `quality` event; "unknown" until the server rated it)
//   [data-pinned=true]    the tile pinned by a click (click again to unpin)
//   #banner               errors and the kick reason
//   #leave #mute-audio #mute-video #copy-link #share-screen (aria-pressed while we share)
//   #toggle-board opens the whiteboard (see whiteboard.js for its contract)
//   [data-screen=ID]      a remote member's shared screen, a tile of its own, shown large
//   Chat: #toggle-chat opens/closes #chat-panel (body.chat-open; starts closed);
//   #chat-unread counts others' messages that arrived while it was closed (hidden at 0);
//   #chat-list li[data-msg-id] one per message (history too), with data-from (sender
//   userID, "" for system), .chat-from (sender's name), .chat-text, and class
//   chat-private (+ data-to) for private ones; #chat-input + #chat-send (or Enter) sends
//   to #chat-to ("" = everyone, else a userID).

import { Room } from '/sdk/openroom.js';
import { cleanName, idFor } from './names.js';
import { prejoin } from './prejoin.js';
import { mountWhiteboard } from './whiteboard.js';

// ---------------------------------------------------------------------------
// Icons (inline SVG, stroke style)

const svg = (body) =>
  `<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">${body}</svg>`;
const ICONS = {
  mic: svg('<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/>'),
  micOff: svg('<path d="M15 9.3V6a3 3 0 0 0-5.9-.8M9 9v2a3 3 0 0 0 4.6 2.5"/><path d="M19 11a7 7 0 0 1-1.1 3.8M5 11a7 7 0 0 0 10.8 5.9M12 18v3M3 3l18 18"/>'),
  cam: svg('<rect x="3" y="6" width="13" height="12" rx="2"/><path d="M16 10l5-3v10l-5-3z"/>'),
  camOff: svg('<path d="M16 16v1a1 1 0 0 1-1 1H5a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h1M10 6h5a1 1 0 0 1 1 1v3l5-3v10"/><path d="M3 3l18 18"/>'),
  gear: svg('<circle cx="12" cy="12" r="3"/><path d="M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z"/>'),
  link: svg('<path d="M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1"/><path d="M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"/>'),
  check: svg('<path d="M5 12l5 5L20 7"/>'),
  chat: svg('<path d="M4 5h16a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1h-9l-5 4v-4H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1z"/><path d="M8 10h8M8 13h5"/>'),
  people: svg('<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20a6.5 6.5 0 0 1 13 0"/><path d="M16 4.5a3.5 3.5 0 0 1 0 7M18 14a6.5 6.5 0 0 1 3.5 6"/>'),
  leave: svg('<path d="M3.5 14.5c5-4.7 12-4.7 17 0l-2 2.5-3.2-1.6v-2.6a9 9 0 0 0-6.6 0v2.6L5.5 17z"/>'),
  board: svg('<path d="M4 20l4-1 11-11-3-3L5 16z"/><path d="M14 6l3 3M3 4h9"/>'),
  screen: svg('<rect x="3" y="4" width="18" height="12" rx="2"/><path d="M8 20h8M12 16v4M12 13V7M9 10l3-3 3 3"/>'),
};

/** Signal bars of the connection-quality badge. */
const QUALITY_BARS =
  '<svg viewBox="0 0 16 16" aria-hidden="true" focusable="false">' +
  '<rect class="bar bar-1" x="1.5" y="10" width="3" height="4.5" rx="1"/>' +
  '<rect class="bar bar-2" x="6.5" y="6" width="3" height="8.5" rx="1"/>' +
  '<rect class="bar bar-3" x="11.5" y="1.5" width="3" height="13" rx="1"/></svg>';

// ---------------------------------------------------------------------------
// Helpers

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** A stable hue for a name, so everyone's avatar keeps its colour. */
function hueOf(/** @type {string} */ s) {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h % 360;
}

function initialsOf(/** @type {string} */ name) {
  // By code point, so "李雷" gives 李雷 and an emoji stays whole.
  const parts = name.replace(/[_-]+/g, ' ').trim().split(/\s+/).filter(Boolean).map((p) => Array.from(p));
  if (parts.length === 0) return '?';
  if (parts.length === 1) return parts[0].slice(0, 2).join('').toUpperCase();
  return (parts[0][0] + parts[parts.length - 1][0]).toUpperCase();
}

/** @param {HTMLElement} el @param {string} name */
function paintAvatar(el, name) {
  el.textContent = initialsOf(name);
  el.style.setProperty('--hue', String(hueOf(name)));
}

/** @param {HTMLMediaElement} el */
function playQuietly(el) {
  const p = el.play();
  if (p && typeof p.catch === 'function') {
    p.catch((err) => {
      if (err && err.name === 'NotAllowedError' && el instanceof HTMLAudioElement) showSoundHint();
    });
  }
}

// ---------------------------------------------------------------------------
// Page parameters

const params = new URLSearchParams(location.search);
const roomName = decodeURIComponent(location.pathname.split('/')[2] || '');
// ?user= is the name people see (any script); the ID is derived from it when it is not one.
// Without it, the pre-join screen asks for it (and for the devices) first.
const nameParam = cleanName(params.get('user') || '');
let displayName = nameParam;
let userID = nameParam ? idFor(nameParam) : '';
const NAME_KEY = 'openroom.name'; // the lobby's too
const PRIV_SEND_AUX = 64; // the legacy privilege to send the aux stream: a shared screen
const forcedTemplate = ['1v1', '1v3'].includes(params.get('template') ?? '') ? params.get('template') : null;
const shareURL = `${location.origin}/r/${encodeURIComponent(roomName)}`;
// The link is the address this page was opened with; from localhost it reaches no one else.
const linkIsLocal = /^(localhost|127(\.\d+){3}|\[::1\])$/.test(location.hostname) || location.hostname.endsWith('.localhost');

// ---------------------------------------------------------------------------
// Elements

const stateEl = $('state');
const statePill = $('state-pill');
const banner = $('banner');
const bannerText = $('banner-text');
const bannerAction = /** @type {HTMLButtonElement} */ ($('banner-action'));
const stage = $('stage');
const tilesEl = $('tiles');
const emptyState = $('empty-state');
const gridCount = $('grid-count');
const selfTile = $('self-tile');
const selfVideo = /** @type {HTMLVideoElement} */ ($('self-video'));
const membersEl = $('members');
const muteAudioBtn = /** @type {HTMLButtonElement} */ ($('mute-audio'));
const muteVideoBtn = /** @type {HTMLButtonElement} */ ($('mute-video'));
const copyBtn = /** @type {HTMLButtonElement} */ ($('copy-link'));
const leaveBtn = /** @type {HTMLButtonElement} */ ($('leave'));
const settingsBtn = /** @type {HTMLButtonElement} */ ($('settings'));
const shareBtn = /** @type {HTMLButtonElement} */ ($('share-screen'));
const settingsPanel = $('settings-panel');
const membersBtn = /** @type {HTMLButtonElement} */ ($('toggle-members'));
const chatBtn = /** @type {HTMLButtonElement} */ ($('toggle-chat'));
const chatList = $('chat-list');
const chatForm = /** @type {HTMLFormElement} */ ($('chat-form'));
const chatInput = /** @type {HTMLInputElement} */ ($('chat-input'));
const chatSend = /** @type {HTMLButtonElement} */ ($('chat-send'));
const chatTo = /** @type {HTMLSelectElement} */ ($('chat-to'));
const chatUnread = $('chat-unread');
const sidebar = $('sidebar');

document.title = `${roomName} · openroom`;
$('room-label').textContent = roomName;

$('link-hint').textContent = shareURL.replace(/^https?:\/\//, '');
if (linkIsLocal) {
  $('link-hint').classList.add('link-local');
  $('link-hint').title = `${location.hostname} reaches only this computer: open this page at the server's network address to invite others`;
}
copyBtn.dataset.link = shareURL;

/** @param {HTMLElement} btn @param {string} icon */
function setIcon(btn, icon) {
  const slot = btn.querySelector('.ctl-icon');
  if (slot) slot.innerHTML = icon;
}
setIcon(muteAudioBtn, ICONS.mic);
setIcon(muteVideoBtn, ICONS.cam);
setIcon(settingsBtn, ICONS.gear);
setIcon(shareBtn, ICONS.screen);
setIcon(/** @type {HTMLButtonElement} */ ($('toggle-board')), ICONS.board);
setIcon(copyBtn, ICONS.link);
setIcon(membersBtn, ICONS.people);
setIcon(chatBtn, ICONS.chat);
setIcon(leaveBtn, ICONS.leave);
for (const el of document.querySelectorAll('.ico-mic-off')) el.innerHTML = ICONS.micOff;
for (const el of document.querySelectorAll('.ico-cam-off')) el.innerHTML = ICONS.camOff;

// ---------------------------------------------------------------------------
// The room

const room = new Room({ adaptiveStream: params.get('adaptive') !== '0' });
// @ts-ignore: exposed for tests and for poking around in the console
window.openroom = room;

/** What the user did, to word the banner right. */
let leftByUser = false;
let kicked = false;

/**
 * Remote tiles by userID, in join order.
 * @type {Map<string, {el:HTMLElement, video:HTMLVideoElement, audio:HTMLAudioElement, name:HTMLElement, avatar:HTMLElement, quality:HTMLElement}>}
 */
const tiles = new Map();
/** userID pinned (by a click on its tile) as the big tile. @type {string|null} */
let pinned = null;
/** The last remote member the server named loudest speaker: the big tile unless one is pinned. @type {string|null} */
let featured = null;
/** The loudest speaker now (the first of the last `speakers`), ourselves included. @type {string|null} */
let loudest = null;
/** Chosen speaker (setSinkId), applied to new audio elements too. */
let sinkId = '';
/** Remote tracks whose mute/unmute we follow. @type {WeakSet<MediaStreamTrack>} */
const watchedTracks = new WeakSet();
/** When the join finished; no "joined" toasts for the members already there. */
let joinedAt = 0;

// ---------------------------------------------------------------------------
// State, banner, toasts

/** @param {string} state */
function showState(state) {
  stateEl.textContent = state;
  statePill.dataset.state = state;
  document.body.dataset.state = state;
}
showState(room.state);

/**
 * @param {string} text
 * @param {{kind?: 'error'|'warn'|'info', action?: {label:string, run:()=>void}}} [opts]
 */
function showBanner(text, opts = {}) {
  bannerText.textContent = text;
  banner.dataset.kind = opts.kind ?? 'error';
  if (opts.action) {
    bannerAction.textContent = opts.action.label;
    bannerAction.onclick = opts.action.run;
    bannerAction.hidden = false;
  } else {
    bannerAction.hidden = true;
    bannerAction.onclick = null;
  }
  banner.hidden = false;
}

function hideBanner() {
  banner.hidden = true;
  bannerText.textContent = '';
}
$('banner-close').addEventListener('click', hideBanner);

const rejoin = { label: 'Rejoin', run: () => location.reload() };

/** @param {string} text */
function toast(text, ms = 2600) {
  const el = document.createElement('div');
  el.className = 'toast';
  el.textContent = text;
  $('toasts').append(el);
  setTimeout(() => el.classList.add('toast-out'), ms);
  setTimeout(() => el.remove(), ms + 400);
  return el;
}

function showSoundHint() {
  $('sound-hint').hidden = false;
}

function enableSound() {
  $('sound-hint').hidden = true;
  for (const t of tiles.values()) playQuietly(t.audio);
}
$('enable-sound').addEventListener('click', enableSound);
document.addEventListener('pointerdown', () => {
  if (!$('sound-hint').hidden) enableSound();
});

// ---------------------------------------------------------------------------
// Member list

/**
 * @param {string} id
 * @param {string} name
 * @param {boolean} self
 */
function memberItem(id, name, self) {
  const li = document.createElement('li');
  li.className = 'member';
  li.dataset.user = id;
  li.dataset.audioMuted = 'false';
  li.dataset.videoMuted = 'false';
  if (self) li.classList.add('member-self');
  const av = document.createElement('span');
  av.className = 'avatar-sm';
  paintAvatar(av, name);
  const label = document.createElement('span');
  label.className = 'member-name';
  const nm = document.createElement('span');
  nm.className = 'member-nick';
  nm.textContent = name;
  label.append(nm);
  if (self) {
    const you = document.createElement('span');
    you.className = 'member-you';
    you.textContent = 'you';
    label.append(you);
  }
  const kind = document.createElement('span');
  kind.className = 'member-kind';
  kind.hidden = true;
  label.append(kind);
  const icons = document.createElement('span');
  icons.className = 'member-icons';
  icons.innerHTML =
    `<span class="ico ico-mic" title="Microphone on">${ICONS.mic}</span>` +
    `<span class="ico ico-mic-off" title="Microphone off">${ICONS.micOff}</span>` +
    `<span class="ico ico-cam" title="Camera on">${ICONS.cam}</span>` +
    `<span class="ico ico-cam-off" title="Camera off">${ICONS.camOff}</span>`;
  li.append(av, label, icons);
  return li;
}

const selfItem = memberItem(userID, displayName, true);

/** Shows who we are: in the header, on our tile and in the member list. */
function paintIdentity() {
  $('me-name').textContent = displayName;
  $('self-name').textContent = `${displayName} (you)`;
  paintAvatar($('self-initials'), displayName);
  selfItem.dataset.user = userID;
  /** @type {HTMLElement} */ (selfItem.querySelector('.member-nick')).textContent = displayName;
  paintAvatar(/** @type {HTMLElement} */ (selfItem.querySelector('.avatar-sm')), displayName);
}
paintIdentity();
membersEl.append(selfItem);

/** @param {string} id */
function listItem(id) {
  return /** @type {HTMLElement|null} */ (
    [...membersEl.querySelectorAll('li[data-user]')].find((li) => li.getAttribute('data-user') === id) ?? null
  );
}

/** @param {HTMLElement} el @param {{audioMuted:boolean, videoMuted:boolean}} m */
function paintMute(el, m) {
  el.dataset.audioMuted = String(!!m.audioMuted);
  el.dataset.videoMuted = String(!!m.videoMuted);
}

function updateCounts() {
  const n = tiles.size + 1;
  $('member-count').textContent = n === 1 ? '1 person' : `${n} people`;
  $('people-count').textContent = String(n);
  gridCount.textContent = `${n} people in the room`;
}

// ---------------------------------------------------------------------------
// Tiles

/**
 * A tile's <video> (muted: the sound goes through the <audio>, so autoplay always works)
 * and its <audio>, on the chosen speaker.
 */
function mediaElements() {
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true;
  video.setAttribute('autoplay', '');
  video.setAttribute('playsinline', '');
  video.setAttribute('muted', '');

  const audio = document.createElement('audio');
  audio.autoplay = true;
  audio.setAttribute('autoplay', '');
  if (sinkId && typeof (/** @type {any} */ (audio).setSinkId) === 'function') {
    /** @type {any} */ (audio).setSinkId(sinkId).catch(() => {});
  }
  return { video, audio };
}

/** @param {import('/sdk/openroom.js').Member | {userID:string, nickName?:string, kind?:string, audioMuted?:boolean, videoMuted?:boolean}} member */
function ensureTile(member) {
  let t = tiles.get(member.userID);
  if (t) return t;
  const el = document.createElement('div');
  el.className = 'tile tile-remote';
  el.dataset.user = member.userID;
  el.dataset.audioMuted = 'false';
  el.dataset.videoMuted = 'false';
  el.dataset.hasVideo = 'false';

  const { video, audio } = mediaElements();

  const avatarWrap = document.createElement('div');
  avatarWrap.className = 'avatar';
  const avatar = document.createElement('span');
  avatar.className = 'avatar-circle';
  avatarWrap.append(avatar);

  const label = document.createElement('div');
  label.className = 'tile-label';
  const name = document.createElement('span');
  name.className = 'tile-name';
  const icons = document.createElement('span');
  icons.className = 'tile-icons';
  icons.innerHTML =
    `<span class="ico ico-mic-off" title="Microphone off">${ICONS.micOff}</span>` +
    `<span class="ico ico-cam-off" title="Camera off">${ICONS.camOff}</span>`;
  label.append(name, icons);

  const quality = qualityBadge();
  el.append(video, audio, avatarWrap, label, quality);
  // A click pins the member as the big tile (when there is a choice); on the pinned tile, unpins.
  el.addEventListener('click', () => {
    if (pinned === member.userID && !el.classList.contains('is-strip')) setPinned(null);
    else if (tiles.size > 1 || el.classList.contains('is-strip')) setPinned(member.userID);
  });

  t = { el, video, audio, name, avatar, quality };
  tiles.set(member.userID, t);
  tilesEl.append(el);
  // The SDK keeps the video's srcObject on the member's stream and tells the
  // server how large the video is shown (adaptive stream).
  room.attach(member.userID, video);
  paintQuality(quality, room.members.get(member.userID)?.quality ?? null);
  el.classList.toggle('speaking', loudest === member.userID);
  updateTile(member.userID);
  return t;
}

/** @param {string|null} id */
function setPinned(id) {
  pinned = id && tiles.has(id) ? id : null;
  room.setPinned(pinned);
  for (const [uid, t] of tiles) t.el.dataset.pinned = String(uid === pinned);
  layout();
}

/** The connection-quality badge: three bars (data-quality colours them). */
function qualityBadge() {
  const el = document.createElement('span');
  el.className = 'quality';
  el.innerHTML = QUALITY_BARS;
  paintQuality(el, null);
  return el;
}

/**
 * @param {HTMLElement} el a .quality badge
 * @param {string|null} quality
 */
function paintQuality(el, quality) {
  const q = quality ?? 'unknown';
  el.dataset.quality = q;
  const text = quality ? `Connection: ${quality}` : 'Connection: not rated yet';
  el.title = text;
  el.setAttribute('aria-label', text);
  el.setAttribute('role', 'img');
}

/** Refreshes name, mute icons and the avatar-or-video choice of a remote tile. @param {string} id */
function updateTile(id) {
  const t = tiles.get(id);
  const m = room.members.get(id);
  if (!t) return;
  const nick = m?.nickName || id;
  t.name.textContent = nick;
  paintAvatar(t.avatar, nick);
  const stream = m?.stream ?? null;
  // (the <video> follows the stream through room.attach())
  if (t.audio.srcObject !== stream) {
    t.audio.srcObject = stream;
    if (stream) playQuietly(t.audio);
  }
  const vt = stream?.getVideoTracks()[0];
  const showVideo = !!vt && vt.readyState === 'live' && !vt.muted && !m?.videoMuted;
  t.el.dataset.hasVideo = String(showVideo);
  paintMute(t.el, { audioMuted: !!m?.audioMuted, videoMuted: !!m?.videoMuted });
  t.el.classList.toggle('is-rtmp', !!m && m.kind !== 'webrtc');

  const li = listItem(id);
  if (li) {
    paintMute(li, { audioMuted: !!m?.audioMuted, videoMuted: !!m?.videoMuted });
    const nickEl = li.querySelector('.member-nick');
    if (nickEl) nickEl.textContent = nick;
    const kindEl = /** @type {HTMLElement|null} */ (li.querySelector('.member-kind'));
    if (kindEl) {
      kindEl.hidden = !m || m.kind === 'webrtc';
      kindEl.textContent = m?.kind ?? '';
    }
  }
}

/** @param {string} id */
function removeTile(id) {
  const t = tiles.get(id);
  if (!t) return;
  room.detach(t.video);
  t.video.srcObject = null;
  t.audio.srcObject = null;
  t.el.remove();
  tiles.delete(id);
  if (pinned === id) {
    pinned = null;
    room.setPinned(null);
  }
  if (featured === id) featured = null;
}

// ---------------------------------------------------------------------------
// Shared screens: a tile of their own ([data-screen=ID]), shown large, the sharer's camera small

/** Remote screen shares by userID. @type {Map<string, {el: HTMLElement, video: HTMLVideoElement, audio: HTMLAudioElement, name: HTMLElement}>} */
const screens = new Map();

/**
 * Shows, updates or removes member id's screen tile, after its screenStream.
 * @param {string} id
 * @param {boolean} [gone] the member left
 */
function syncScreen(id, gone = false) {
  const m = gone ? undefined : room.members.get(id);
  const stream = m?.screenStream ?? null;
  const live = !!stream && stream.getVideoTracks().some((t) => t.readyState === 'live');
  let s = screens.get(id);
  if (!live) {
    if (s) {
      s.video.srcObject = null;
      s.audio.srcObject = null;
      s.el.remove();
      screens.delete(id);
      layout();
    }
    return;
  }
  if (!s) {
    const el = document.createElement('div');
    el.className = 'tile tile-remote tile-screen';
    el.dataset.screen = id;
    el.dataset.hasVideo = 'true';
    const { video, audio } = mediaElements();
    const label = document.createElement('div');
    label.className = 'tile-label';
    const name = document.createElement('span');
    name.className = 'tile-name';
    label.append(name);
    el.append(video, audio, label);
    s = { el, video, audio, name };
    screens.set(id, s);
    tilesEl.append(el);
    toast(`${m?.nickName || id} is sharing the screen`);
  }
  if (s.video.srcObject !== stream) {
    s.video.srcObject = stream;
    playQuietly(s.video);
    s.audio.srcObject = stream;
    playQuietly(s.audio);
  }
  s.name.textContent = `${m?.nickName || id} · screen`;
  layout();
}

function updateSelfTile() {
  const stream = room.localStream;
  if (selfVideo.srcObject !== stream) {
    selfVideo.srcObject = stream;
    if (stream) playQuietly(selfVideo);
  }
  const vt = stream?.getVideoTracks()[0];
  selfTile.dataset.hasVideo = String(!!vt && vt.readyState === 'live' && !room.videoMuted);
  paintMute(selfTile, { audioMuted: room.audioMuted, videoMuted: room.videoMuted });
  paintMute(selfItem, { audioMuted: room.audioMuted, videoMuted: room.videoMuted });

  const hasAudio = !!stream?.getAudioTracks().length;
  const hasVideo = !!vt;
  muteAudioBtn.setAttribute('aria-pressed', String(room.audioMuted));
  muteAudioBtn.classList.toggle('is-off', room.audioMuted);
  muteAudioBtn.querySelector('.ctl-label').textContent = room.audioMuted ? 'Unmute' : 'Mute';
  muteAudioBtn.title = room.audioMuted ? 'Unmute microphone (M)' : 'Mute microphone (M)';
  setIcon(muteAudioBtn, room.audioMuted ? ICONS.micOff : ICONS.mic);
  muteAudioBtn.classList.toggle('is-missing', !!stream && !hasAudio);

  muteVideoBtn.setAttribute('aria-pressed', String(room.videoMuted));
  muteVideoBtn.classList.toggle('is-off', room.videoMuted);
  muteVideoBtn.querySelector('.ctl-label').textContent = room.videoMuted ? 'Start video' : 'Stop video';
  muteVideoBtn.title = room.videoMuted ? 'Turn camera on (V)' : 'Turn camera off (V)';
  setIcon(muteVideoBtn, room.videoMuted ? ICONS.camOff : ICONS.cam);
  muteVideoBtn.classList.toggle('is-missing', !!stream && !hasVideo);
}

/**
 * Places the tiles:
 *   1v1   one remote big, us as a picture-in-picture (at most 1 remote)
 *   1v3   one remote large, us and the others (up to 2) small beside it (2-3 remotes)
 *   grid  one remote large (2x2 cells), everyone else in an even grid around it,
 *         with the head count (4+ remotes)
 * The big/large remote is the pinned one, else the last remote active speaker,
 * else the first to join. ?template=1v1|1v3 forces a template; remotes that do
 * not fit go to a strip.
 */
function layout() {
  // A shared screen counts as one more remote, and is the big tile unless someone is pinned.
  const shared = [...screens.values()];
  const remotes = [...shared, ...tiles.values()];
  const n = remotes.length;
  const template = forcedTemplate ?? (n <= 1 ? '1v1' : n <= 3 ? '1v3' : 'grid');
  stage.dataset.template = template;

  for (const t of [selfTile, ...remotes.map((r) => r.el)]) {
    t.classList.remove('is-main', 'is-pip', 'is-cell', 'is-strip', 'is-large');
    t.style.removeProperty('--i');
    t.style.removeProperty('order');
    t.style.removeProperty('grid-column');
    t.style.removeProperty('grid-row');
  }
  for (const p of ['grid-template-columns', 'grid-template-rows']) tilesEl.style.removeProperty(p);

  let strip = 0;
  /** @param {HTMLElement} el */
  const toStrip = (el) => {
    el.classList.add('is-strip');
    el.style.setProperty('--i', String(strip++));
  };
  const main = (pinned && tiles.get(pinned)) || shared[0] || (featured && tiles.get(featured)) || remotes[0];
  const others = remotes.filter((r) => r !== main);
  const wide = stage.clientWidth >= stage.clientHeight;

  if (template === '1v1') {
    if (main) main.el.classList.add('is-main');
    selfTile.classList.add('is-pip');
    for (const r of others) toStrip(r.el);
  } else if (template === '1v3') {
    // main large; us and up to two others small, in a column beside it (a row under it when tall)
    const small = [selfTile, ...others.slice(0, 2).map((r) => r.el)];
    for (const r of others.slice(2)) toStrip(r.el);
    small.forEach((el, i) => {
      el.classList.add('is-cell');
      el.style.order = String(i + 1);
    });
    const k = small.length;
    if (main) {
      main.el.classList.add('is-cell', 'is-large');
      main.el.style.order = '0';
      if (wide) {
        tilesEl.style.gridTemplateColumns = 'minmax(0, 3fr) minmax(0, 1fr)';
        tilesEl.style.gridTemplateRows = `repeat(${k}, minmax(0, 1fr))`;
        main.el.style.gridColumn = '1';
        main.el.style.gridRow = `1 / span ${k}`;
      } else {
        tilesEl.style.gridTemplateColumns = `repeat(${k}, minmax(0, 1fr))`;
        tilesEl.style.gridTemplateRows = 'minmax(0, 3fr) minmax(0, 1fr)';
        main.el.style.gridRow = '1';
        main.el.style.gridColumn = `1 / span ${k}`;
      }
    } else {
      tilesEl.style.gridTemplateColumns = 'minmax(0, 1fr)';
      tilesEl.style.gridTemplateRows = 'minmax(0, 1fr)';
    }
  } else {
    // main takes 2x2 cells, the others one each, placed around it (dense flow)
    const cells = n + 1 + (main ? 3 : 0);
    let cols = Math.ceil(Math.sqrt(cells));
    if (!wide) cols = Math.max(1, Math.floor(Math.sqrt(cells)));
    if (main) cols = Math.max(cols, wide ? 3 : 2);
    const rows = Math.ceil(cells / cols);
    tilesEl.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
    tilesEl.style.gridTemplateRows = `repeat(${rows}, minmax(0, 1fr))`;
    if (main) {
      main.el.classList.add('is-cell', 'is-large');
      main.el.style.order = '0';
      main.el.style.gridColumn = 'span 2';
      main.el.style.gridRow = 'span 2';
    }
    selfTile.classList.add('is-cell');
    selfTile.style.order = '1';
    others.forEach((r, i) => {
      r.el.classList.add('is-cell');
      r.el.style.order = String(i + 2);
    });
  }
  stage.classList.toggle('has-strip', strip > 0);
  stage.style.setProperty('--strip-count', String(strip));
  emptyState.hidden = !(template === '1v1' && n === 0);
  if (!emptyState.hidden) paintEmptyState();
  gridCount.hidden = template !== 'grid';
  updateCounts();
}

/** Who left last and why, so that an empty room does not read as if no one had come. */
let lastDeparture = /** @type {{nick: string, reason: string} | null} */ (null);

function paintEmptyState() {
  const title = $('empty-title');
  const text = $('empty-text');
  if (!lastDeparture) {
    title.textContent = "You're the first one here";
    text.textContent = 'Send the link to the people you want to talk to.';
    return;
  }
  const { nick, reason } = lastDeparture;
  const what = reason === 'kicked' ? 'was removed from the room' : reason === 'timeout' || reason === 'disconnected' ? 'lost the connection' : 'left';
  title.textContent = "You're the only one here now";
  text.textContent = `${nick} ${what}. Send the link to invite someone.`;
}

// ---------------------------------------------------------------------------
// SDK events

/** The server said it is going away (a restart or deploy): set until we are back. */
let serverRestarting = false;

room.on('goingaway', ({ within }) => {
  serverRestarting = true;
  const secs = Math.round(within / 1000);
  showBanner(`The server is shutting down${secs > 0 ? ` within ${secs} s` : ''} (a restart or update): you will be reconnected by yourself`, { kind: 'warn' });
});

room.on('reconnected', () => {
  if (serverRestarting) toast('Reconnected');
  serverRestarting = false;
});

room.on('state', ({ state }) => {
  showState(state);
  const ours = /^(Connection|The server is shutting down)/.test(bannerText.textContent ?? '');
  if (state === 'connected' && banner.dataset.kind === 'warn' && ours) hideBanner();
  if (state === 'connected') serverRestarting = false;
  if (state === 'reconnecting' && !serverRestarting) showBanner('Connection unstable, trying to recover…', { kind: 'warn' });
  setChatEnabled(state !== 'disconnected' && state !== 'connecting');
  if (state === 'disconnected') {
    for (const id of [...tiles.keys()]) {
      removeTile(id);
      listItem(id)?.remove();
      removeRecipient(id);
    }
    featured = null;
    showSpeaking(null);
    paintQuality(selfQuality, null);
    layout();
    updateSelfTile();
  }
});

room.on('localstream', () => updateSelfTile());

room.on('memberjoined', ({ member }) => {
  addRecipient(member.userID, member.nickName || member.userID);
  ensureTile(member);
  if (!listItem(member.userID)) membersEl.append(memberItem(member.userID, member.nickName || member.userID, false));
  updateTile(member.userID);
  layout();
  if (joinedAt > 0) toast(`${member.nickName || member.userID} joined`);
});

room.on('memberupdated', ({ member }) => {
  addRecipient(member.userID, member.nickName || member.userID);
  updateTile(member.userID);
});

room.on('memberleft', ({ userID: id, reason }) => {
  const nick = room.members.get(id)?.nickName || tiles.get(id)?.name.textContent || id;
  lastDeparture = { nick, reason };
  removeTile(id);
  syncScreen(id, true);
  listItem(id)?.remove();
  removeRecipient(id);
  layout();
  const why = reason === 'timeout' || reason === 'disconnected' ? ' (connection lost)' : reason === 'kicked' ? ' (removed)' : '';
  toast(`${nick} left${why}`);
});

/** @param {string} source a track's: a shared screen's or its sound's */
const isScreen = (source) => source === 'screen' || source === 'screen_audio';

room.on('track', ({ userID: id, track, source }) => {
  if (isScreen(source)) {
    syncScreen(id);
    track.addEventListener('ended', () => syncScreen(id));
    return;
  }
  ensureTile({ userID: id });
  if (!listItem(id)) membersEl.append(memberItem(id, room.members.get(id)?.nickName || id, false));
  if (!watchedTracks.has(track)) {
    // The owner may change when the server reuses a transceiver: look it up on each event.
    watchedTracks.add(track);
    const refresh = () => {
      for (const [uid, m] of room.members) if (m.stream?.getTracks().includes(track)) updateTile(uid);
    };
    track.addEventListener('mute', refresh);
    track.addEventListener('unmute', refresh);
    track.addEventListener('ended', refresh);
  }
  updateTile(id);
  layout();
});

room.on('trackremoved', ({ userID: id, source }) => {
  if (isScreen(source)) syncScreen(id);
  else updateTile(id);
});

room.on('mute', ({ userID: id, local }) => {
  if (local) updateSelfTile();
  else if (id) updateTile(id);
});

room.on('kicked', ({ reason }) => {
  kicked = true;
  showBanner(`You were disconnected: ${reason}`, { kind: 'error', action: rejoin });
});

room.on('disconnected', ({ code, reason }) => {
  if (kicked || leftByUser) return;
  showBanner(`Connection lost${reason ? `: ${reason}` : ''} (${code})`, { kind: 'error', action: rejoin });
});

room.on('error', ({ message }) => {
  if (room.state === 'disconnected') return;
  showBanner(message, { kind: 'warn' });
});

// ---------------------------------------------------------------------------
// Chat

let chatUnreadCount = 0;

function chatOpen() {
  return document.body.classList.contains('chat-open');
}

/** @param {boolean} open */
function setChatOpen(open) {
  document.body.classList.toggle('chat-open', open);
  chatBtn.setAttribute('aria-expanded', String(open));
  if (open) {
    // On narrow screens both panels float in the same place: one at a time.
    if (narrow.matches) {
      document.body.classList.add('members-hidden');
      membersBtn.setAttribute('aria-expanded', 'false');
    }
    setUnread(0);
    for (const el of document.querySelectorAll('.toast-chat')) el.remove(); // they are in the list now
    chatList.scrollTop = chatList.scrollHeight;
    if (!chatInput.disabled) chatInput.focus();
  }
}

/** @param {number} n */
function setUnread(n) {
  chatUnreadCount = n;
  chatUnread.textContent = n > 99 ? '99+' : String(n);
  chatUnread.hidden = n === 0;
  chatUnread.dataset.count = String(n);
  chatBtn.title = n > 0 ? `Chat: ${n} unread (C)` : 'Chat (C)';
}
setUnread(0);

/** @param {boolean} on */
function setChatEnabled(on) {
  chatInput.disabled = !on;
  chatSend.disabled = !on;
  chatTo.disabled = !on;
}
setChatEnabled(false);

/** @param {string} id @param {string} name */
function addRecipient(id, name) {
  let opt = [...chatTo.options].find((o) => o.value === id);
  if (!opt) {
    opt = new Option(name, id);
    chatTo.append(opt);
  }
  opt.textContent = name === id ? id : `${name} (${id})`;
}

/** @param {string} id */
function removeRecipient(id) {
  const opt = [...chatTo.options].find((o) => o.value === id);
  if (!opt) return;
  if (chatTo.value === id) {
    chatTo.value = '';
    updateChatTarget();
  }
  opt.remove();
}

function updateChatTarget() {
  const to = chatTo.value;
  chatForm.classList.toggle('is-private', to !== '');
  const name = to ? room.members.get(to)?.nickName || to : '';
  chatInput.placeholder = to ? `Private message to ${name}` : 'Message everyone';
}
chatTo.addEventListener('change', () => {
  updateChatTarget();
  chatInput.focus();
});

/** @param {number} time */
function clock(time) {
  const d = new Date(time);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** @param {string} id */
function nameOf(id) {
  if (id === room.userID) return 'you';
  return room.members.get(id)?.nickName || id;
}

/** @param {import('/sdk/openroom.js').ChatMessage} m */
function chatItem(m) {
  const li = document.createElement('li');
  li.className = 'chat-msg';
  li.dataset.msgId = String(m.id);
  li.dataset.from = m.from;
  if (m.self) li.classList.add('chat-self');
  if (m.system) li.classList.add('chat-system');
  if (m.history) li.classList.add('chat-history');

  const meta = document.createElement('div');
  meta.className = 'chat-meta';
  const from = document.createElement('span');
  from.className = 'chat-from';
  const sender = m.system ? m.nickName || 'System' : m.nickName || m.from;
  from.textContent = sender;
  from.style.setProperty('--hue', String(hueOf(sender)));
  if (!m.self && !m.system && m.from) {
    from.title = `Reply privately to ${sender}`;
    from.addEventListener('click', () => {
      if (![...chatTo.options].some((o) => o.value === m.from)) return; // gone
      chatTo.value = m.from;
      updateChatTarget();
      chatInput.focus();
    });
  }
  meta.append(from);
  if (m.to) {
    li.classList.add('chat-private');
    li.dataset.to = m.to;
    const tag = document.createElement('span');
    tag.className = 'chat-tag';
    tag.textContent = m.self ? `private to ${nameOf(m.to)}` : 'private';
    tag.title = 'Only the two of you see this message';
    meta.append(tag);
  }
  const time = document.createElement('time');
  time.className = 'chat-time';
  time.dateTime = new Date(m.time).toISOString();
  time.textContent = clock(m.time);
  meta.append(time);
  li.append(meta);

  if (m.text) {
    const text = document.createElement('div');
    text.className = 'chat-text';
    text.textContent = m.text;
    li.append(text);
  }
  if (m.data !== undefined) {
    const data = document.createElement('div');
    data.className = 'chat-data';
    let shown;
    try {
      shown = JSON.stringify(m.data);
    } catch {
      shown = String(m.data);
    }
    data.textContent = shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
    li.append(data);
  }
  return li;
}

/** @param {import('/sdk/openroom.js').ChatMessage} m */
function showMessage(m) {
  const id = String(m.id);
  if ([...chatList.children].some((li) => /** @type {HTMLElement} */ (li).dataset.msgId === id)) return false; // seen (a re-join's history)
  const atBottom = chatList.scrollHeight - chatList.scrollTop - chatList.clientHeight < 40;
  const li = chatItem(m);
  // Keep the server's order (ids increase per room).
  const after = [...chatList.children].find((el) => Number(/** @type {HTMLElement} */ (el).dataset.msgId) > m.id);
  chatList.insertBefore(li, after ?? null);
  $('chat-empty').hidden = true;
  if (atBottom || m.self) chatList.scrollTop = chatList.scrollHeight;
  return true;
}

room.on('message', (m) => {
  const added = showMessage(m);
  if (added && !m.history && !m.self && !chatOpen()) {
    setUnread(chatUnreadCount + 1);
    if (m.text) {
      const preview = m.text.length > 60 ? `${m.text.slice(0, 60)}…` : m.text;
      toast(`${m.nickName || m.from || 'System'}${m.to ? ' (private)' : ''}: ${preview}`).classList.add('toast-chat');
    }
  }
});

chatForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = chatInput.value.trim();
  if (!text || chatInput.disabled) return;
  const to = chatTo.value || undefined;
  chatInput.value = '';
  room.sendMessage(text, { to }).catch((err) => {
    if (leftByUser) return;
    // Give the text back so it is not lost.
    if (!chatInput.value) chatInput.value = text;
    const why = err?.code === 4290 ? 'you are sending too fast' : err?.code === 3 ? `${to} is not in the room any more` : err?.message ?? String(err);
    showBanner(`Message not sent: ${why}`, { kind: 'warn' });
  });
});

chatBtn.addEventListener('click', () => setChatOpen(!chatOpen()));

// The shared whiteboard, over the stage. Members who may send video or aux may draw.
const PRIV_DRAW = 16 | 64;
const boardBtn = /** @type {HTMLButtonElement} */ ($('toggle-board'));
const whiteboard = mountWhiteboard({
  room,
  nameOf: (id) => room.members.get(id)?.nickName || id,
  mayDraw: () => (room.privileges & PRIV_DRAW) !== 0,
  onUnseen: (n) => ($('board-unseen').hidden = n === 0),
});
function toggleBoard() {
  const open = whiteboard.toggle();
  boardBtn.setAttribute('aria-expanded', String(open));
  boardBtn.classList.toggle('is-on', open);
}
boardBtn.addEventListener('click', toggleBoard);
$('chat-close').addEventListener('click', () => setChatOpen(false));

// ---------------------------------------------------------------------------
// Controls

muteAudioBtn.addEventListener('click', () => room.setAudioMuted(!room.audioMuted));
muteVideoBtn.addEventListener('click', () => room.setVideoMuted(!room.videoMuted));

// Screen sharing: the browser's picker, then a second video track (the legacy aux stream).
// Hidden where the browser cannot share (phones) or the member may not (no send-aux privilege).
shareBtn.hidden = typeof navigator.mediaDevices?.getDisplayMedia !== 'function';

function paintShare() {
  const on = !!room.screenStream;
  shareBtn.setAttribute('aria-pressed', String(on));
  shareBtn.classList.toggle('is-on', on);
  shareBtn.querySelector('.ctl-label').textContent = on ? 'Stop sharing' : 'Share';
  shareBtn.title = on ? 'Stop sharing your screen' : 'Share your screen';
  document.body.classList.toggle('presenting', on);
}

shareBtn.addEventListener('click', async () => {
  if (room.screenStream) {
    room.stopScreen();
    return;
  }
  shareBtn.disabled = true;
  try {
    await room.shareScreen();
    toast('You are sharing your screen: everyone sees it large');
  } catch (err) {
    // Cancelling the browser's picker is not an error worth a banner.
    if (!(err instanceof Error && (err.name === 'NotAllowedError' || err.name === 'AbortError'))) {
      showBanner(`Could not share the screen: ${err instanceof Error ? err.message : err}`, { kind: 'warn' });
    }
  } finally {
    shareBtn.disabled = false;
    paintShare();
  }
});
room.on('localscreen', paintShare);

async function copyLink() {
  let ok = false;
  try {
    await navigator.clipboard.writeText(shareURL);
    ok = true;
  } catch {
    const ta = document.createElement('textarea');
    ta.value = shareURL;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.append(ta);
    ta.select();
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
  }
  copyBtn.dataset.copied = String(ok);
  if (ok && linkIsLocal) {
    toast(
      `Link copied, but it points to ${location.hostname}: only this computer can open it. ` +
        "Open this page at the server's network address (openroom prints it when it starts) and copy the link again.",
      8000,
    ).classList.add('toast-warn');
  } else if (ok) {
    toast('Link copied: send it to whoever you want to talk to');
    setIcon(copyBtn, ICONS.check);
    copyBtn.querySelector('.ctl-label').textContent = 'Copied';
    setTimeout(() => {
      setIcon(copyBtn, ICONS.link);
      copyBtn.querySelector('.ctl-label').textContent = 'Copy link';
    }, 2000);
  } else {
    window.prompt('Copy this link:', shareURL);
  }
}
copyBtn.addEventListener('click', () => void copyLink());
$('copy-link-empty').addEventListener('click', () => void copyLink());

function leave() {
  leftByUser = true;
  room.leave();
  hideBanner();
  settingsPanel.hidden = true;
  $('left-screen').hidden = false;
}
leaveBtn.addEventListener('click', leave);
$('rejoin').addEventListener('click', () => location.reload());

membersBtn.addEventListener('click', () => {
  const hidden = document.body.classList.toggle('members-hidden');
  membersBtn.setAttribute('aria-expanded', String(!hidden));
  if (!hidden && narrow.matches && chatOpen()) setChatOpen(false);
});
// On narrow screens the member list floats over the stage: start (and go back to) closed.
const narrow = window.matchMedia('(max-width: 900px)');
function followWidth() {
  document.body.classList.toggle('members-hidden', narrow.matches);
  membersBtn.setAttribute('aria-expanded', String(!narrow.matches));
}
followWidth();
narrow.addEventListener('change', followWidth);

document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
  const target = /** @type {HTMLElement} */ (ev.target);
  if (target && /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) return;
  if (ev.key === 'm' || ev.key === 'M') room.setAudioMuted(!room.audioMuted);
  else if (ev.key === 'v' || ev.key === 'V') room.setVideoMuted(!room.videoMuted);
  else if (ev.key === 'c' || ev.key === 'C') setChatOpen(!chatOpen());
  else if (ev.key === 'b' || ev.key === 'B') toggleBoard();
  else if (ev.key === 'Escape') settingsPanel.hidden = true;
});

// Devices popover

async function fillDevices() {
  let devices;
  try {
    devices = await Room.listDevices();
  } catch {
    return;
  }
  const current = {
    audioinput: room.localStream?.getAudioTracks()[0]?.getSettings().deviceId ?? '',
    videoinput: room.localStream?.getVideoTracks()[0]?.getSettings().deviceId ?? '',
    audiooutput: sinkId,
  };
  for (const kind of /** @type {const} */ (['audioinput', 'videoinput', 'audiooutput'])) {
    const sel = /** @type {HTMLSelectElement} */ ($(`select-${kind}`));
    sel.replaceChildren();
    const list = devices[kind];
    if (list.length === 0) {
      const o = new Option(kind === 'videoinput' ? 'No camera found' : kind === 'audioinput' ? 'No microphone found' : 'Default', '');
      sel.append(o);
      sel.disabled = true;
      continue;
    }
    sel.disabled = false;
    list.forEach((d, i) => {
      const label = d.label || `${kind === 'videoinput' ? 'Camera' : kind === 'audioinput' ? 'Microphone' : 'Speaker'} ${i + 1}`;
      sel.append(new Option(label, d.deviceId, false, d.deviceId === current[kind]));
    });
  }
  $('speaker-field').hidden = !('setSinkId' in HTMLMediaElement.prototype) || devices.audiooutput.length === 0;
}

settingsBtn.addEventListener('click', () => {
  const open = settingsPanel.hidden;
  settingsPanel.hidden = !open;
  settingsBtn.setAttribute('aria-expanded', String(open));
  if (open) void fillDevices();
});
document.addEventListener('pointerdown', (ev) => {
  const t = /** @type {Node} */ (ev.target);
  if (!settingsPanel.hidden && !settingsPanel.contains(t) && !settingsBtn.contains(t)) {
    settingsPanel.hidden = true;
    settingsBtn.setAttribute('aria-expanded', 'false');
  }
});
navigator.mediaDevices?.addEventListener?.('devicechange', () => {
  if (!settingsPanel.hidden) void fillDevices();
});

for (const kind of /** @type {const} */ (['audioinput', 'videoinput'])) {
  $(`select-${kind}`).addEventListener('change', async (ev) => {
    const id = /** @type {HTMLSelectElement} */ (ev.target).value;
    try {
      await room.switchDevice(kind, id);
      toast(kind === 'audioinput' ? 'Microphone switched' : 'Camera switched');
    } catch (err) {
      showBanner(`Could not switch ${kind === 'audioinput' ? 'microphone' : 'camera'}: ${err instanceof Error ? err.message : err}`, { kind: 'warn' });
    }
  });
}
$('select-audiooutput').addEventListener('change', async (ev) => {
  sinkId = /** @type {HTMLSelectElement} */ (ev.target).value;
  for (const t of [...tiles.values(), ...screens.values()]) { // a shared screen's sound too
    try {
      await /** @type {any} */ (t.audio).setSinkId(sinkId);
    } catch {
      // the device vanished: keep the old one
    }
  }
});

// Who is speaking: a soft ring around the loudest speaker's tile, from the
// server's `speakers` (no polling of stats here). The last remote one to be
// loudest gets the big tile (unless someone is pinned).

/** @param {string|null} id */
function showSpeaking(id) {
  loudest = id;
  for (const [uid, t] of tiles) {
    t.el.classList.toggle('speaking', uid === id);
    listItem(uid)?.classList.toggle('speaking', uid === id);
  }
  const me = id !== null && id === room.userID;
  selfTile.classList.toggle('speaking', me);
  selfItem.classList.toggle('speaking', me);
}

room.on('speakers', (list) => {
  const top = list[0]?.userID ?? null;
  showSpeaking(top);
  if (top && top !== room.userID && tiles.has(top) && featured !== top) {
    featured = top;
    if (!pinned) layout();
  }
});

// Connection quality on every tile, ourselves included.
const selfQuality = qualityBadge();
selfTile.append(selfQuality);

room.on('quality', (list) => {
  for (const { userID: id, quality } of list) {
    if (id === room.userID) paintQuality(selfQuality, quality);
    const t = tiles.get(id);
    if (t) paintQuality(t.quality, quality);
  }
});

let resizeTimer = 0;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(layout, 150);
});

window.addEventListener('pagehide', () => {
  if (room.state !== 'disconnected') room.leave();
});

// ---------------------------------------------------------------------------
// Go

layout();
updateSelfTile();

/**
 * Joins with what the pre-join screen chose (nothing when the link named us).
 * @param {Partial<import('./prejoin.js').PrejoinChoice>} choice
 */
function enter(choice = {}) {
  if (choice.audioMuted) room.setAudioMuted(true);
  if (choice.videoMuted) room.setVideoMuted(true);
  if (choice.speakerId) sinkId = choice.speakerId;
  return room.join({
    room: roomName,
    userID,
    nickName: displayName,
    simulcast: params.get('simulcast') !== '0',
    ...(choice.noDevices ? { audio: false, video: false } : {}),
    ...(choice.audioDeviceId ? { audioDeviceId: choice.audioDeviceId } : {}),
    ...(choice.videoDeviceId ? { videoDeviceId: choice.videoDeviceId } : {}),
  });
}

/** The pre-join screen, then the room; the link then names us, so a reload comes straight in. */
async function prejoinThenEnter() {
  let saved = '';
  try {
    saved = localStorage.getItem(NAME_KEY) || '';
  } catch {
    // storage disabled
  }
  const choice = await prejoin({ defaultName: cleanName(saved) });
  displayName = choice.name;
  userID = idFor(displayName);
  paintIdentity();
  params.set('user', displayName);
  history.replaceState(null, '', `${location.pathname}?${params}`);
  try {
    localStorage.setItem(NAME_KEY, displayName);
  } catch {
    // ignore
  }
  return enter(choice);
}

if (!roomName) {
  showBanner('This page needs a room name: /r/{room}', { kind: 'error' });
} else {
  (nameParam ? enter() : prejoinThenEnter())
    .then((info) => {
      joinedAt = performance.now();
      if (info.userID && info.userID !== userID) selfItem.dataset.user = info.userID;
      if ((info.privileges & PRIV_SEND_AUX) === 0) shareBtn.hidden = true;
    })
    .catch((err) => {
      if (leftByUser || err?.code === 'aborted') return;
      showBanner(`Could not join the room: ${err?.message ?? err}`, { kind: 'error', action: rejoin });
    });
}
