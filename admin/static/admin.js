// openroom admin page. It polls GET /admin/api/rooms every 2 s and keeps one
// element per room, member and track, updated in place (so a button is never
// swapped out from under the pointer). Kick and Close call the API after a
// confirm(). The admin token stays in this tab's sessionStorage and only ever
// leaves in the Authorization header.
//
// When the server records (the listing's rooms carry `recording`), each room
// gets a Record / Stop recording button and a REC badge, and the Recordings
// card lists GET /admin/api/recordings every 10 s. Its links are signed by the
// server (a link cannot send the Authorization header) and expire in an hour,
// so they are refreshed with the list.
//
// In cluster mode (the listing carries `node`), each room shows the node it
// lives on, and the Nodes card lists every live node's load (`nodes`) or, when
// the server could not read the cluster, why (`clusterError`). Another node's
// rooms list their members without media figures; Kick and Close work on them
// (the server passes them to the room's node). On a single node nothing of
// this shows.
//
// Test hooks: #admin-token, #admin-login, #admin-error, [data-room="{room}"],
// [data-member="{room}/{user}"], .kick, .close-room; rates in
// .kbps-in / .kbps-out cells whose data-kbps holds the number;
// [data-room="{room}"] .record-room and .rec-badge; #recordings
// [data-recording="{room}/{name}"] rows with a.download and a.play links;
// [data-room="{room}"] .room-node; #nodes [data-node="{id}"] rows, #cluster-error.

const API = new URL('../api/', import.meta.url); // /admin/api/
const TOKEN_KEY = 'openroom.admin.token';
const POLL_MS = 2000;
const RECORDINGS_POLL_MS = 10_000;

const KIND_LABELS = { webrtc: 'Browser', rtmp: 'Mini-program / RTMP', http: 'Legacy HTTP', whip: 'WHIP encoder' };
const KIND_HINTS = {
  webrtc: 'WebRTC over /ws',
  rtmp: 'mini-program <live-pusher> or an RTMP pusher, through the bridge',
  http: 'legacy client that only heartbeats over HTTP so far',
  whip: 'a WHIP encoder such as OBS, publishing over /whip',
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

/** Sets an attribute only when it changed. */
function setAttr(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
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
  lastData = null;
  clearRecordings();
  clearNodes();
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
  // Polling errors clear on the next good poll; an action's stays until dismissed.
  showError(`${what}: ${err.message}`, what.startsWith('Loading') ? 'load' : 'action');
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
    startRecordings(gen);
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
  render(data, mine);
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
  if (!document.hidden && token) {
    refresh();
    if (recordingsAvailable !== false) refreshRecordings();
  }
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

async function toggleRecording(room, v) {
  const action = v.recording ? 'stop' : 'start';
  const button = v.parts.record;
  button.disabled = true;
  v.recBusy = true; // polls leave the button alone meanwhile
  try {
    const res = await api(`rooms/${enc(room)}/recording`, { method: 'POST', body: { action } });
    clearError('action');
    // Listings asked for before now may predate the change: they must not undo it.
    v.recAfter = seq;
    setRecordingView(v, !!res?.recording);
  } catch (err) {
    failed(err, action === 'start' ? `Starting to record ${room}` : `Stopping the recording of ${room}`);
  } finally {
    v.recBusy = false;
    button.disabled = false;
  }
  refresh();
  refreshRecordings();
}

// ---------------------------------------------------------------------------
// Rendering

/** @type {Map<string, {el: HTMLElement, parts: Record<string, HTMLElement>, members: Map<string, any>}>} */
const roomViews = new Map();
let lastData = null;
let lastSeq = 0;

$('filter').addEventListener('input', () => {
  if (lastData) render(lastData, lastSeq);
});

/** Renders a listing; mine is the request order it answered (see toggleRecording). */
function render(data, mine) {
  lastData = data;
  lastSeq = mine;
  renderSummary(data.stats);
  renderNodes(data);
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
    updateRoom(v, r, data.now, mine, data.node);
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
  // The recordings' "in progress" flags and running durations follow the rooms.
  if (lastRecordings) renderRecordings(lastRecordings);
}

/** @type {Map<string, {el: HTMLElement, parts: Record<string, HTMLElement>}>} by node ID */
const nodeRows = new Map();

/** Shows the Nodes card in cluster mode (the listing has `node`); hides it on a single node. */
function renderNodes(data) {
  const cluster = typeof data.node === 'string';
  $('nodes').hidden = !cluster;
  if (!cluster) return;
  setText($('nodes-note'), `figures above: this node, ${data.node}`);
  const err = data.clusterError || '';
  setText($('cluster-error'), err);
  $('cluster-error').hidden = !err;
  $('nodes-wrap').hidden = !Array.isArray(data.nodes);
  const tbody = $('nodes-body');
  const ids = new Set();
  let prev = null;
  for (const n of data.nodes || []) {
    ids.add(n.id);
    let row = nodeRows.get(n.id);
    if (!row) {
      const parts = {
        id: el('td', { textContent: n.id }),
        rooms: el('td', { className: 'num' }),
        members: el('td', { className: 'num' }),
        tracks: el('td', { className: 'num' }),
        cpu: el('td', { className: 'num' }),
      };
      const tr = el('tr', { dataset: { node: n.id } }, parts.id, parts.rooms, parts.members, parts.tracks, parts.cpu);
      row = { el: tr, parts };
      nodeRows.set(n.id, row);
    }
    row.el.toggleAttribute('data-self', !!n.self);
    row.parts.id.title = n.publicURL || '';
    setText(row.parts.rooms, fmtCount(n.rooms));
    setText(row.parts.members, fmtCount(n.members));
    setText(row.parts.tracks, fmtCount(n.tracks));
    setText(row.parts.cpu, `${Number(n.cpu || 0).toFixed(2)} cores`);
    placeAfter(tbody, row.el, prev);
    prev = row.el;
  }
  for (const [id, row] of nodeRows) {
    if (!ids.has(id)) {
      row.el.remove();
      nodeRows.delete(id);
    }
  }
}

function clearNodes() {
  nodeRows.clear();
  $('nodes-body').replaceChildren();
  $('nodes').hidden = true;
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
    `${k.webrtc || 0} browser · ${k.rtmp || 0} mini-program/RTMP · ${k.http || 0} legacy · ${k.whip || 0} WHIP`,
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
    node: el('span', { className: 'room-node', hidden: true }),
    count: el('span', { className: 'room-count' }),
    age: el('span', { className: 'room-age' }),
    rate: el('span', { className: 'room-rate' }),
    badge: el('span', { className: 'rec-badge', textContent: '● REC', title: 'This room is being recorded', hidden: true }),
    record: el('button', { className: 'btn btn-ghost btn-small record-room', type: 'button', textContent: 'Record', hidden: true }),
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
      el('div', { className: 'room-title' }, parts.name, parts.node, parts.badge, parts.info),
      el('div', { className: 'room-meta' }, parts.count, parts.age, parts.rate),
      el('div', { className: 'room-actions' }, parts.record, parts.close),
    ),
    el('div', { className: 'table-wrap' }, table),
  );
  const v = { el: root, parts, members: new Map(), recording: false, recBusy: false, recAfter: 0 };
  parts.record.addEventListener('click', () => toggleRecording(name, v));
  return v;
}

function setRecordingView(v, on) {
  const p = v.parts;
  v.recording = on;
  p.badge.hidden = !on;
  setText(p.record, on ? 'Stop recording' : 'Record');
  p.record.title = on ? 'Stop recording this room' : 'Record every member of this room, each to a file';
  p.record.classList.toggle('recording', on);
  p.record.setAttribute('aria-pressed', String(on));
}

function updateRoom(v, r, now, mine, self) {
  const p = v.parts;
  // Cluster mode: the room's node. Another node's room comes with its members
  // only: its media figures are on that node's own page.
  const remote = !!r.node && r.node !== self;
  p.node.hidden = !r.node;
  setText(p.node, r.node ? `on ${r.node}` : '');
  p.node.title = remote
    ? `Lives on node ${r.node}: its media figures are on that node's /admin`
    : r.node
      ? 'Lives on this node'
      : '';
  p.node.toggleAttribute('data-remote', remote);
  p.rate.hidden = remote;
  // No recording field: the server does not record, so no controls at all.
  const canRecord = typeof r.recording === 'boolean';
  p.record.hidden = !canRecord;
  if (!canRecord) p.badge.hidden = true;
  else if (!v.recBusy && mine > v.recAfter) setRecordingView(v, r.recording);
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
    updateMember(mv, m, now, remote);
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

function updateMember(mv, m, now, remote) {
  const p = mv.parts;
  setText(p.nick, m.nickName && m.nickName !== m.userID ? m.nickName : '');
  p.nick.hidden = !p.nick.textContent;
  const flags = [m.audioMuted ? 'mic off' : '', m.videoMuted ? 'camera off' : ''].filter(Boolean).join(' · ');
  setText(p.muted, flags);
  p.muted.hidden = !flags;

  setText(p.kind, KIND_LABELS[m.kind] || m.kind || '?');
  p.kind.dataset.kind = m.kind || '';
  p.kind.title = KIND_HINTS[m.kind] || '';

  if (remote) {
    // Another node publishes who is in its rooms, not since when nor how.
    setText(p.state, '–');
    p.state.dataset.tone = 'none';
    for (const cell of [p.joined, p.seen]) {
      setText(cell, '–');
      cell.title = "on the room's node";
      cell.classList.remove('late');
    }
    updateTracks(mv, m.tracks, remote);
    return;
  }
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

function updateTracks(mv, tracks, remote = false) {
  if (tracks.length === 0) {
    if (!mv.noTracks) mv.noTracks = el('span', { className: 'faint' });
    setText(mv.noTracks, remote ? '–' : 'none');
    mv.noTracks.title = remote ? "on the room's node" : '';
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
// Recordings

/** true: the server records; false: it answered 404 4040 (recording off); null: not asked yet. */
let recordingsAvailable = null;
let recSeq = 0;
let recShown = 0;
/** @type {any[] | null} */
let lastRecordings = null;
/** @type {Map<string, {el: HTMLElement, parts: Record<string, HTMLElement>}>} by "{room}/{name}" */
const recRows = new Map();
/** @type {Map<string, {el: HTMLElement, parts: Record<string, HTMLElement>}>} by room */
const recGroups = new Map();

$('recordings-refresh').addEventListener('click', async () => {
  const button = /** @type {HTMLButtonElement} */ ($('recordings-refresh'));
  button.disabled = true;
  try {
    await loadRecordings();
    clearError('load');
  } catch (err) {
    failed(err, 'Loading recordings');
  } finally {
    button.disabled = false;
  }
});

function setRecordingsAvailable(on) {
  recordingsAvailable = on;
  $('recordings').hidden = !on;
}

async function loadRecordings(gen = generation) {
  const mine = ++recSeq;
  let data;
  try {
    data = await api('recordings');
  } catch (err) {
    if (gen !== generation) return;
    if (err.status === 404 && err.code === 4040) {
      setRecordingsAvailable(false); // the server does not record: no card
      return;
    }
    throw err;
  }
  if (gen !== generation || mine < recShown) return;
  recShown = mine;
  setRecordingsAvailable(true);
  renderRecordings(data?.recordings || []);
  setText($('recordings-status'), `updated ${new Date().toLocaleTimeString()}`);
}

function refreshRecordings() {
  loadRecordings().catch((err) => failed(err, 'Loading recordings'));
}

/** Whether the last listing shows the server records (its rooms carry `recording`). */
function listingRecords() {
  return !!lastData?.rooms.some((r) => typeof r.recording === 'boolean');
}

function startRecordings(gen) {
  refreshRecordings();
  pollRecordings(gen);
}

async function pollRecordings(gen) {
  while (gen === generation) {
    await new Promise((r) => setTimeout(r, RECORDINGS_POLL_MS));
    if (gen !== generation) return;
    if (document.hidden) continue;
    // Off: ask again only once a listing shows the server records after all.
    if (recordingsAvailable === false && !listingRecords()) continue;
    try {
      await loadRecordings(gen);
    } catch (err) {
      if (gen !== generation) return;
      if (!failed(err, 'Loading recordings')) return;
    }
  }
}

function clearRecordings() {
  recordingsAvailable = null;
  lastRecordings = null;
  recRows.clear();
  recGroups.clear();
  $('recordings-body').replaceChildren();
  $('recordings').hidden = true;
  setText($('recordings-status'), '');
}

/** Whether room records now, by the last listing. */
function roomRecords(room) {
  return lastData?.rooms.find((r) => r.room === room)?.recording === true;
}

function withParam(href, param) {
  return href + (href.includes('?') ? '&' : '?') + param;
}

function renderRecordings(list) {
  lastRecordings = list;
  // By room, then newest first.
  const sorted = [...list].sort(
    (a, b) => (a.room < b.room ? -1 : a.room > b.room ? 1 : Date.parse(b.start) - Date.parse(a.start)),
  );
  const perRoom = new Map();
  for (const r of sorted) perRoom.set(r.room, (perRoom.get(r.room) || 0) + 1);

  const tbody = $('recordings-body');
  const keys = new Set();
  const rooms = new Set();
  let prev = null;
  for (const r of sorted) {
    if (!rooms.has(r.room)) {
      rooms.add(r.room);
      let g = recGroups.get(r.room);
      if (!g) {
        g = createRecGroup(r.room);
        recGroups.set(r.room, g);
      }
      const n = perRoom.get(r.room);
      setText(g.parts.count, n === 1 ? '1 recording' : `${n} recordings`);
      g.parts.badge.hidden = !roomRecords(r.room);
      placeAfter(tbody, g.el, prev);
      prev = g.el;
    }
    const key = `${r.room}/${r.name}`;
    keys.add(key);
    let row = recRows.get(key);
    if (!row) {
      row = createRecRow(key);
      recRows.set(key, row);
    }
    updateRecRow(row, r);
    placeAfter(tbody, row.el, prev);
    prev = row.el;
  }
  for (const [key, row] of recRows) {
    if (!keys.has(key)) {
      row.el.remove();
      recRows.delete(key);
    }
  }
  for (const [room, g] of recGroups) {
    if (!rooms.has(room)) {
      g.el.remove();
      recGroups.delete(room);
    }
  }
  $('recordings-wrap').hidden = list.length === 0;
  $('recordings-empty').hidden = list.length > 0;
}

function createRecGroup(room) {
  const parts = {
    name: el('span', { className: 'rec-room-name', textContent: room }),
    count: el('span', { className: 'rec-room-count' }),
    badge: el('span', { className: 'rec-badge', textContent: '● REC', title: 'This room is being recorded', hidden: true }),
  };
  const row = el(
    'tr',
    { className: 'rec-group', dataset: { recRoom: room } },
    el('th', { colSpan: 7, scope: 'rowgroup' }, parts.name, parts.badge, parts.count),
  );
  return { el: row, parts };
}

function createRecRow(key) {
  const parts = {
    nick: el('span', { className: 'nick' }),
    user: el('strong', { className: 'user-id' }),
    started: el('td', { className: 'num' }),
    duration: el('td', { className: 'num' }),
    size: el('td', { className: 'num' }),
    tracks: el('td', { className: 'rec-tracks' }),
    flag: el('span', { className: 'rec-flag' }),
    download: el('a', { className: 'btn btn-ghost btn-small download', textContent: 'Download' }),
    play: el('a', { className: 'btn btn-ghost btn-small play', textContent: 'Play', target: '_blank', rel: 'noopener noreferrer' }),
  };
  const row = el(
    'tr',
    { className: 'recording', dataset: { recording: key } },
    el('td', { className: 'who' }, parts.nick, parts.user),
    parts.started,
    parts.duration,
    parts.size,
    parts.tracks,
    el('td', {}, parts.flag),
    el('td', { className: 'actions' }, el('div', { className: 'rec-links' }, parts.play, parts.download)),
  );
  return { el: row, parts };
}

function updateRecRow(row, r) {
  const p = row.parts;
  setText(p.nick, r.nickName && r.nickName !== r.userID ? r.nickName : '');
  p.nick.hidden = !p.nick.textContent;
  setText(p.user, r.userID || '?');
  p.user.title = r.name;

  const start = Date.parse(r.start);
  setText(p.started, fmtClock(start));
  p.started.title = r.start;
  // No end: still being written if the room records now; otherwise the
  // recorder stopped without finishing the file (a crash, a full disk).
  const inProgress = !r.end && roomRecords(r.room);
  if (r.duration > 0) {
    setText(p.duration, fmtDuration(r.duration * 1000));
  } else if (inProgress) {
    setText(p.duration, `${fmtDuration((lastData?.now ?? Date.now()) - start)} so far`);
  } else {
    setText(p.duration, '–');
  }
  setText(p.size, fmtBytes(r.bytes || 0));
  setText(p.tracks, (r.tracks || []).join(' · ') || 'none');

  const flag = inProgress ? 'in progress' : r.complete ? 'complete' : 'incomplete';
  setText(p.flag, flag);
  p.flag.dataset.flag = flag.replace(' ', '-');
  p.flag.title =
    flag === 'incomplete' ? 'The recorder did not finish this file cleanly: it may not play to the end' : '';

  setAttr(p.download, 'href', withParam(r.download, 'dl=1'));
  setAttr(p.download, 'download', r.name);
  p.download.title = `Download ${r.name}`;
  const playable = /\.(mp4|webm)$/i.test(r.name);
  p.play.hidden = !playable;
  if (playable) setAttr(p.play, 'href', r.download);
  p.play.title = `Open ${r.name} in a new tab`;
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
  startRecordings(gen);
} else {
  showLogin();
}
