// Admin end-to-end: the operator page at /admin against the real server and
// real Chromium members, inside the private network namespace:
//   scripts/netns-run.sh node --test e2e/admin.test.mjs
//
// Page contract (admin/static): #admin-token + #admin-login sign in; each room
// is [data-room="{room}"] with a .close-room button; each member is
// [data-member="{room}/{user}"] with a .kick button and .kbps-in / .kbps-out
// cells (data-kbps); #admin-error shows errors. Kick and Close ask confirm().
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  requireNetns,
  buildServer,
  setup,
  uniqueRoom,
  waitFor,
  waitForState,
  tileCount,
  stateOf,
  withDeadline,
  openAdmin,
  adminLogin,
  adminError,
  adminMembers,
  adminRates,
} from './harness.mjs';

const TOKEN = 'test-admin-token';

before(async () => {
  requireNetns();
  await buildServer();
}, { timeout: 600_000 });

function bannerOf(page) {
  return page.evaluate(() => document.querySelector('#banner')?.textContent?.trim() ?? '');
}

async function api(server, method, path, token) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

test('admin: watch a room, kick a member, close the room', { timeout: 150_000 }, async (t) => {
  const s = await setup(t, { serverArgs: ['--admin-token', TOKEN] });
  await s.run(() =>
    withDeadline(145_000, 'admin kick and close', async () => {
      const room = uniqueRoom('admin');
      const alice = await s.member(room, 'alice');
      const bob = await s.member(room, 'bob');
      await waitFor(async () => (await tileCount(alice.page, 'bob')) > 0, { timeout: 15_000, message: "bob's tile on alice's page" });

      const admin = await openAdmin(s.browser, s.server.url, TOKEN);
      s.members.push(admin); // closed with the others; its log joins the diagnostics

      const roomCard = admin.page.locator(`[data-room="${room}"]`);
      await waitFor(async () => (await roomCard.count()) === 1, { timeout: 10_000, message: `[data-room="${room}"]` });
      await waitFor(async () => (await adminMembers(admin.page, room)).join() === 'alice,bob', {
        timeout: 10_000,
        message: `the admin page to list alice and bob in ${room}`,
      });

      // Media flows: after a couple of polls each publisher shows kbit/s in and out.
      for (const user of ['alice', 'bob']) {
        const r = await waitFor(
          async () => {
            const r = await adminRates(admin.page, room, user);
            return r.in > 0 && r.out > 0 ? r : false;
          },
          { timeout: 15_000, interval: 250, message: `non-zero kbit/s in and out for ${user} on the admin page` },
        );
        console.log(`admin page: ${user} publishes ${r.in.toFixed(1)} kbit/s in, ${r.out.toFixed(1)} kbit/s out`);
      }

      // Kick bob.
      await admin.page.locator(`[data-member="${room}/bob"] .kick`).click({ timeout: 5000 });
      await waitForState(bob.page, 'disconnected', { timeout: 10_000 });
      await waitFor(async () => /removed by the operator/.test(await bannerOf(bob.page)), {
        timeout: 5000,
        message: "bob's #banner to say 'removed by the operator'",
      });
      await waitFor(async () => (await tileCount(alice.page, 'bob')) === 0, {
        timeout: 5000,
        message: "bob's tile to leave alice's page",
      });
      await waitFor(async () => (await adminMembers(admin.page, room)).join() === 'alice', {
        timeout: 5000,
        message: 'the admin page to list only alice',
      });
      assert.equal(await stateOf(alice.page), 'connected', 'alice stays connected when bob is kicked');
      // Alone again, alice is not told she is the first one here.
      await waitFor(async () => alice.page.evaluate(() => {
        const e = document.querySelector('#empty-state');
        return !!e && !e.hidden && /only one here now/.test(e.textContent) && /bob was removed/.test(e.textContent);
      }), { timeout: 5000, message: "alice's empty room to say bob was removed, not that she is the first one here" });
      assert.match(admin.dialogs[0] ?? '', /bob/, 'the kick asked confirm() naming bob');
      assert.ok(
        s.server.logs().split('\n').some((l) => /admin: member kicked/.test(l) && l.includes(`room=${room}`) && /user=bob/.test(l)),
        'a server log line for the kick with room and user',
      );

      // Close the room: alice goes too, and the room leaves the page.
      await roomCard.locator('.close-room').click({ timeout: 5000 });
      await waitForState(alice.page, 'disconnected', { timeout: 10_000 });
      await waitFor(async () => /closed by the operator/.test(await bannerOf(alice.page)), {
        timeout: 5000,
        message: "alice's #banner to say the room was closed by the operator",
      });
      await waitFor(async () => (await roomCard.count()) === 0, { timeout: 5000, message: 'the room to leave the admin page' });
      assert.match(admin.dialogs[1] ?? '', new RegExp(room), 'the close asked confirm() naming the room');
      assert.equal(await adminError(admin.page), '', '#admin-error after kick and close');
      const listing = await api(s.server, 'GET', '/admin/api/rooms', TOKEN);
      assert.equal(listing.status, 200);
      assert.ok(!listing.body.rooms.some((r) => r.room === room), `${room} is gone from the API listing`);
      // Kicked members stay out (no reconnect that would bring them back).
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(await stateOf(bob.page), 'disconnected');
      assert.equal(await stateOf(alice.page), 'disconnected');
    }),
  );
});

test('admin: the API and the page refuse a wrong token', { timeout: 90_000 }, async (t) => {
  const s = await setup(t, { serverArgs: ['--admin-token', TOKEN] });
  await s.run(() =>
    withDeadline(85_000, 'admin auth', async () => {
      const room = uniqueRoom('adminauth');
      const alice = await s.member(room, 'alice');

      for (const [name, token] of [['no token', ''], ['wrong token', 'not-the-admin-token']]) {
        const list = await api(s.server, 'GET', '/admin/api/rooms', token);
        assert.equal(list.status, 401, `${name}: GET /admin/api/rooms`);
        assert.equal(list.body?.code, 4010, `${name}: code`);
        const kick = await api(s.server, 'POST', `/admin/api/rooms/${room}/members/alice/kick`, token);
        assert.equal(kick.status, 401, `${name}: POST kick`);
      }
      assert.equal(await stateOf(alice.page), 'connected', 'alice was not kicked by unauthorized calls');

      const admin = await openAdmin(s.browser, s.server.url, TOKEN, { login: false });
      s.members.push(admin);
      await assert.rejects(adminLogin(admin.page, 'not-the-admin-token'), /admin sign-in failed/);
      assert.match(await adminError(admin.page), /token/i, '#admin-error names the token');
      assert.equal(await admin.page.locator('[data-member]').count(), 0, 'nothing listed without the right token');

      await adminLogin(admin.page, TOKEN);
      await waitFor(async () => (await adminMembers(admin.page, room)).join() === 'alice', {
        timeout: 10_000,
        message: 'alice listed after signing in with the right token',
      });
      assert.equal(await adminError(admin.page), '', '#admin-error after the right token');
      // The token survives a reload of the tab (sessionStorage), not the form.
      await admin.page.reload({ waitUntil: 'domcontentloaded' });
      await waitFor(async () => (await adminMembers(admin.page, room)).join() === 'alice', {
        timeout: 10_000,
        message: 'alice listed after a reload without signing in again',
      });
    }),
  );
});
