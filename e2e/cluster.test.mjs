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
  killGroup,
} from './harness.mjs';
import { performance } from 'node:perf_hooks';

const SECRET = 'cluster-e2e-secret-0123456789abcdef';

/** Starts nodes with these IDs on one Redis (the node's log says "cluster mode" once ready). */
async function startNodes(redis, ids) {
  const nodes = [];
  for (const id of ids) {
    nodes.push(await startServer({ args: ['--redis-url', redis.url, '--node-id', id, '--secret', SECRET, '--turn', ''], readyLog: 'cluster mode' }));
  }
  return nodes;
}

/** The texts in the demo's chat list, in page order. */
function chatTexts(page) {
  return page.evaluate(() => [...document.querySelectorAll('#chat-list li[data-msg-id] .chat-text')].map((e) => e.textContent));
}

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
    nodes.push(...(await startNodes(redis, ['a', 'b'])));
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

test('cluster: kill -9 the room\'s node: the tabs decode each other again within 15 s, and the chat history is intact', { timeout: 180_000 }, async (t) => {
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
    [`--- redis ---\n${redis.proc.logs()}`, ...nodes.map((n, i) => `--- node ${'abc'[i]} (last lines) ---\n${n.logs().split('\n').slice(-60).join('\n')}`),
      ...members.map((m) => `--- ${m.user} page log ---\n${m.logs()}`)].join('\n');
  try {
    nodes.push(...(await startNodes(redis, ['a', 'b', 'c'])));
    const [a, b, c] = nodes;
    browser = await launchBrowser();
    const room = uniqueRoom('crash');
    // Alice reaches b and bob reaches c: the room is placed on a (all empty, first by ID).
    members.push(await openMember(browser, b.url, room, 'alice'));
    members.push(await openMember(browser, c.url, room, 'bob'));
    const [alice, bob] = members;
    await assertMediaFlows(alice.page, ['bob'], { label: 'alice before the crash' });
    await assertMediaFlows(bob.page, ['alice'], { label: 'bob before the crash' });
    assert.match(a.logs(), /member joined.*user=bob/, 'the room lives on node a');
    await alice.page.evaluate(() => window.openroom.sendMessage('written before the crash'));
    await waitFor(async () => (await chatTexts(bob.page)).includes('written before the crash'), { timeout: 10_000, message: 'bob to get the message' });

    killGroup(a.proc.pid, 'SIGKILL');
    const t0 = performance.now();
    await assertMediaFlows(alice.page, ['bob'], { timeout: 15_000, label: 'alice after the crash' });
    await assertMediaFlows(bob.page, ['alice'], { timeout: Math.max(1000, 15_000 - (performance.now() - t0)), label: 'bob after the crash' });
    const took = (performance.now() - t0) / 1000;
    console.log(`# kill -9 of the room's node: both tabs decode each other again after ${took.toFixed(1)} s`);
    assert.ok(took < 15, `media back after ${took.toFixed(1)} s; want < 15 s`);
    // The room lives on b or c now, with its chat history: a newcomer sees it.
    members.push(await openMember(browser, c.url, room, 'carol'));
    await waitFor(async () => (await chatTexts(members[2].page)).includes('written before the crash'), { timeout: 10_000, message: 'carol to see the history' });
  } catch (err) {
    appendToError(err, diagnostics());
    throw err;
  }
});
