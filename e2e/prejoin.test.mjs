// The demo's pre-join screen (web/static/js/prejoin.js): a link without ?user= shows a camera
// preview, device choice, a name and "join muted"/"camera off" before entering; a refused
// camera is explained, with Retry. A link with ?user= still joins at once (the other tests).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  requireNetns, buildServer, setup, uniqueRoom, waitFor, waitForState, newMemberPage, launchBrowser, closeBrowser, appendToError,
} from './harness.mjs';

before(async () => {
  requireNetns();
  await buildServer();
}, { timeout: 600_000 });

const prejoinState = (page) =>
  page.evaluate(() => {
    const root = document.querySelector('#prejoin');
    const err = document.querySelector('#prejoin-error');
    const v = /** @type {HTMLVideoElement|null} */ (document.querySelector('#prejoin-video'));
    return {
      shown: !!root && !root.hidden,
      media: root?.getAttribute('data-media') ?? '',
      error: err && !err.hidden ? err.getAttribute('data-error') : null,
      errorText: err && !err.hidden ? err.textContent : '',
      retry: !document.querySelector('#prejoin-retry')?.hidden,
      previewWidth: v?.videoWidth ?? 0,
      cameras: document.querySelectorAll('#prejoin-videoinput option').length,
    };
  });

test('pre-join: preview, name, join muted; the others see the name and the muted microphone', { timeout: 120_000 }, async (t) => {
  const s = await setup(t);
  await s.run(async () => {
    const room = uniqueRoom('prejoin');
    const bob = await s.member(room, 'bob');
    const m = await newMemberPage(s.browser, 'lei');
    s.members.push(m);
    try {
      await m.page.goto(`${s.server.url}/r/${room}`, { waitUntil: 'domcontentloaded' });
      await waitFor(async () => {
        const st = await prejoinState(m.page);
        return st.shown && st.media === 'ready' && st.previewWidth > 0 && st.cameras > 1;
      }, { timeout: 15_000, message: 'the pre-join preview to play, with the cameras listed' });
      assert.equal(await m.page.evaluate(() => window.openroom.state), 'disconnected', 'nothing joins before Join');
      await m.page.locator('#prejoin-name').fill('李雷');
      await m.page.locator('#prejoin-mic-off').check();
      await m.page.locator('#prejoin-join').click();
      await waitForState(m.page, 'connected');
      assert.equal((await prejoinState(m.page)).shown, false, 'the pre-join screen is gone once in');
      assert.equal(new URL(m.page.url()).searchParams.get('user'), '李雷', 'the link now names us: a reload comes straight in');
      assert.equal(await m.page.evaluate(() => window.openroom.audioMuted), true, 'joined muted');
      const leiID = await m.page.evaluate(() => window.openroom.userID);
      await waitFor(async () => bob.page.evaluate((id) => {
        const li = [...document.querySelectorAll('#members li[data-user]')].find((el) => el.getAttribute('data-user') === id);
        return li?.querySelector('.member-nick')?.textContent === '李雷' && li.getAttribute('data-audio-muted') === 'true';
      }, leiID), { timeout: 15_000, message: "bob's member list to show 李雷, muted" });
      if (process.env.OPENROOM_E2E_SHOTS) await m.page.screenshot({ path: `${process.env.OPENROOM_E2E_SHOTS}/prejoin-in.png` });
    } catch (err) {
      appendToError(err, `--- lei page log ---\n${m.logs()}`);
      throw err;
    }
  });
});

test('pre-join: a refused camera is explained; Retry after allowing it shows the preview', { timeout: 120_000 }, async (t) => {
  const s = await setup(t);
  await s.run(async () => {
    // No fake permission UI: a context without the permission is refused, as after "Block".
    const browser = await launchBrowser({ dropArgs: ['--use-fake-ui-for-media-stream'] });
    t.after(() => closeBrowser(browser));
    const context = await browser.newContext();
    const page = await context.newPage();
    const logs = [];
    page.on('console', (msg) => logs.push(`console.${msg.type()}: ${msg.text()}`));
    try {
      const room = uniqueRoom('prejoin-denied');
      await page.goto(`${s.server.url}/r/${room}`, { waitUntil: 'domcontentloaded' });
      await waitFor(async () => (await prejoinState(page)).error === 'denied', {
        timeout: 15_000, message: 'the pre-join screen to explain the refused camera',
      });
      const denied = await prejoinState(page);
      assert.ok(denied.retry, 'Retry is offered');
      assert.match(denied.errorText, /Allow them/, 'the text says what to do');
      if (process.env.OPENROOM_E2E_SHOTS) await page.screenshot({ path: `${process.env.OPENROOM_E2E_SHOTS}/prejoin-denied.png` });

      await context.grantPermissions(['camera', 'microphone'], { origin: s.server.url });
      await page.locator('#prejoin-retry').click();
      await waitFor(async () => {
        const st = await prejoinState(page);
        return st.media === 'ready' && st.previewWidth > 0 && st.error === null;
      }, { timeout: 15_000, message: 'the preview after Retry' });
      await page.locator('#prejoin-name').fill('Ada Lovelace');
      await page.locator('#prejoin-cam-off').check();
      await page.locator('#prejoin-join').click();
      await waitForState(page, 'connected');
      assert.equal(await page.evaluate(() => window.openroom.videoMuted), true, 'joined with the camera off');
    } catch (err) {
      appendToError(err, `--- page log ---\n${logs.slice(-60).join('\n')}`);
      throw err;
    }
  });
});
