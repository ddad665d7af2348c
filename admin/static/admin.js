// openroom admin page. It polls GET /admin/api/rooms every 2 s and keeps one
// element per room, member and track, updated in place (so a button is never
// swapped out from under the pointer). Kick and Close call the API after a
// confirm(). The admin token stays in this tab's sessionStorage and only ever
// leaves in the Authorization header.
//
// Test hooks: #admin-token, #admin-login, #admin-error, [data-room="{room}"],
// [data-member="{room}/{user}"], .kick, .close-room; rates in
// .kbps-in / .kbps-out cells whose data-kbps holds the number.

const API = new URL('../api/', import.meta.url); // /admin/api/
const TOKEN_KEY = 'openroom.admin.token';
const POLL_MS = 2000;

const KIND_LABELS = { webrtc: 'Browser', rtmp: 'Mini-program / RTMP', http: 'Legacy HTTP' };
const KIND_HINTS = {
  webrtc: 'WebRTC over /ws',
  rtmp: 'mini-program <live-pusher> or an RTMP pusher, through the bridge',
  http: 'legacy client that only heartbeats over HTTP so far',
};

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** Creates an element: el('td', {className: 'x'}, child, 'text', ...). */
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

/** Sets text only when it changed (keeps selections and avoids layout work). */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// ---------------------------------------------------------------------------
// Formatting

function fmtRate(kbps) {
  if (!kbps) return '0 kbit/s';
  if (kbps >= 1000) return `${(kbps / 1000).toFixed(2)} Mbit/s`;
  return `${kbps < 10 ? kbps.toFixed(1) : Math.round(kbps)} kbit/s`;
}

function fmtBytes(n) {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}

function fmtCount(n) {
  return Number(n || 0).toLocaleString('en-US');
}

function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

function fmtClock(ms) {
  return new Date(ms).toLocaleString();
}

function codecName(mime) {
  return (mime || '').replace(/^(audio|video)\//i, '') || '?';
}

function stateClass(state) {
  switch (state) {
    case 'connected':
    case 'completed':
      return 'ok';
    case 'new':
    case 'checking':
    case 'connecting':
      return 'warn';
    case 'disconnected':
    case 'failed':
    case 'closed':
      return 'bad';
    default:
      return 'none';
  }
}

// ---------------------------------------------------------------------------
// Errors

let errorSource = ''; // 'load' errors clear on the next good poll; 'action' ones stay

function showError(text, source = 'action') {
  errorSource = source;
  setText($('admin-error-text'), text);
  $('admin-error').hidden = false;
}

function clearError(source) {
  if (source && errorSource !== source) return;
  errorSource = '';
  $('admin-error').hidden = true;
  setText($('admin-error-text'), '');
}

$('admin-error-close').addEventListener('click', () => clearError());

// ---------------------------------------------------------------------------
// API

let token = sessionStorage.getItem(TOKEN_KEY) || '';

class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(new URL(path, API), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (err) {
    throw new APIError(0, 0, `cannot reach the server (${err.message})`);
  }
  let data = null;
  try {
    data = await res.json();
  } catch {}
  if (!res.ok) throw new APIError(res.status, data?.code ?? 0, data?.message || `HTTP ${res.status}`);
  return data;
}

const enc = encodeURIComponent;

// ---------------------------------------------------------------------------
// Sign in / out

let generation = 0; // bumped on sign-in and sign-out: older poll loops stop
let seq = 0; // request order: an older answer never overwrites a newer one
let shown = 0;

function showLogin() {
  $('dashboard').hidden = true;
  $('admin-logout').hidden = true;
  $('live').hidden = true;
  $('login').hidden = false;
  $('admin-token').focus();
}

function showDashboard() {
  $('login').hidden = true;
  $('dashboard').hidden = false;
  $('admin-logout').hidden = false;
  $('live').hidden = false;
}

function signOut(message) {
  generation++;
  token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  for (const v of roomViews.values()) v.el.remove();
  roomViews.clear();
  showLogin();
  if (message) showError(message, 'auth');
  else clearError();
}

/** Handles a failed call; true when the caller should go on polling. */
function failed(err, what) {
  if (err.status === 401) {
    signOut(`The server refused the admin token: ${err.message}`);
    return false;
  }
  if (err.status === 404 && err.code === 4040) {
    showError(err.message, 'load'); // admin disabled on the server
    return true;
  }
  showError(`${what}: ${err.message}`, what === 'Loading rooms' ? 'load' : 'action');
  return true;
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const value = /** @type {HTMLInputElement} */ ($('admin-token')).value.trim();
  if (!value) {
    showError('Enter the admin token.', 'auth');
    return;
  }
  clearError(); // a new attempt: the last one's message no longer applies
  const button = /** @type {HTMLButtonElement} */ ($('admin-login'));
  button.disabled = true;
  token = value;
  const gen = ++generation;
  try {
    await load(gen);
    sessionStorage.setItem(TOKEN_KEY, value);
    /** @type {HTMLInputElement} */ ($('admin-token')).value = '';
    clearError();
    showDashboard();
    poll(gen);
  } catch (err) {
    if (err.status === 401) {
      token = '';
      showError('Wrong token: the server refused it.', 'auth');
    } else {
      failed(err, 'Signing in');
    }
  } finally {
    button.disabled = false;
  }
});

$('admin-logout').addEventListener('click', () => signOut());

// ---------------------------------------------------------------------------
// Polling

/** Fetches the listing and renders it (unless a newer answer was shown already). */
async function load(gen = generation) {
  const mine = ++seq;
  const data = await api('rooms');
  if (gen !== generation || mine < shown) return;
  shown = mine;
  render(data);
  setLive('ok', `live · ${new Date().toLocaleTimeString()}`);
}

async function poll(gen) {
  while (gen === generation) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    if (gen !== generation) return;
    if (document.hidden) continue; // nothing to watch; catch up when shown again
    try {
      await load(gen);
      clearError('load');
    } catch (err) {
      if (gen !== generation) return;
      setLive('stale', 'not updating');
      if (!failed(err, 'Loading rooms')) return;
    }
  }
}

/** Loads now (after an action), outside the polling rhythm. */
function refresh() {
  load().catch((err) => failed(err, 'Loading rooms'));
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && token) refresh();
});

function setLive(state, text) {
  $('live').dataset.state = state;
  setText($('live-text'), text);
}

// ---------------------------------------------------------------------------
// Actions

async function kick(room, user, button) {
  if (!confirm(`Kick ${user} out of room ${room}?\n\nTheir page will say they were removed by the operator.`)) return;
  button.disabled = true;
  try {
    await api(`rooms/${enc(room)}/members/${enc(user)}/kick`, { method: 'POST', body: {} });
    clearError('action');
    roomViews.get(room)?.members.get(user)?.el.remove();
    roomViews.get(room)?.members.delete(user);
  } catch (err) {
    failed(err, `Kicking ${user} from ${room}`);
  } finally {
    button.disabled = false;
  }
  refresh();
}

async function closeRoom(room, button) {
  const n = roomViews.get(room)?.members.size ?? 0;
  const who = n === 1 ? '1 member' : `${n} members`;
  if (!confirm(`Close room ${room}?\n\nIts ${who} will be disconnected.`)) return;
  button.disabled = true;
  try {
    await api(`rooms/${enc(room)}/close`, { method: 'POST', body: {} });
    clearError('action');
    roomViews.get(room)?.el.remove();
    roomViews.delete(room);
  } catch (err) {
    failed(err, `Closing ${room}`);
  } finally {
    button.disabled = false;
  }
  refresh();
}

// ---------------------------------------------------------------------------
// Rendering

/** @type {Map<string, {el: HTMLElement, parts: Record<string, HTMLElement>, members: Map<string, any>}>} */
const roomViews = new Map();
let lastData = null;

$('filter').addEventListener('input', () => {
  if (lastData) render(lastData);
});

function render(data) {
  lastData = data;
  renderSummary(data.stats);
  const filter = /** @type {HTMLInputElement} */ ($('filter')).value.trim().toLowerCase();
  const container = $('rooms');
  const names = new Set();
  let prev = null;
  let visible = 0;
  for (const r of data.rooms) {
    names.add(r.room);
    let v = roomViews.get(r.room);
    if (!v) {
      v = createRoom(r.room);
      roomViews.set(r.room, v);
    }
    updateRoom(v, r, data.now);
    const match =
      !filter ||
      r.room.toLowerCase().includes(filter) ||
      r.members.some((m) => m.userID.toLowerCase().includes(filter) || (m.nickName || '').toLowerCase().includes(filter));
    v.el.hidden = !match;
    if (match) visible++;
    placeAfter(container, v.el, prev);
    prev = v.el;
  }
  for (const [name, v] of roomViews) {
    if (!names.has(name)) {
      v.el.remove();
      roomViews.delete(name);
    }
  }
  $('empty').hidden = data.rooms.length > 0;
  $('no-match').hidden = data.rooms.length === 0 || visible > 0;
}

/** Puts node right after prev (first when prev is null), moving it only if needed. */
function placeAfter(parent, node, prev) {
  const want = prev ? prev.nextSibling : parent.firstChild;
  if (want !== node) parent.insertBefore(node, want);
}

function renderSummary(st) {
  setText($('sum-rooms'), fmtCount(st.rooms));
  setText($('sum-members'), fmtCount(st.members));
  const k = st.membersByKind || {};
  setText(
    $('sum-kinds'),
    `${k.webrtc || 0} browser · ${k.rtmp || 0} mini-program/RTMP · ${k.http || 0} legacy`,
  );
  setText($('sum-tracks'), fmtCount(st.tracks));
  setText($('sum-in'), fmtRate(st.kbpsIn));
  setText($('sum-out'), fmtRate(st.kbpsOut));
  const m = st.media || {};
  setText($('sum-bytes'), `${fmtBytes(m.bytesIn || 0)} in`);
  setText($('sum-repair'), `${fmtBytes(m.bytesOut || 0)} out · ${fmtCount(m.nacks)} NACKs · ${fmtCount(m.keyframeRequests)} keyframe req.`);
}

function createRoom(name) {
  const parts = {
    name: el('h3', { className: 'room-name', textContent: name }),
    info: el('span', { className: 'room-info' }),
    count: el('span', { className: 'room-count' }),
    age: el('span', { className: 'room-age' }),
    rate: el('span', { className: 'room-rate' }),
    close: el('button', { className: 'btn btn-danger btn-small close-room', type: 'button', textContent: 'Close room' }),
    tbody: el('tbody'),
  };
  parts.close.addEventListener('click', () => closeRoom(name, parts.close));
  const table = el(
    'table',
    { className: 'members' },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { textContent: 'Member' }),
        el('th', { textContent: 'Kind' }),
        el('th', { textContent: 'State' }),
        el('th', { textContent: 'Joined' }),
        el('th', { textContent: 'Last seen' }),
        el('th', { textContent: 'Tracks' }),
        el('th', { className: 'actions-col' }, el('span', { className: 'sr-only', textContent: 'Actions' })),
      ),
    ),
    parts.tbody,
  );
  const root = el(
    'section',
    { className: 'room card', dataset: { room: name } },
    el(
      'header',
      { className: 'room-head' },
      el('div', { className: 'room-title' }, parts.name, parts.info),
      el('div', { className: 'room-meta' }, parts.count, parts.age, parts.rate),
      parts.close,
    ),
    el('div', { className: 'table-wrap' }, table),
  );
  return { el: root, parts, members: new Map() };
}

function updateRoom(v, r, now) {
  const p = v.parts;
  setText(p.info, r.roomInfo || '');
  p.info.hidden = !r.roomInfo;
  setText(p.count, r.members.length === 1 ? '1 member' : `${r.members.length} members`);
  setText(p.age, `open ${fmtDuration(now - r.created)}`);
  p.age.title = `created ${fmtClock(r.created)}`;
  let kin = 0;
  let kout = 0;
  for (const m of r.members) {
    for (const t of m.tracks) {
      kin += t.kbpsIn;
      kout += t.kbpsOut;
    }
  }
  setText(p.rate, `in ${fmtRate(kin)} · out ${fmtRate(kout)}`);

  const users = new Set();
  let prev = null;
  for (const m of r.members) {
    users.add(m.userID);
    let mv = v.members.get(m.userID);
    if (!mv) {
      mv = createMember(r.room, m.userID);
      v.members.set(m.userID, mv);
    }
    updateMember(mv, m, now);
    placeAfter(p.tbody, mv.el, prev);
    prev = mv.el;
  }
  for (const [user, mv] of v.members) {
    if (!users.has(user)) {
      mv.el.remove();
      v.members.delete(user);
    }
  }
  if (r.members.length === 0) {
    if (!p.emptyRow) {
      p.emptyRow = el('tr', { className: 'empty-row' }, el('td', { colSpan: 7, textContent: 'No members' }));
    }
    p.tbody.append(p.emptyRow);
  } else {
    p.emptyRow?.remove();
  }
}

function createMember(room, user) {
  const parts = {
    user: el('strong', { className: 'user-id', textContent: user }),
    nick: el('span', { className: 'nick' }),
    muted: el('span', { className: 'muted-flags' }),
    kind: el('span', { className: 'badge' }),
    state: el('span', { className: 'pill' }),
    joined: el('td', { className: 'num' }),
    seen: el('td', { className: 'num' }),
    tracks: el('td', { className: 'tracks-cell' }),
    kick: el('button', { className: 'btn btn-ghost btn-small kick', type: 'button', textContent: 'Kick' }),
  };
  parts.kick.addEventListener('click', () => kick(room, user, parts.kick));
  const row = el(
    'tr',
    { className: 'member', dataset: { member: `${room}/${user}` } },
    el('td', { className: 'who' }, parts.nick, parts.user, parts.muted),
    el('td', {}, parts.kind),
    el('td', {}, parts.state),
    parts.joined,
    parts.seen,
    parts.tracks,
    el('td', { className: 'actions' }, parts.kick),
  );
  return { el: row, parts, trackRows: new Map(), tbody: null };
}

function updateMember(mv, m, now) {
  const p = mv.parts;
  setText(p.nick, m.nickName && m.nickName !== m.userID ? m.nickName : '');
  p.nick.hidden = !p.nick.textContent;
  const flags = [m.audioMuted ? 'mic off' : '', m.videoMuted ? 'camera off' : ''].filter(Boolean).join(' · ');
  setText(p.muted, flags);
  p.muted.hidden = !flags;

  setText(p.kind, KIND_LABELS[m.kind] || m.kind || '?');
  p.kind.dataset.kind = m.kind || '';
  p.kind.title = KIND_HINTS[m.kind] || '';

  const state = m.state || (m.kind === 'http' ? 'no media' : m.kind === 'rtmp' ? 'bridge' : 'no media yet');
  setText(p.state, state);
  p.state.dataset.tone = m.state ? stateClass(m.state) : 'none';

  setText(p.joined, `${fmtDuration(now - m.joined)} ago`);
  p.joined.title = fmtClock(m.joined);
  const silent = now - m.lastSeen;
  setText(p.seen, silent < 1000 ? 'now' : `${fmtDuration(silent)} ago`);
  p.seen.title = fmtClock(m.lastSeen);
  p.seen.classList.toggle('late', silent > 10_000);

  updateTracks(mv, m.tracks);
}

function updateTracks(mv, tracks) {
  if (tracks.length === 0) {
    if (!mv.noTracks) mv.noTracks = el('span', { className: 'faint', textContent: 'none' });
    if (mv.parts.tracks.firstChild !== mv.noTracks) mv.parts.tracks.replaceChildren(mv.noTracks);
    mv.trackRows.clear();
    mv.tbody = null;
    return;
  }
  if (!mv.tbody) {
    mv.tbody = el('tbody');
    mv.parts.tracks.replaceChildren(
      el(
        'table',
        { className: 'tracks' },
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            el('th', { textContent: 'Track' }),
            el('th', { textContent: 'Codec' }),
            el('th', { className: 'num', textContent: 'In' }),
            el('th', { className: 'num', textContent: 'Out' }),
            el('th', { className: 'num', textContent: 'NACKs', title: 'packets subscribers asked to have resent' }),
            el('th', { className: 'num', textContent: 'Keyframe req.', title: 'PLI/FIR passed on to the publisher' }),
          ),
        ),
        mv.tbody,
      ),
    );
  }
  const ids = new Set();
  let prev = null;
  for (const t of tracks) {
    ids.add(t.trackID);
    let tr = mv.trackRows.get(t.trackID);
    if (!tr) {
      tr = {
        kind: el('td', { className: 'track-kind' }),
        codec: el('td', { className: 'mono' }),
        kin: el('td', { className: 'num kbps-in' }),
        kout: el('td', { className: 'num kbps-out' }),
        nacks: el('td', { className: 'num nacks' }),
        kf: el('td', { className: 'num keyframes' }),
      };
      tr.el = el('tr', { className: 'track', dataset: { track: t.trackID } }, tr.kind, tr.codec, tr.kin, tr.kout, tr.nacks, tr.kf);
      mv.trackRows.set(t.trackID, tr);
    }
    setText(tr.kind, t.source === 'screen' ? 'screen' : t.source === 'screen_audio' ? 'screen audio' : t.kind);
    tr.kind.dataset.kind = t.kind;
    tr.kind.dataset.source = t.source || '';
    tr.kind.title = `track ${t.trackID}`;
    setText(tr.codec, codecName(t.codec));
    tr.codec.title = t.codec;
    setText(tr.kin, fmtRate(t.kbpsIn));
    tr.kin.dataset.kbps = String(t.kbpsIn);
    tr.kin.title = `${fmtCount(t.packetsIn)} packets, ${fmtBytes(t.bytesIn)} from the publisher`;
    setText(tr.kout, fmtRate(t.kbpsOut));
    tr.kout.dataset.kbps = String(t.kbpsOut);
    tr.kout.title = `${fmtCount(t.packetsOut)} packets, ${fmtBytes(t.bytesOut)} to subscribers`;
    setText(tr.nacks, fmtCount(t.nacks));
    setText(tr.kf, fmtCount(t.keyframeRequests));
    placeAfter(mv.tbody, tr.el, prev);
    prev = tr.el;
  }
  for (const [id, tr] of mv.trackRows) {
    if (!ids.has(id)) {
      tr.el.remove();
      mv.trackRows.delete(id);
    }
  }
}

// ---------------------------------------------------------------------------
// Start

if (token) {
  // A token from earlier in this tab: use it, or ask again if it no longer works.
  const gen = ++generation;
  showDashboard();
  load(gen)
    .then(() => poll(gen))
    .catch((err) => {
      if (failed(err, 'Loading rooms')) poll(gen);
    });
} else {
  showLogin();
}
