// Cluster mode end-to-end (issue 17): a real redis-server and real openroom
// processes sharing it, Chromium members sent to different nodes, all inside the
// private network namespace (scripts/netns-run.sh).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  requireNetns,
  buildServer,
  startServer,
  launchBrowser,
  closeBrowser,
  openMember,
  spawnTracked,
  freeTcpPort,
  waitFor,
  uniqueRoom,
  assertMediaFlows,
  appendToError,
} from './harness.mjs';

const SECRET = 'cluster-e2e-secret-0123456789abcdef';

before(async () => {
  requireNetns();
  await buildServer();
}, { timeout: 600_000 });

/** A redis-server on 127.0.0.1 of the test namespace, without persistence. */
async function startRedis() {
  const port = await freeTcpPort();
  const proc = spawnTracked('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { name: 'redis' });
  await waitFor(async () => /Ready to accept connections/.test(proc.logs()), { timeout: 10_000, message: 'redis-server ready' });
  return { url: `redis://127.0.0.1:${port}/0`, proc };
}

test('cluster: two tabs that reach different nodes meet on the room\'s node and see and hear each other', { timeout: 120_000 }, async (t) => {
  const redis = await startRedis();
  const nodes = [];
  let browser;
  const members = [];
  t.after(async () => {
    for (const m of members) await m.close();
    if (browser) await closeBrowser(browser);
    for (const n of nodes) await n.stop();
    await redis.proc.stop();
  });
  const diagnostics = () =>
    [`--- redis ---\n${redis.proc.logs()}`, ...nodes.map((n, i) => `--- node ${'ab'[i]} (last lines) ---\n${n.logs().split('\n').slice(-60).join('\n')}`),
      ...members.map((m) => `--- ${m.user} page log ---\n${m.logs()}`)].join('\n');
  try {
    for (const id of ['a', 'b']) {
      nodes.push(await startServer({ args: ['--redis-url', redis.url, '--node-id', id, '--secret', SECRET, '--turn', ''], readyLog: 'cluster mode' }));
    }
    const [a, b] = nodes;
    browser = await launchBrowser();
    const room = uniqueRoom('cluster');
    // Alice reaches node a: both nodes are empty, so the room is placed on a (the first by ID).
    members.push(await openMember(browser, a.url, room, 'alice'));
    // Bob reaches node b, which sends him to a; the SDK follows by itself.
    members.push(await openMember(browser, b.url, room, 'bob'));
    const [alice, bob] = members;
    await assertMediaFlows(alice.page, ['bob'], { label: 'alice (joined at node a)' });
    await assertMediaFlows(bob.page, ['alice'], { label: 'bob (joined at node b, sent to a)' });
    assert.match(b.logs(), /member sent to the room's node.*user=bob/, 'node b sent bob on');
    assert.match(a.logs(), /member joined.*user=bob/, 'bob is a member on node a');
    assert.doesNotMatch(b.logs(), /member joined/, 'nobody is a member on node b');
  } catch (err) {
    appendToError(err, diagnostics());
    throw err;
  }
});
