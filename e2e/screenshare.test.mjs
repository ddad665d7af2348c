// Screen sharing (issue 14, point 2) through the demo and the SDK: the Share button opens the
// browser's picker (headless Chromium with the fake-UI switch picks the fake screen at once),
// the screen goes out as a second video track marked source "screen", the others decode it at
// full resolution beside the camera and show it large; Stop takes it away.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireNetns, buildServer, setup, uniqueRoom, waitFor } from './harness.mjs';

before(async () => {
  requireNetns();
  await buildServer();
}, { timeout: 600_000 });

/** Inbound video on the subscriber connection: [{trackIdentifier, framesDecoded, frameWidth, frameHeight}]. */
function inboundVideo(page) {
  return page.evaluate(async () => {
    const pc = window.openroom.subscriber;
    if (!pc) return [];
    const out = [];
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        out.push({ track: r.trackIdentifier, frames: r.framesDecoded ?? 0, width: r.frameWidth ?? 0, height: r.frameHeight ?? 0 });
      }
    });
    return out;
  });
}

/** What `page` shows of `id`'s screen: a [data-screen] tile, large, with a playing video. */
function screenTile(page, id) {
  return page.evaluate((u) => {
    const el = [...document.querySelectorAll('[data-screen]')].find((e) => e.getAttribute('data-screen') === u);
    const v = el?.querySelector('video');
    return el
      ? { shown: true, large: el.classList.contains('is-main') || el.classList.contains('is-large'), width: v?.videoWidth ?? 0, name: el.querySelector('.tile-name')?.textContent ?? '' }
      : { shown: false };
  }, id);
}

test('screen share: published as a second video, decoded at full size beside the camera, shown large; stop removes it', { timeout: 150_000 }, async (t) => {
  const s = await setup(t);
  await s.run(async () => {
    const room = uniqueRoom('screen');
    const alice = await s.member(room, 'alice');
    const bob = await s.member(room, 'bob');
    await waitFor(async () => (await inboundVideo(bob.page)).some((v) => v.frames > 0), { timeout: 20_000, message: "bob to decode alice's camera" });

    await alice.page.locator('#share-screen').click();
    await waitFor(async () => (await alice.page.locator('#share-screen').getAttribute('aria-pressed')) === 'true', {
      timeout: 15_000, message: "alice's Share button to show she is sharing",
    });
    const local = await alice.page.evaluate(() => {
      const st = window.openroom.screenStream;
      const v = st?.getVideoTracks()[0];
      return { video: !!v, hint: v?.contentHint ?? '', width: v?.getSettings().width ?? 0 };
    });
    assert.ok(local.video, 'room.screenStream has the screen');
    assert.equal(local.hint, 'text', 'the screen track carries the content hint for text');

    // Bob learns the track's source and gets a stream of its own for it.
    await waitFor(async () => bob.page.evaluate(() => {
      const m = window.openroom.members.get('alice');
      return !!m && m.tracks.some((tr) => tr.source === 'screen') && !!m.screenStream?.getVideoTracks().length;
    }), { timeout: 15_000, message: "bob's Member alice to list a screen track and have a screenStream" });
    let stats;
    await waitFor(async () => {
      stats = await inboundVideo(bob.page);
      const big = stats.filter((v) => v.frames > 0 && v.width >= local.width);
      return stats.filter((v) => v.frames > 0).length >= 2 && big.length >= 1;
    }, { timeout: 25_000, message: `bob to decode alice's camera and her screen at ${local.width} px wide` }).catch((err) => {
      err.message += `; inbound video: ${JSON.stringify(stats)}`;
      throw err;
    });
    await waitFor(async () => {
      const tile = await screenTile(bob.page, 'alice');
      return tile.shown && tile.large && tile.width > 0;
    }, { timeout: 15_000, message: "bob's page to show alice's screen large" });
    assert.match((await screenTile(bob.page, 'alice')).name, /alice · screen/);
    const cameraFrames = (await inboundVideo(bob.page)).map((v) => v.frames);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await inboundVideo(bob.page);
    assert.ok(after.filter((v, i) => v.frames > (cameraFrames[i] ?? 0)).length >= 2, `both videos keep decoding: ${JSON.stringify({ before: cameraFrames, after })}`);
    if (process.env.OPENROOM_E2E_SHOTS) await bob.page.screenshot({ path: `${process.env.OPENROOM_E2E_SHOTS}/screenshare-bob.png` });

    await alice.page.locator('#share-screen').click();
    await waitFor(async () => !(await screenTile(bob.page, 'alice')).shown, { timeout: 15_000, message: "alice's screen to leave bob's page after Stop" });
    assert.equal(await alice.page.evaluate(() => window.openroom.screenStream), null, 'room.screenStream is null after stopScreen');
  });
});
