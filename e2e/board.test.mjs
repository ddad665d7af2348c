// The shared whiteboard (issue 15) through the demo: a stroke drawn with the mouse in one tab
// appears in the other tab's canvas (read from its pixels); a late joiner sees the earlier
// strokes; Clear empties every board.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireNetns, buildServer, setup, uniqueRoom, waitFor } from './harness.mjs';

before(async () => {
  requireNetns();
  await buildServer();
}, { timeout: 600_000 });

/** Opens the board panel of `page` and waits until its canvas has a size. */
async function openBoard(page) {
  await page.locator('#toggle-board').click();
  await waitFor(async () => page.evaluate(() => {
    const c = document.querySelector('#board-canvas');
    return !!c && c.width > 100 && c.checkVisibility();
  }), { timeout: 5000, message: 'the board panel to open' });
}

/** Pixels of the board that are not paper (white). */
function inkedPixels(page) {
  return page.evaluate(() => {
    const c = /** @type {HTMLCanvasElement} */ (document.querySelector('#board-canvas'));
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200) n++;
    return n;
  });
}

/**
 * In `page`, notes (Date.now()) when each new stroke's first point is inked on the canvas:
 * window.inked[strokeID], read from the pixels on the frames after its op arrived.
 */
function watchInk(page) {
  return page.evaluate(() => {
    window.inked = {};
    const c = /** @type {HTMLCanvasElement} */ (document.querySelector('#board-canvas'));
    const ctx = c.getContext('2d', { willReadFrequently: true });
    window.openroom.board.on('op', (e) => {
      if (e.op.kind !== 'stroke' || e.op.id in window.inked) return;
      window.inked[e.op.id] = 0;
      const [x, y] = e.op.points[0];
      const look = () => {
        const px = ctx.getImageData(Math.round(x * c.width) - 2, Math.round(y * c.height) - 2, 5, 5).data;
        for (let i = 0; i < px.length; i += 4) {
          if (px[i] < 200 || px[i + 1] < 200 || px[i + 2] < 200) {
            window.inked[e.op.id] = Date.now();
            return;
          }
        }
        requestAnimationFrame(look);
      };
      look();
    });
  });
}

/** In `page`, notes when the pointer goes down on the canvas (window.downs, Date.now()). */
function watchPointer(page) {
  return page.evaluate(() => {
    window.downs = [];
    document.querySelector('#board-canvas').addEventListener('pointerdown', () => window.downs.push(Date.now()), { capture: true });
  });
}

/** Draws a line with the mouse over page's canvas, from (x0,y0) to (x1,y1) in 0..1. */
async function drawLine(page, [x0, y0], [x1, y1], steps = 12) {
  const box = await page.locator('#board-canvas').boundingBox();
  const at = (x, y) => [box.x + x * box.width, box.y + y * box.height];
  await page.mouse.move(...at(x0, y0));
  await page.mouse.down();
  for (let i = 1; i <= steps; i++) await page.mouse.move(...at(x0 + ((x1 - x0) * i) / steps, y0 + ((y1 - y0) * i) / steps));
  await page.mouse.up();
}

test('whiteboard: a mouse stroke reaches the other tab at once; late joiners see the board; clear empties it', { timeout: 120_000 }, async (t) => {
  const s = await setup(t);
  await s.run(async () => {
    const room = uniqueRoom('board');
    const alice = await s.member(room, 'alice');
    const bob = await s.member(room, 'bob');
    await openBoard(alice.page);
    await openBoard(bob.page);
    assert.equal(await inkedPixels(bob.page), 0, "bob's board starts empty");

    // Op latency: pointer down in alice's tab to ink in bob's canvas, per stroke.
    await watchInk(bob.page);
    await watchPointer(alice.page);
    for (const y of [0.3, 0.5, 0.7]) await drawLine(alice.page, [0.1, y], [0.6, y]);
    let delays = [];
    await waitFor(async () => {
      const inked = Object.values(await bob.page.evaluate(() => window.inked));
      const downs = await alice.page.evaluate(() => window.downs);
      delays = inked.map((at, i) => (at && downs[i] ? at - downs[i] : null));
      return delays.length === 3 && delays.every((d) => d !== null);
    }, { timeout: 5000, message: "alice's 3 strokes inked on bob's canvas" }).catch((err) => {
      err.message += `; delays so far: ${JSON.stringify(delays)}`;
      throw err;
    });
    console.log(`# whiteboard: pointer down in one tab to ink in the other: ${delays.map((d) => `${d} ms`).join(', ')}`);
    assert.ok(Math.min(...delays) <= 200, `a stroke reaches the other tab's canvas within 200 ms (${delays.join(', ')} ms)`);
    const strokes = await bob.page.evaluate(() => [...window.openroom.board.strokes.values()].map((st) => ({ user: st.userID, points: st.points.length })));
    assert.equal(strokes.length, 3, `bob's board has alice's 3 strokes: ${JSON.stringify(strokes)}`);
    assert.ok(strokes.every((st) => st.user === 'alice' && st.points >= 5), `each stroke arrived whole: ${JSON.stringify(strokes)}`);

    // While alice draws, bob sees her name beside the growing stroke.
    const box = await alice.page.locator('#board-canvas').boundingBox();
    await alice.page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.2);
    await alice.page.mouse.down();
    for (let i = 1; i <= 6; i++) await alice.page.mouse.move(box.x + box.width * (0.7 + i * 0.03), box.y + box.height * 0.2);
    await waitFor(async () => bob.page.evaluate(() => [...document.querySelectorAll('.board-author')].some((l) => l.getAttribute('data-user') === 'alice' && l.textContent === 'alice')), {
      timeout: 3000, message: "bob to see alice's name beside her stroke while she draws",
    });
    await alice.page.mouse.up();
    await alice.page.locator('#board-undo').click(); // back to the three lines
    await waitFor(async () => (await bob.page.evaluate(() => window.openroom.board.strokes.size)) === 3, { timeout: 5000, message: "alice's undo on bob's board" });

    const carol = await s.member(room, 'carol');
    await openBoard(carol.page);
    await waitFor(async () => (await inkedPixels(carol.page)) > 0, { timeout: 5000, message: 'the late joiner to see the strokes drawn before it came' });
    assert.equal(await carol.page.evaluate(() => window.openroom.board.strokes.size), 3);
    if (process.env.OPENROOM_E2E_SHOTS) await carol.page.screenshot({ path: `${process.env.OPENROOM_E2E_SHOTS}/board-carol.png` });

    await bob.page.locator('#board-undo').click(); // bob has nothing to undo: an error, nothing changes
    await alice.page.locator('#board-undo').click();
    await waitFor(async () => (await carol.page.evaluate(() => window.openroom.board.strokes.size)) === 2, { timeout: 5000, message: "alice's undo to remove her last stroke everywhere" });

    await alice.page.locator('#board-clear').click();
    for (const m of [alice, bob, carol]) {
      await waitFor(async () => (await inkedPixels(m.page)) === 0, { timeout: 5000, message: `${m.user}'s board to be empty after Clear` });
    }
  });
});
