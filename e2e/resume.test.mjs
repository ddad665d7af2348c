// Calls that survive a signaling blip (issue 11), with real Chromium members inside the
// private network namespace (scripts/netns-run.sh).
//
//   signal cut, media intact: alice reaches the server's HTTP/WebSocket port through a
//   TCP proxy the test controls (her media goes straight to the server's UDP port); the
//   test cuts every proxied connection and refuses new ones for 3 s. Meanwhile carol
//   enters (over the legacy HTTP API) and bob chats. bob never sees alice leave and never loses her tile; video
//   keeps decoding on both sides (no gap over 3 s); alice resumes by herself
//   (`resumed`, no second `joined`), sees carol, has bob's chat, and chat works both ways.
//
//   network change: alice's Chromium runs in a network namespace of its own (a veth pair,
//   e2e/netshape.mjs); mid-call her address changes (10.97.0.2 -> 10.97.0.3, the old one
//   removed): both sides decode each other again by ICE restart, with no second join
//   (3.5-4.8 s measured; held to 8 s, see the test).
//
//   server restart: kill -9 the server and start it again on the same ports: every tab
//   decodes remote video again within 10 s of the new process listening, by itself (the
//   resume is refused, so the SDK joins again with the same camera and microphone).
//
//   deploy: SIGTERM (a 3 s drain): the demo's banner says so within 1 s; the process
//   exits, a new one starts on the same ports, and the tabs are back within 10 s.
//
//   scripts/netns-run.sh node --test --test-concurrency=1 e2e/resume.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  setup,
  startServer,
  killGroup,
  launchBrowser,
  closeBrowser,
  openMember,
  uniqueRoom,
  waitForTiles,
  waitForState,
  tileCount,
  memberList,
  remoteStats,
  assertMediaFlows,
  waitFor,
  withDeadline,
  requireNetns,
} from './harness.mjs';
import { createWeakLink, launchBrowserIn, WEAK_HOST_IP } from './netshape.mjs';

/**
 * A TCP proxy on the node IP to 127.0.0.1:targetPort. cut() destroys every
 * connection it carries; refuse(true) closes new ones at once until refuse(false).
 */
async function tcpProxy(targetPort) {
  const sockets = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, process.env.OPENROOM_TEST_IP, resolve));
  return {
    port: server.address().port,
    cut() {
      for (const s of sockets) s.destroy();
    },
    refuse(on) {
      refusing = on;
    },
    close() {
      this.cut();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Waits (up to 20 s) until each page has decoded `from`'s top layer (at least
 * 600 px wide) on two samples a second apart; reports what it saw.
 */
async function settle(pairs, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  let streak = 0;
  let widths = [];
  while (Date.now() < deadline) {
    widths = [];
    for (const [page, from] of pairs) widths.push((await remoteStats(page).catch(() => ({})))?.[from]?.video?.frameWidth ?? 0);
    streak = widths.every((w) => w >= 600) ? streak + 1 : 0;
    if (streak >= 2) return `yes (widths ${widths.join(', ')})`;
    await sleep(1000);
  }
  return `no, went on after ${timeout} ms (widths ${widths.join(', ')})`;
}

/** Samples framesDecoded of `from`'s video on each page every 250 ms until stop(); returns the longest time it did not grow. */
function watchDecoding(pages) {
  let running = true;
  const longest = {};
  const samples = {};
  const t0 = Date.now();
  const loop = (async () => {
    const last = {};
    while (running) {
      const now = Date.now();
      for (const [name, page, from] of pages) {
        const frames = (await remoteStats(page).catch(() => ({})))?.[from]?.video?.framesDecoded ?? 0;
        (samples[name] ??= []).push(`${((now - t0) / 1000).toFixed(1)}:${frames}`);
        const l = last[name];
        if (!l || frames > l.frames) last[name] = { frames, at: now };
        longest[name] = Math.max(longest[name] ?? 0, now - last[name].at);
      }
      await sleep(250);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return longest;
    },
    samples,
    t0,
  };
}

test('signal cut, media intact: the cut member resumes and nobody else notices', { timeout: 180_000 }, async (t) => {
  requireNetns();
  const s = await setup(t);
  const proxy = await tcpProxy(s.server.port);
  t.after(() => proxy.close());
  await s.run(async () => {
    const room = uniqueRoom('resume');
    const viaProxy = `http://${process.env.OPENROOM_TEST_IP}:${proxy.port}`;
    // Her page's origin is the proxy's: camera and microphone need it to count as secure.
    const browser = await launchBrowser({ args: [`--unsafely-treat-insecure-origin-as-secure=${viaProxy}`] });
    t.after(() => closeBrowser(browser));
    const alice = await openMember(browser, viaProxy, room, 'alice', { recordMessages: true });
    s.members.push(alice);
    const bob = await s.member(room, 'bob', { recordMessages: true });
    await waitForTiles(alice.page, ['bob']);
    await waitForTiles(bob.page, ['alice']);
    await assertMediaFlows(alice.page, ['bob'], { label: 'alice receiving bob' });
    await assertMediaFlows(bob.page, ['alice'], { label: 'bob receiving alice' });
    // Mid-call: the first seconds of a call switch layers as the browsers' uplink
    // estimates ramp up (each switch waits for a keyframe), which is not what this measures.
    const settled = await settle([
      [alice.page, 'bob'],
      [bob.page, 'alice'],
    ]);
    console.log(`# settled on the top layer before the cut: ${settled}`);

    const decoding = watchDecoding([
      ['bob sees alice', bob.page, 'alice'],
      ['alice sees bob', alice.page, 'bob'],
    ]);
    let bobLostTile = false;
    const tiles = (async () => {
      while (!decoding.stopped) {
        if ((await tileCount(bob.page, 'alice').catch(() => 1)) < 1) bobLostTile = true;
        await sleep(200);
      }
    })();

    // The cut: every proxied connection dies, and for 3 s new ones are refused.
    const cutAt = Date.now();
    proxy.refuse(true);
    proxy.cut();
    await waitForState(alice.page, 'reconnecting', { timeout: 5000 });
    // carol enters over the legacy HTTP API: a member without a browser, so that a fourth
    // Chromium page encoding video does not starve the two being measured of CPU.
    const entered = await fetch(`http://127.0.0.1:${s.server.port}/weapp/webrtc_room/enter_room`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userID: 'carol', roomID: room }),
      signal: AbortSignal.timeout(5000),
    }).then((r) => r.json());
    assert.equal(entered.code, 0, `carol's enter_room: ${JSON.stringify(entered)}`);
    const beat = setInterval(() => {
      fetch(`http://127.0.0.1:${s.server.port}/weapp/webrtc_room/heartbeat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userID: 'carol', roomID: room }),
      }).catch(() => {});
    }, 5000); // as a legacy member does: it has no socket to keep it alive
    t.after(() => clearInterval(beat));
    await bob.page.evaluate(() => window.openroom.sendMessage('said during the cut'));
    await sleep(Math.max(0, 3000 - (Date.now() - cutAt)));
    proxy.refuse(false);
    await waitForState(alice.page, 'connected', { timeout: 15_000 });
    const backAfter = Date.now() - cutAt;

    // Through the cut, that is: carol's tiles arriving afterwards change alice's layout
    // (and bob's layer at alice), which is not what this measures.
    await sleep(500);
    decoding.stopped = true;
    const longest = await decoding.stop();
    await tiles;
    await waitFor(async () => (await memberList(alice.page)).includes('carol'), {
      timeout: 15_000,
      message: 'alice to list carol, who entered during the cut',
    });

    // Chat both ways after the resume.
    await alice.page.evaluate(() => window.openroom.sendMessage('alice is back'));
    await bob.page.evaluate(() => window.openroom.sendMessage('welcome back'));
    const texts = (m) => m.messages.filter((x) => x.msg?.type === 'chat').map((x) => x.msg.text);
    await waitFor(async () => texts(bob).includes('alice is back') && texts(alice).includes('welcome back'), {
      timeout: 10_000,
      message: `chat both ways after the resume (alice has ${JSON.stringify(texts(alice))}, bob has ${JSON.stringify(texts(bob))})`,
    });

    const types = (m) => m.messages.map((x) => x.msg?.type);
    console.log(`# alice back ${backAfter} ms after the cut; longest time without a new decoded frame: ${JSON.stringify(longest)}`);
    for (const [name, ms] of Object.entries(longest)) {
      if (ms >= 1000) console.log(`# ${name}: cut at ${((cutAt - decoding.t0) / 1000).toFixed(1)} s; frames decoded by time: ${decoding.samples[name].join(' ')}`);
    }
    assert.equal(types(alice).filter((x) => x === 'joined').length, 1, 'alice joined again instead of resuming');
    assert.ok(types(alice).includes('resumed'), 'alice never got resumed');
    assert.ok(texts(alice).includes('said during the cut'), `alice did not get the chat sent during the cut: ${JSON.stringify(texts(alice))}`);
    const left = bob.messages.filter((x) => x.msg?.type === 'member_left' && x.msg.userID === 'alice');
    assert.deepEqual(left, [], 'bob saw alice leave');
    const rejoined = bob.messages.filter((x) => x.msg?.type === 'member_joined' && x.msg.member?.userID === 'alice');
    assert.deepEqual(rejoined, [], 'bob saw alice join again');
    assert.equal(bobLostTile, false, "alice's tile disappeared at bob during the cut");
    for (const [name, ms] of Object.entries(longest)) {
      assert.ok(ms < 3000, `${name}: no new frame for ${ms} ms through the cut (cut at ${((cutAt - decoding.t0) / 1000).toFixed(1)} s, back ${backAfter} ms later; frames decoded by time: ${decoding.samples[name].join(' ')})`);
    }
  });
});

/**
 * Two members in a room, then `stop` takes the server down and a new process starts on
 * the same ports: both must decode each other again within 10 s of it listening.
 */
async function survivesRestart(t, { serverArgs = [], stop }) {
  requireNetns();
  const s = await setup(t, { serverArgs });
  let next;
  t.after(async () => next?.stop());
  await s.run(async () => {
    const room = uniqueRoom('restart');
    const alice = await s.member(room, 'alice');
    const bob = await s.member(room, 'bob');
    await waitForTiles(alice.page, ['bob']);
    await waitForTiles(bob.page, ['alice']);
    await assertMediaFlows(alice.page, ['bob'], { label: 'alice receiving bob' });
    await assertMediaFlows(bob.page, ['alice'], { label: 'bob receiving alice' });

    const old = s.server;
    const exited = new Promise((resolve) => (old.exited() ? resolve(old.exited()) : old.proc.on('exit', (code, signal) => resolve({ code, signal }))));
    await stop({ server: old, pages: [alice.page, bob.page] });
    await withDeadline(20_000, 'the old server to exit', () => exited);
    next = await startServer({ args: serverArgs, ports: old });
    const up = Date.now();
    for (const [m, other] of [[alice, 'bob'], [bob, 'alice']]) {
      await waitForState(m.page, 'connected', { timeout: 10_000 });
      await waitForTiles(m.page, [other], Math.max(1000, 10_000 - (Date.now() - up)));
      await assertMediaFlows(m.page, [other], { label: `${m.user} receiving ${other} after the restart`, timeout: Math.max(2000, 10_000 - (Date.now() - up)), gap: 1000 });
    }
    console.log(`# both tabs decode each other again ${Date.now() - up} ms after the new server listens`);
  });
}

test('server restart: kill -9, start again on the same ports: every tab is back within 10 s', { timeout: 180_000 }, async (t) => {
  await survivesRestart(t, {
    stop: async ({ server }) => killGroup(server.proc.pid, 'SIGKILL'),
  });
});

test('deploy: SIGTERM shows a banner within 1 s; after the restart the tabs are back within 10 s', { timeout: 180_000 }, async (t) => {
  await survivesRestart(t, {
    serverArgs: ['--drain', '3s'],
    stop: async ({ server, pages }) => {
      const t0 = Date.now();
      process.kill(server.proc.pid, 'SIGTERM');
      for (const page of pages) {
        await page.waitForFunction(
          () => {
            const b = document.querySelector('#banner');
            return b && !b.hidden && /shutting down/.test(b.textContent ?? '');
          },
          null,
          { timeout: 1000, polling: 50 },
        );
      }
      console.log(`# the banner showed on both tabs ${Date.now() - t0} ms after SIGTERM`);
    },
  });
});

test('network change: a new address mid-call, media back by ICE restart, no rejoin', { timeout: 180_000 }, async (t) => {
  requireNetns();
  const s = await setup(t);
  const link = await createWeakLink();
  t.after(() => link.close());
  const origin = `http://${process.env.OPENROOM_TEST_IP}:${s.server.port}`;
  const weak = await launchBrowserIn(link, { origin });
  t.after(() => weak.close());
  await s.run(async () => {
    const room = uniqueRoom('netchange');
    const alice = await openMember(weak.browser, origin, room, 'alice', { recordMessages: true });
    s.members.push(alice);
    const bob = await s.member(room, 'bob');
    await waitForTiles(alice.page, ['bob']);
    await waitForTiles(bob.page, ['alice']);
    await assertMediaFlows(alice.page, ['bob'], { label: 'alice receiving bob' });
    await assertMediaFlows(bob.page, ['alice'], { label: 'bob receiving alice' });

    // The phone walks from Wi-Fi to 4G: a new address, the old one gone.
    const t0 = Date.now();
    console.log(`# address change at ${new Date(t0).toISOString()}`);
    await link.inNs('sh', ['-c', `echo 1 > /proc/sys/net/ipv4/conf/${link.weakIf}/promote_secondaries`]);
    await link.inNs('ip', ['addr', 'add', '10.97.0.3/24', 'dev', link.weakIf]);
    await link.inNs('ip', ['addr', 'del', `${link.weakIP}/24`, 'dev', link.weakIf]);
    const testNet = `${process.env.OPENROOM_TEST_IP.split('.').slice(0, 3).join('.')}.0/24`;
    await link.inNs('ip', ['route', 'replace', testNet, 'via', WEAK_HOST_IP, 'dev', link.weakIf, 'src', '10.97.0.3']);
    await sleep(1000); // the old path is gone for sure: frames decoded from here on came the new way

    // Media is back when a frame is decoded that came the new way (the first
    // after the old path is surely gone); it flows when frames keep coming.
    const watched = [['alice sees bob', alice.page, 'bob'], ['bob sees alice', bob.page, 'alice']];
    const frames = async (page, from) => (await remoteStats(page))?.[from]?.video?.framesDecoded ?? 0;
    const base = {};
    for (const [name, page, from] of watched) base[name] = await frames(page, from);
    const back = {};
    await waitFor(
      async () => {
        for (const [name, page, from] of watched) {
          if (!back[name] && (await frames(page, from)) > base[name]) back[name] = Date.now() - t0;
        }
        return Object.keys(back).length === 2;
      },
      { timeout: 20_000, interval: 100, message: 'media both ways after the address change' },
    );
    const flowing = {};
    await waitFor(
      async () => {
        for (const [name, page, from] of watched) {
          if (flowing[name]) continue;
          const a = await frames(page, from);
          await sleep(300);
          if ((await frames(page, from)) > a) flowing[name] = Date.now() - t0;
        }
        return Object.keys(flowing).length === 2;
      },
      { timeout: 20_000, interval: 100, message: 'media flowing both ways after the address change' },
    );
    const pairs = await alice.page.evaluate(async () => {
      const out = [];
      for (const pc of [window.openroom.publisher, window.openroom.subscriber]) {
        const st = await pc.getStats();
        st.forEach((r) => {
          if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') out.push(st.get(r.localCandidateId)?.address);
        });
      }
      return out;
    });
    const joins = alice.messages.filter((x) => x.msg?.type === 'joined').length;
    console.log(`# first frame after the address change: ${JSON.stringify(back)} ms; frames in a 300 ms window: ${JSON.stringify(flowing)} ms; alice's pairs now from ${JSON.stringify(pairs)}; joined ${joins}x, resumed ${alice.messages.filter((x) => x.msg?.type === 'resumed').length}x`);
    assert.equal(joins, 1, 'alice joined again');
    // Issue 11: media back within 5 s. The SDK finds the path silent after 1.5 s,
    // resumes on a fresh socket and restarts ICE; the server asks for keyframes as
    // each connection comes back. After that Chrome's own uplink estimate decides how
    // fast alice's video flows again (measured: it can fall to ~100 kbit/s for a few
    // seconds after the change, see docs/protocol.md), hence the looser second bound.
    for (const [name, ms] of Object.entries(back)) assert.ok(ms < 5000, `${name}: first frame ${ms} ms after the address change (want < 5 s)`);
    for (const [name, ms] of Object.entries(flowing)) assert.ok(ms < 10_000, `${name}: frames flowing ${ms} ms after the address change (want < 10 s)`);
  });
});
