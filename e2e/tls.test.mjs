// HTTPS end-to-end: openroom serving the demo, the API and /ws over TLS
// (--https with a self-signed --tls-cert/--tls-key), Chromium members joining over
// https and wss with --ignore-certificate-errors, media flowing between them, and
// the plain http listener redirecting pages to https. Runs inside the private
// network namespace: scripts/netns-run.sh node --test e2e/tls.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  requireNetns,
  buildServer,
  startHTTPSServer,
  launchBrowser,
  closeBrowser,
  openMember,
  memberURL,
  waitFor,
  tileCount,
  assertMediaFlows,
  remoteStats,
  uniqueRoom,
  withDeadline,
  appendToError,
} from './harness.mjs';

let server;
let browser;
const members = [];

before(async () => {
  requireNetns();
  await buildServer(); // first build can take a while; not part of any test's deadline
  server = await startHTTPSServer();
  browser = await launchBrowser({ args: ['--ignore-certificate-errors'] });
}, { timeout: 600_000 });

after(async () => {
  for (const m of members) await m.close();
  await closeBrowser(browser);
  await server?.stop();
});

/** Runs fn; on failure adds the server log and the members' page logs to the error. */
async function withLogs(fn) {
  try {
    return await fn();
  } catch (err) {
    const parts = [`--- server log ---\n${server?.logs().split('\n').slice(-120).join('\n')}`];
    for (const m of members) parts.push(`--- ${m.user} page log ---\n${m.logs().split('\n').slice(-40).join('\n')}`);
    throw appendToError(err, parts.join('\n'));
  }
}

async function join(baseURL, room, user) {
  const m = await openMember(browser, baseURL, room, user);
  members.push(m);
  return m;
}

test('two members join over https and wss, and media flows', { timeout: 90_000 }, async () => {
  await withLogs(() =>
    withDeadline(85_000, 'two members over https', async () => {
      assert.match(server.logs(), /msg="openroom listening https" https=\S+:\d+/);
      const room = uniqueRoom('tls');
      const alice = await join(server.url, room, 'alice');
      const bob = await join(server.url, room, 'bob');
      for (const m of [alice, bob]) {
        const page = await m.page.evaluate(() => ({ protocol: location.protocol, secure: window.isSecureContext }));
        assert.deepEqual(page, { protocol: 'https:', secure: true }, `${m.user}'s page`);
        assert.match(m.logs(), new RegExp(`websocket open wss://localhost:${server.httpsPort}/ws`), `${m.user}'s signaling`);
      }
      for (const [m, other] of [[alice, 'bob'], [bob, 'alice']]) {
        await waitFor(async () => (await tileCount(m.page, other)) >= 1, { timeout: 15_000, message: `${m.user} sees ${other}'s tile` });
      }
      await assertMediaFlows(alice.page, ['bob'], { label: 'alice receiving over https' });
      await assertMediaFlows(bob.page, ['alice'], { label: 'bob receiving over https' });
      const stats = await remoteStats(alice.page);
      assert.ok(stats.bob?.video?.framesDecoded > 0, `alice decodes bob's video: ${JSON.stringify(stats)}`);
    }),
  );
});

test('a page opened over http is redirected to https and joins', { timeout: 60_000 }, async () => {
  await withLogs(() =>
    withDeadline(55_000, 'http redirect', async () => {
      const room = uniqueRoom('tls-redirect');
      const res = await fetch(`http://127.0.0.1:${server.port}/r/${room}?user=carol`, { redirect: 'manual' });
      assert.equal(res.status, 308, 'GET /r/... on http');
      assert.equal(res.headers.get('location'), `https://127.0.0.1:${server.httpsPort}/r/${room}?user=carol`);
      const carol = await join(server.httpURL, room, 'carol'); // waits for #state "connected"
      const want = memberURL(server.url, room, 'carol');
      assert.equal(carol.page.url(), want, 'where the browser ended up');
      assert.match(carol.logs(), new RegExp(`websocket open wss://localhost:${server.httpsPort}/ws`));
    }),
  );
});
