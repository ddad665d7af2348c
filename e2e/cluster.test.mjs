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

/** A redis-server on 127.0.0.1 of the test namespace (on port, else a free one), without persistence. */
async function startRedis(port = 0) {
  port ||= await freeTcpPort();
  const proc = spawnTracked('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { name: 'redis' });
  await waitFor(async () => /Ready to accept connections/.test(proc.logs()), { timeout: 10_000, message: 'redis-server ready' });
  return { url: `redis://127.0.0.1:${port}/0`, port, proc };
}

/** ffprobe reads ~3 s of url; returns the video stream's decoded frames and size. */
async function probeVideo(url) {
  const p = spawnTracked('ffprobe', ['-v', 'error', '-rw_timeout', '10000000', '-read_intervals', '%+3', '-count_frames',
    '-select_streams', 'v', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', url], { stdout: 'pipe', name: 'ffprobe' });
  let out = '';
  p.proc.stdout.on('data', (d) => (out += d));
  const exit = await p.done;
  if (exit.code !== 0) throw new Error(`ffprobe ${url} exited with ${JSON.stringify(exit)}:\n${p.logs()}`);
  const st = JSON.parse(out || '{}').streams?.[0] ?? {};
  return { codec: st.codec_name, frames: Number(st.nb_read_frames ?? 0), width: st.width, height: st.height };
}

/**
 * Runs fn({nodes, browser, members}) against Redis and nodes with these IDs; everything
 * is stopped after, and a failure carries every node's, Redis's and page's log.
 */
async function withCluster(t, ids, fn) {
  let redis = await startRedis();
  const nodes = [];
  const members = [];
  let browser;
  t.after(async () => {
    for (const m of members) await m.close();
    if (browser) await closeBrowser(browser);
    for (const n of nodes) await n.stop();
    await redis.proc.stop();
  });
  // Redis stopped, then started again on its port (empty, as after a restart).
  const stopRedis = () => redis.proc.stop();
  const restartRedis = async () => {
    redis = await startRedis(redis.port);
  };
  try {
    nodes.push(...(await startNodes(redis, ids)));
    browser = await launchBrowser();
    await fn({ nodes, browser, members, stopRedis, restartRedis });
  } catch (err) {
    appendToError(err, [`--- redis ---\n${redis.proc.logs()}`,
      ...nodes.map((n, i) => `--- node ${ids[i]} (last lines) ---\n${n.logs().split('\n').slice(-60).join('\n')}`),
      ...members.map((m) => `--- ${m.user} page log ---\n${m.logs()}`)].join('\n'));
    throw err;
  }
}

test('cluster: two tabs that reach different nodes meet on the room\'s node; an RTMP push to a third node reaches them; HTTP-FLV plays from any node', { timeout: 150_000 }, async (t) => {
  await withCluster(t, ['a', 'b', 'c'], async ({ nodes, browser, members }) => {
    const [a, b, c] = nodes;
    const room = uniqueRoom('cluster');
    // Alice reaches node a: all nodes are empty, so the room is placed on a (the first by ID).
    members.push(await openMember(browser, a.url, room, 'alice'));
    // Bob reaches node b, which sends him to a; the SDK follows by itself.
    members.push(await openMember(browser, b.url, room, 'bob'));
    const [alice, bob] = members;
    await assertMediaFlows(alice.page, ['bob'], { label: 'alice (joined at node a)' });
    await assertMediaFlows(bob.page, ['alice'], { label: 'bob (joined at node b, sent to a)' });
    assert.match(b.logs(), /member sent to the room's node.*user=bob/, 'node b sent bob on');
    assert.match(a.logs(), /member joined.*user=bob/, 'bob is a member on node a');
    assert.doesNotMatch(b.logs(), /member joined/, 'nobody is a member on node b');

    // ffmpeg pushes RTMP to node c (RTMP clients follow no redirect): c passes it on to a.
    const push = spawnTracked('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re',
      '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '60',
      '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-bf', '0', '-g', '30',
      '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', `rtmp://127.0.0.1:${c.rtmpPort}/live/${room}/pusher`], { name: 'ffmpeg push' });
    t.after(() => push.stop());
    await assertMediaFlows(alice.page, ['bob', 'pusher'], { timeout: 20_000, label: 'alice sees the pusher' });
    await assertMediaFlows(bob.page, ['pusher'], { label: 'bob sees the pusher' });
    assert.match(c.logs(), /rtmp: passed on to the room's node/, 'node c passed the push on');
    assert.match(a.logs(), /member joined.*user=pusher/, 'the pusher is a member on node a');
    // HTTP-FLV of the pusher from b, which the room does not live on: b passes it on.
    const flv = await probeVideo(`http://127.0.0.1:${b.port}/live/${room}/pusher.flv`);
    assert.ok(flv.codec === 'h264' && flv.frames >= 30 && flv.width === 640, `HTTP-FLV through node b: ${JSON.stringify(flv)}`);
  });
});

test('cluster: Redis stopped: the nodes keep their rooms, refuse new ones with a clear error, and place them again once Redis is back', { timeout: 150_000 }, async (t) => {
  await withCluster(t, ['a', 'b'], async ({ nodes, browser, members, stopRedis, restartRedis }) => {
    const [a, b] = nodes;
    const room = uniqueRoom('kept');
    members.push(await openMember(browser, b.url, room, 'alice')); // placed on a, through b
    await stopRedis();
    // The open room goes on: a newcomer at its node joins and the two see each other.
    members.push(await openMember(browser, a.url, room, 'bob'));
    await assertMediaFlows(members[1].page, ['alice'], { label: 'bob, joined with Redis away' });
    // A new room cannot be placed: the page says why.
    const fresh = uniqueRoom('fresh');
    members.push(await openMember(browser, b.url, fresh, 'carol', { waitConnected: false }));
    await waitFor(async () => /Redis/.test((await members[2].page.textContent('#banner')) ?? ''), { timeout: 15_000, message: 'carol\'s page to say that Redis is away' });
    // Redis back (empty): the nodes register again, and the new room is placed.
    await restartRedis();
    await waitFor(async () => /Redis is back/.test(b.logs()), { timeout: 10_000, message: 'node b to register again' });
    members.push(await openMember(browser, b.url, fresh, 'dave'));
  });
});

test('cluster: kill -9 the room\'s node: the tabs decode each other again within 15 s, and the chat history is intact', { timeout: 180_000 }, async (t) => {
  await withCluster(t, ['a', 'b', 'c'], async ({ nodes, browser, members }) => {
    const [a, b, c] = nodes;
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
  });
});
