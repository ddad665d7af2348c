// Display names in any script (issue 14, point 1): `?user=` is the name people see; the
// user ID is derived from it when it is not one. Two members, 李雷 and Ada Lovelace, see
// each other's exact names on the tiles, in the member list and in chat; the admin page
// shows them too.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireNetns, buildServer, setup, uniqueRoom, waitFor, openAdmin } from './harness.mjs';

before(async () => {
  requireNetns();
  await buildServer();
}, { timeout: 600_000 });

const TOKEN = 'test-admin-token';

/** What `page` shows for member `id`: its tile's name and its member-list name. */
function shownNames(page, id) {
  return page.evaluate((u) => {
    const tile = [...document.querySelectorAll('[data-user]')].find(
      (el) => el.getAttribute('data-user') === u && !el.closest('#members'),
    );
    const li = [...document.querySelectorAll('#members li[data-user]')].find((el) => el.getAttribute('data-user') === u);
    return {
      tile: tile?.querySelector('.tile-name')?.textContent ?? null,
      list: li?.querySelector('.member-nick')?.textContent ?? null,
    };
  }, id);
}

async function sendChat(page, text) {
  if (!(await page.locator('#chat-panel').isVisible())) await page.locator('#toggle-chat').click();
  await page.locator('#chat-input').fill(text);
  await page.locator('#chat-send').click();
}

function chatFrom(page, text) {
  return page.evaluate(
    (t) =>
      [...document.querySelectorAll('#chat-list li[data-msg-id]')]
        .find((li) => li.querySelector('.chat-text')?.textContent === t)
        ?.querySelector('.chat-from')?.textContent ?? null,
    text,
  );
}

test('names in any script: tiles, member list, chat and the admin page', { timeout: 120_000 }, async (t) => {
  const s = await setup(t, { serverArgs: ['--admin-token', TOKEN] });
  await s.run(async () => {
    const room = uniqueRoom('names');
    const lei = await s.member(room, '李雷');
    const ada = await s.member(room, 'Ada Lovelace');
    const leiID = await lei.page.evaluate(() => window.openroom.userID);
    const adaID = await ada.page.evaluate(() => window.openroom.userID);
    assert.match(leiID, /^[A-Za-z0-9_-]{1,64}$/, 'a user ID is derived for 李雷');
    assert.match(adaID, /^Ada_Lovelace-[a-z0-9]+$/, 'the ID for "Ada Lovelace" keeps its Latin letters');
    assert.equal(new URL(lei.page.url()).searchParams.get('user'), '李雷', 'the link keeps the name');

    for (const [viewer, id, name] of [
      [lei, adaID, 'Ada Lovelace'],
      [ada, leiID, '李雷'],
    ]) {
      await waitFor(async () => {
        const got = await shownNames(viewer.page, id);
        return got.tile === name && got.list === name;
      }, { timeout: 15_000, message: `${viewer.user} to show ${name} on the tile and in the member list` }).catch(async (err) => {
        err.message += `; shown: ${JSON.stringify(await shownNames(viewer.page, id))}`;
        throw err;
      });
    }
    assert.equal(await lei.page.locator('#me-name').textContent(), '李雷', "李雷's own name in the header");

    await sendChat(ada.page, 'hello from Ada');
    await sendChat(lei.page, '你好');
    await waitFor(async () => (await chatFrom(lei.page, 'hello from Ada')) === 'Ada Lovelace', {
      timeout: 10_000, message: "李雷's chat to show Ada's message from 'Ada Lovelace'",
    });
    await waitFor(async () => (await chatFrom(ada.page, '你好')) === '李雷', {
      timeout: 10_000, message: "Ada's chat to show 你好 from '李雷'",
    });

    const admin = await openAdmin(s.browser, s.server.url, TOKEN);
    try {
      await waitFor(async () => {
        const nicks = await admin.page.evaluate(
          (r) => Object.fromEntries([...document.querySelectorAll('[data-member]')]
            .filter((el) => el.getAttribute('data-member').startsWith(`${r}/`))
            .map((el) => [el.getAttribute('data-member').slice(r.length + 1), el.querySelector('.nick')?.textContent ?? ''])),
          room,
        );
        return nicks[leiID] === '李雷' && nicks[adaID] === 'Ada Lovelace';
      }, { timeout: 15_000, message: 'the admin page to show 李雷 and Ada Lovelace' });
      if (process.env.OPENROOM_E2E_SHOTS) {
        const dir = process.env.OPENROOM_E2E_SHOTS;
        await lei.page.screenshot({ path: `${dir}/names-lei.png` });
        await ada.page.screenshot({ path: `${dir}/names-ada.png` });
        await admin.page.screenshot({ path: `${dir}/names-admin.png`, fullPage: true });
      }
    } finally {
      await admin.close();
    }
  });
});

test('rough edges: a bad room link gets a page that leads to a good one; Copy link at localhost warns', { timeout: 90_000 }, async (t) => {
  const s = await setup(t);
  await s.run(async () => {
    const lei = await s.member(uniqueRoom('edges'), '李雷');
    await lei.context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await lei.page.locator('#copy-link').click();
    await waitFor(async () => lei.page.evaluate(() => [...document.querySelectorAll('.toast')].some((e) => e.classList.contains('toast-warn') && /only this computer/.test(e.textContent))), {
      timeout: 5000, message: 'Copy link at localhost to warn that only this computer can open the link',
    });

    const page = lei.page;
    const res = await page.goto(`${s.server.url}/r/${encodeURIComponent('数学课')}`, { waitUntil: 'domcontentloaded' });
    assert.equal(res?.status(), 404);
    await waitFor(async () => (await page.locator('#nf-name').textContent()) === '数学课', { timeout: 5000, message: 'the page to name the room asked for' });
    assert.match(await page.locator('#nf-title').textContent(), /not a room link/);
    await page.locator('#nf-lobby').click();
    await page.waitForURL((u) => u.pathname === '/', { timeout: 10_000 });
    assert.equal(await page.locator('#room-name').inputValue(), '数学课', 'the lobby has the name filled in');
    const link = await page.locator('#room-link').textContent();
    assert.match(link ?? '', /\/r\/room-[a-z0-9]+$/, `the lobby shows the safe link for it (${link})`);
  });
});
