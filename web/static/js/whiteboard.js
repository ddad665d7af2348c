// The demo's whiteboard panel over the stage: the room's board (room.board, ordered by the
// server) drawn on a canvas, pen colours and widths, an eraser, undo, clear and export as PNG.
// Strokes are drawn with the pointer (mouse, touch, pen), smoothed, and sent in batches while
// they are drawn; a remote author's name shows beside a stroke while it grows.
//
// Test contract: #toggle-board opens/closes #board-panel (body.board-open); #board-canvas;
// [data-color] and [data-width] buttons (aria-pressed); #board-eraser, #board-undo,
// #board-clear, #board-export; .board-author labels (data-user) while someone draws.

/** @typedef {import('/sdk/openroom.js').Room} Room */
/** @typedef {import('/sdk/openroom.js').BoardPoint} BoardPoint */
/** @typedef {import('/sdk/openroom.js').BoardStroke} BoardStroke */

const SEND_EVERY_MS = 50; // 20 ops/s while drawing: under the server's 30/s
const BOARD_UNITS = 1000; // a pen width of W is W/1000 of the board's width
const AUTHOR_SHOWN_MS = 1500;
const ERASE_REACH_PX = 12;
const PAPER = '#ffffff';

/**
 * @param {{room: Room, nameOf: (userID: string) => string, mayDraw: () => boolean, onUnseen?: (n: number) => void}} opts
 */
export function mountWhiteboard({ room, nameOf, mayDraw, onUnseen }) {
  const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
  const panel = $('board-panel');
  const canvas = /** @type {HTMLCanvasElement} */ ($('board-canvas'));
  const authors = $('board-authors');
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  let color = '#e5484d';
  let width = 4;
  let erasing = false;
  let unseen = 0;

  /** Our stroke being drawn: every point so far, and how many went out. */
  let local = /** @type {{id: string, points: BoardPoint[], sent: number, color: string, width: number} | null} */ (null);
  let sendTimer = 0;
  let frame = 0;
  /** Our finished strokes whose echo is not complete yet. @type {Map<string, {id: string, points: BoardPoint[], color: string, width: number}>} */
  const pendingLocal = new Map();

  const isOpen = () => !panel.hidden;

  function fit() {
    const r = canvas.getBoundingClientRect();
    const dpr = globalThis.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(r.width * dpr));
    const h = Math.max(1, Math.round(r.height * dpr));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    redraw();
  }

  /** @param {{points: BoardPoint[], color: string, width: number}} s */
  function drawStroke(s) {
    const pts = s.points;
    if (pts.length === 0) return;
    const W = canvas.width;
    const H = canvas.height;
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = Math.max(1, (s.width * W) / BOARD_UNITS);
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    if (pts.length === 1) {
      ctx.beginPath();
      ctx.arc(pts[0][0] * W, pts[0][1] * H, ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    // Smoothed: quadratic curves through the midpoints, the points as control points.
    ctx.beginPath();
    ctx.moveTo(pts[0][0] * W, pts[0][1] * H);
    for (let i = 1; i < pts.length - 1; i++) {
      const mx = ((pts[i][0] + pts[i + 1][0]) / 2) * W;
      const my = ((pts[i][1] + pts[i + 1][1]) / 2) * H;
      ctx.quadraticCurveTo(pts[i][0] * W, pts[i][1] * H, mx, my);
    }
    const last = pts[pts.length - 1];
    ctx.lineTo(last[0] * W, last[1] * H);
    ctx.stroke();
  }

  function redraw() {
    frame = 0;
    ctx.fillStyle = PAPER;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    for (const s of room.board.strokes.values()) {
      const ours = pendingLocal.get(s.id);
      if (ours && s.points.length >= ours.points.length) pendingLocal.delete(s.id);
      // Ours are drawn from what we have: ahead of the server's echo.
      if ((local && s.id === local.id) || pendingLocal.has(s.id)) continue;
      drawStroke(s);
    }
    for (const s of pendingLocal.values()) drawStroke(s); // their echo is not complete yet
    if (local) drawStroke(local);
  }

  const schedule = () => {
    if (!frame && isOpen()) frame = requestAnimationFrame(redraw);
  };

  /** @param {PointerEvent} ev @returns {BoardPoint} */
  function pointOf(ev) {
    const r = canvas.getBoundingClientRect();
    const x = Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width));
    const y = Math.min(1, Math.max(0, (ev.clientY - r.top) / r.height));
    return [Math.round(x * 1e4) / 1e4, Math.round(y * 1e4) / 1e4];
  }

  function flush() {
    sendTimer = 0;
    if (!local || local.sent >= local.points.length) return;
    const fresh = local.points.slice(local.sent);
    local.sent = local.points.length;
    try {
      room.board.append(local.id, fresh);
    } catch (err) {
      console.warn('openroom: board:', err);
    }
  }

  /** The stroke nearest to p within reach, for the eraser. @param {BoardPoint} p */
  function strokeAt(p) {
    const W = canvas.width;
    const H = canvas.height;
    const reach = ERASE_REACH_PX * (globalThis.devicePixelRatio || 1);
    let best = null;
    let bestD = Infinity;
    for (const s of room.board.strokes.values()) {
      const half = (s.width * W) / BOARD_UNITS / 2;
      for (let i = 0; i < s.points.length; i++) {
        const a = s.points[i];
        const b = s.points[Math.min(i + 1, s.points.length - 1)];
        const d = segmentDistance(p[0] * W, p[1] * H, a[0] * W, a[1] * H, b[0] * W, b[1] * H) - half;
        if (d < bestD) {
          bestD = d;
          best = s;
        }
      }
    }
    return best && bestD <= reach ? best : null;
  }

  canvas.addEventListener('pointerdown', (ev) => {
    if (!mayDraw() || ev.button > 0) return;
    ev.preventDefault();
    const p = pointOf(ev);
    if (erasing) {
      const s = strokeAt(p);
      if (s) room.board.erase(s.id);
      return;
    }
    canvas.setPointerCapture(ev.pointerId);
    try {
      const id = room.board.draw({ points: [p], color, width });
      local = { id, points: [p], sent: 1, color, width };
    } catch (err) {
      console.warn('openroom: board:', err);
      return;
    }
    schedule();
  });
  canvas.addEventListener('pointermove', (ev) => {
    if (!local) return;
    // Coalesced events keep a fast pen's curve (one event per frame otherwise).
    const events = typeof ev.getCoalescedEvents === 'function' ? ev.getCoalescedEvents() : [ev];
    for (const e of events.length ? events : [ev]) {
      const p = pointOf(e);
      const last = local.points[local.points.length - 1];
      if (Math.abs(p[0] - last[0]) + Math.abs(p[1] - last[1]) < 0.001) continue;
      local.points.push(p);
    }
    if (!sendTimer) sendTimer = window.setTimeout(flush, SEND_EVERY_MS);
    schedule();
  });
  const end = () => {
    if (!local) return;
    clearTimeout(sendTimer);
    flush();
    const done = local;
    local = null;
    // Until the echo has every point, keep drawing ours from here.
    const s = room.board.strokes.get(done.id);
    if (!s || s.points.length < done.points.length) pendingLocal.set(done.id, done);
    schedule();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);

  /** Shows who draws a stroke, beside its end, for a moment. @param {string} userID @param {BoardStroke} s */
  function showAuthor(userID, s) {
    let label = /** @type {HTMLElement|null} */ (authors.querySelector(`[data-stroke="${CSS.escape(s.id)}"]`));
    if (!label) {
      label = document.createElement('span');
      label.className = 'board-author';
      label.dataset.stroke = s.id;
      label.dataset.user = userID;
      label.textContent = nameOf(userID);
      label.style.setProperty('--c', s.color);
      authors.append(label);
    }
    const last = s.points[s.points.length - 1];
    label.style.left = `${last[0] * 100}%`;
    label.style.top = `${last[1] * 100}%`;
    clearTimeout(Number(label.dataset.timer));
    const l = label;
    l.dataset.timer = String(window.setTimeout(() => l.remove(), AUTHOR_SHOWN_MS));
  }

  room.board.on('op', (e) => {
    if (e.op.kind === 'clear') pendingLocal.clear();
    if ((e.op.kind === 'erase' || e.op.kind === 'undo') && e.op.target) pendingLocal.delete(e.op.target);
    if (e.op.kind === 'stroke' && e.userID !== room.userID && e.op.id) {
      const s = room.board.strokes.get(e.op.id);
      if (s && isOpen()) showAuthor(e.userID, s);
    }
    if (!isOpen() && e.userID !== room.userID) onUnseen?.(++unseen);
    schedule();
  });
  room.board.on('state', () => {
    pendingLocal.clear();
    schedule();
  });

  // Tools
  for (const b of panel.querySelectorAll('[data-color]')) {
    const btn = /** @type {HTMLButtonElement} */ (b);
    btn.style.setProperty('--c', btn.dataset.color ?? '');
    btn.addEventListener('click', () => {
      color = btn.dataset.color ?? color;
      erasing = false;
      paintTools();
    });
  }
  for (const b of panel.querySelectorAll('[data-width]')) {
    const btn = /** @type {HTMLButtonElement} */ (b);
    btn.addEventListener('click', () => {
      width = Number(btn.dataset.width) || width;
      erasing = false;
      paintTools();
    });
  }
  $('board-eraser').addEventListener('click', () => {
    erasing = !erasing;
    paintTools();
  });
  $('board-undo').addEventListener('click', () => room.board.undo());
  $('board-clear').addEventListener('click', () => room.board.clear());
  $('board-export').addEventListener('click', () => {
    redraw();
    const a = document.createElement('a');
    a.href = canvas.toDataURL('image/png');
    a.download = `${room.room ?? 'board'}-board.png`;
    a.click();
  });

  function paintTools() {
    for (const b of panel.querySelectorAll('[data-color]')) {
      b.setAttribute('aria-pressed', String(!erasing && /** @type {HTMLElement} */ (b).dataset.color === color));
    }
    for (const b of panel.querySelectorAll('[data-width]')) {
      b.setAttribute('aria-pressed', String(Number(/** @type {HTMLElement} */ (b).dataset.width) === width));
    }
    $('board-eraser').setAttribute('aria-pressed', String(erasing));
    panel.classList.toggle('erasing', erasing);
    panel.classList.toggle('view-only', !mayDraw());
  }

  new ResizeObserver(fit).observe(canvas);

  return {
    /** Opens or closes the panel. @param {boolean} [open] */
    toggle(open = !isOpen()) {
      panel.hidden = !open;
      document.body.classList.toggle('board-open', open);
      if (open) {
        unseen = 0;
        onUnseen?.(0);
        paintTools();
        fit();
      }
      return open;
    },
  };
}

/** Distance from (px,py) to the segment (ax,ay)-(bx,by). */
function segmentDistance(/** @type {number} */ px, /** @type {number} */ py, /** @type {number} */ ax, /** @type {number} */ ay, /** @type {number} */ bx, /** @type {number} */ by) {
  const dx = bx - ax;
  const dy = by - ay;
  const len = dx * dx + dy * dy;
  const t = len > 0 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len)) : 0;
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}
