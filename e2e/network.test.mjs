// Calls on real, poor networks (issue 10), with real Chromium members inside the
// private network namespace (scripts/netns-run.sh). The weak member runs in a network
// namespace of its own behind a veth pair whose downlink is shaped with tc tbf
// (this kernel has tbf and htb, no netem); see e2e/netshape.mjs for the topology.
//
//   0. weak link (always runs): the weak namespace is isolated (no route out), tbf caps
//      what reaches it (UDP measured with node sockets on both sides, at 500 kbit/s
//      and 5 Mbit/s), and a Chromium launched for it runs in it (every process) and
//      gets its pages through the shaped link.
//   1. poor link: alice and bob publish noisy 640x360 video (+ audio) on the good
//      path; carol joins from the weak namespace behind 500 kbit/s. After 15 s of
//      settling, over 20 s, carol decodes each remote video at >= 10 fps with < 2 s
//      frozen and conceals < 5 % of each remote audio; alice and bob still see each
//      other at >= 480 px wide.
//   2. recovery (same call): 500 kbit/s -> 5 Mbit/s: carol's two remote videos reach
//      the top layer within 15 s; back to 500 kbit/s: both fall below it within 5 s,
//      with no freeze (or stall) of 2 s or more. The top layer is the widest the
//      publisher sends at the time: 640 px, unless its encoder scaled it down (Chromium
//      then says "limit bandwidth": once bob's was 480x270 at the 640x360 layer's full
//      642 kbit/s, on a loopback uplink that lost nothing).
//   3. active speaker: one member's fake microphone is loud, two are near silent;
//      within 1 s of everyone's audio flowing, the `speakers` message lists the loud
//      member first and the demo marks its tile with class `speaking`.
//
// All four run in the suite; OPENROOM_E2E_NETWORK=0 skips 1, 2 and 3 (the three that
// run Chromium members in a call). 1 and 2 run three Chromiums, two of them encoding
// 640x360 simulcast at full rate: each member's call threads get a device's priority
// (boostRealtimeThreads), and a window that missed a bound while the cameras fell
// behind (the machine, not the SFU, starved the browsers) is measured again
// (STARVED_FPS, MAX_WINDOWS; the recovery cycle once); one that met every bound passes
// even then. A poor-link window in which the server got to packets too late was starved
// too; in the last one, starved as well, carol's total freeze time is printed, not
// judged, while no single freeze reaches 2 s (every other bound still holds). Alone:
//   scripts/netns-run.sh node --test --test-concurrency=1 e2e/network.test.mjs
// OPENROOM_E2E_DEBUG_LOG=FILE keeps the server's debug log of the poor-link call in FILE.
// Every figure is printed (fps, freezes, concealment, widths, bit rates), pass or fail.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  requireNetns,
  buildServer,
  startServer,
  serverMetrics,
  launchBrowser,
  closeBrowser,
  uniqueRoom,
  waitFor,
  assertMediaFlows,
  appendToError,
  median,
  waitForTiles,
} from './harness.mjs';
import {
  createWeakLink,
  launchBrowserIn,
  fakeMedia,
  fakeCaptureArgs,
  openNetMember,
  messagesOf,
  mediaStats,
  tileVideoSizes,
  sampleStats,
  summarize,
  formatSummary,
  udpThroughput,
  run,
  WEAK_CLIENT_IP,
  WEAK_HOST_IP,
  VIDEO_FPS,
  boostRealtimeThreads,
} from './netshape.mjs';

const CALL_SKIP = process.env.OPENROOM_E2E_NETWORK === '0' ? 'OPENROOM_E2E_NETWORK=0' : false;

// OPENROOM_E2E_DEBUG_LOG=FILE: the server logs at debug level (allocations, layers,
// estimates) and the log is written to FILE when the call ends.
const DEBUG_LOG = process.env.OPENROOM_E2E_DEBUG_LOG;
const LIGHT_COMPOSITING = '--disable-gpu-compositing';
const POOR_RATE = '500kbit';
const GOOD_RATE = '5mbit';
const SETTLE_MS = 15_000;
const WINDOW_MS = 20_000;
// Below this camera rate (frames the fake camera delivered, over a window) the two
// cores were starved by the three browsers (healthy runs deliver 14.2-15; at 13.5-13.9
// carol's decoder froze 2.2-4.2 s of 20 with nothing lost): that window's figures are the machine's,
// and it is measured again (up to MAX_WINDOWS; the recovery cycle once more, after
// RESETTLE_MS on the poor link). Every window's figures are printed. A poor-link window
// in which the server got to packets too late (openroom_stale_dropped_total) was
// starved too.
const STARVED_FPS = VIDEO_FPS - 1;
// Two: both runs seen that reached a third window (2026-12-07) failed it as well,
// and it costs 30 s of a suite near its 20-minute budget; the last window's rule
// (lastStarved) covers what a starved machine cannot show.
const MAX_WINDOWS = 2;
const RESETTLE_MS = 10_000;
const GOOD_VIEWPORT = { width: 800, height: 450 };
// alice's and bob's pages render at half resolution: their large tile is still about
// 390 device px wide (the SDK reports device pixels), so each asks for the other's
// 640 px layer, and their shared browser composites a quarter of the pixels.
const GOOD_SCALE = 0.5;
// Narrow and tall: the demo's 1v3 layout puts the large tile on top and carol's two
// small cells in a row under it, each wide enough (about 380 px) for the 640 px layer,
// whoever speaks. Small viewports also keep the software compositors, the largest CPU
// users here, within these two cores (a 1920x1080 window left the cameras at 6-10 fps).
const WEAK_VIEWPORT = { width: 840, height: 1000 };

before(async () => {
  requireNetns();
  await Promise.all([buildServer(), fakeMedia()]);
}, { timeout: 600_000 });

const say = (line) => console.log(line);
/** The 1-minute load average: these figures depend on the machine not being starved. */
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
const pct = (x) => `${(x * 100).toFixed(1)} %`;

function tail(text, n) {
  return String(text ?? '').split('\n').slice(-n).join('\n');
}

/** What a member publishes, per outbound-rtp, between two snapshots: "video[f] 640x360 1650 kbit/s 30 fps (limit none)". */
function outboundSummary(first, last) {
  const key = (o) => `${o.kind}:${o.ssrc}`;
  const before = new Map((first?.outbound ?? []).map((o) => [key(o), o]));
  return (last?.outbound ?? [])
    .map((o) => {
      const b = before.get(key(o));
      const secs = b ? (o.timestamp - b.timestamp) / 1000 : 0;
      const kbps = b && secs > 0 ? ((o.bytesSent - b.bytesSent) * 8) / secs / 1000 : NaN;
      const size = o.kind === 'video' ? ` ${o.frameWidth ?? '-'}x${o.frameHeight ?? '-'} ${o.framesPerSecond ?? 0} fps` : '';
      const limit = o.kind === 'video' ? ` (limit ${o.qualityLimitationReason ?? '?'}${o.active === false ? ', inactive' : ''})` : '';
      return `${o.kind}${o.rid ? `[${o.rid}]` : ''}${size} ${Number.isNaN(kbps) ? '?' : kbps.toFixed(0)} kbit/s${limit}`;
    })
    .join(', ');
}

/** The width of the widest video layer a member publishes now (0: none seen). */
function topWidth(stats) {
  return Math.max(0, ...(stats?.outbound ?? []).filter((o) => o.kind === 'video' && o.active !== false).map((o) => o.frameWidth ?? 0));
}

/** UDP datagrams the kernel dropped for full receive buffers (a starved reader) in /proc/net/snmp text. */
function rcvbufErrors(snmp) {
  const [head, vals] = snmp.split('\n').filter((l) => l.startsWith('Udp:'));
  return Number(vals?.split(/\s+/)[head.split(/\s+/).indexOf('RcvbufErrors')] ?? NaN);
}

/** RcvbufErrors here (the server, alice and bob) and in the weak namespace (carol). */
async function udpDrops(link) {
  return { here: rcvbufErrors(readFileSync('/proc/net/snmp', 'utf8')), weak: rcvbufErrors(await link.inNs('cat', ['/proc/net/snmp'])) };
}

/** The UDP sockets here that dropped datagrams for a full receive buffer: "openroom 12 drops (rcvbuf 212992)". */
async function socketDrops() {
  const out = await run('ss', ['-u', '-a', '-m', '-p', '-n']).catch(() => '');
  const found = [];
  let proc = '';
  for (const line of out.split('\n')) {
    const p = line.match(/users:\(\("([^"]+)"/);
    if (p) proc = p[1];
    const m = line.match(/skmem:\(([^)]*)\)/);
    if (!m) continue;
    const f = Object.fromEntries(m[1].split(',').map((kv) => [kv.replace(/[0-9]+$/, ''), Number(kv.match(/[0-9]+$/)?.[0])]));
    if (f.d > 0) found.push(`${proc} ${f.d} drops (rcvbuf ${f.rb})`);
  }
  return found.join(', ') || 'none';
}

/** The frame rate a member's cameras delivered over a sampled series ([{t (ms), stats}]; the slowest camera). */
function cameraFps(series) {
  const first = series[0].stats.sources;
  const last = series.at(-1).stats.sources;
  const secs = (series.at(-1).t - series[0].t) / 1000;
  if (!first.length || !last.length || secs <= 0) return 0;
  return Math.min(...last.map((x, i) => ((x.frames ?? 0) - (first[i]?.frames ?? 0)) / secs));
}

/**
 * Runs measure(attempt) -> {failures, starved} until it passes, up to `attempts` times
 * while the machine starved the browsers (then between() runs before the next), and
 * fails with every attempt's failures. `what` names an attempt in them ("window").
 */
async function measureUnlessStarved(title, what, attempts, measure, between = async () => {}) {
  const all = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const { failures, starved } = await measure(attempt);
    all.push(...failures.map((f) => `${what} ${attempt}: ${f}`));
    if (failures.length === 0) return;
    if (!starved || attempt === attempts) break;
    say(`  the machine starved the browsers: measuring again`);
    await between();
  }
  assert.fail(`${title}:\n  ${all.join('\n  ')}`);
}

/** Pins `user`'s tile with a click, as a person would, and waits for the demo to mark it. */
async function pinTile(page, user) {
  const tile = page.locator(`[data-user="${user}"]:not(#members [data-user])`).first();
  await tile.click();
  await page.waitForFunction((u) => document.querySelector(`[data-user="${u}"][data-pinned="true"]`), user, { timeout: 5000 });
}

// ---------------------------------------------------------------------------
// 0. The infrastructure itself

test('weak link: isolated namespace, tbf caps its downlink (500 kbit/s <-> 5 Mbit/s), Chromium runs inside it', { timeout: 120_000 }, async (t) => {
  const link = await createWeakLink();
  let weak;
  let srv;
  t.after(async () => {
    if (weak) await weak.close();
    if (srv) await new Promise((r) => srv.close(r));
    await link.close();
  });
  try {
    // Routes: the server's replies leave from the node IP; the weak side reaches only
    // the test namespace's 10.99.0.0/24, nothing else.
    const ours = await run('ip', ['route', 'get', WEAK_CLIENT_IP]);
    assert.match(ours, new RegExp(`dev ${link.hostIf} src ${process.env.OPENROOM_TEST_IP.replaceAll('.', '\\.')}`), `route to the weak member: ${ours}`);
    const theirs = await link.inNs('ip', ['route', 'get', process.env.OPENROOM_TEST_IP]);
    assert.match(theirs, new RegExp(`via ${WEAK_HOST_IP.replaceAll('.', '\\.')} dev ${link.weakIf}`), `weak route to the server: ${theirs}`);
    await assert.rejects(link.inNs('ip', ['route', 'get', '192.0.2.1']), /unreachable/i, 'the weak namespace has a route out');
    await assert.rejects(link.inNs('ip', ['route', 'get', '10.99.1.1']), /unreachable/i, 'the weak namespace routes beyond 10.99.0.0/24');

    // UDP through the shaped downlink, measured on the far side.
    await link.shape({ rate: POOR_RATE });
    const q0 = await link.qdisc();
    const poor = await udpThroughput(link, { sendKbps: 4000 });
    const q1 = await link.qdisc();
    say(`weak link UDP at ${POOR_RATE}: sent ${poor.sentKbps.toFixed(0)} kbit/s, received ${poor.steadyKbps.toFixed(0)} kbit/s of payload ` +
      `(${poor.packets} packets from ${poor.from}); qdisc dropped ${q1.drops - q0.drops} packets`);
    assert.equal(poor.from, process.env.OPENROOM_TEST_IP, 'packets to the weak member come from the node IP');
    assert.ok(poor.steadyKbps > 400 && poor.steadyKbps < 520, `UDP payload rate through ${POOR_RATE}: ${poor.steadyKbps.toFixed(0)} kbit/s (want about 483: 500 x 1200/1242)`);
    assert.ok(q1.drops - q0.drops > 0, 'tbf dropped the excess');

    await link.setRate(GOOD_RATE);
    const good = await udpThroughput(link, { sendKbps: 12_000 });
    say(`weak link UDP at ${GOOD_RATE}: sent ${good.sentKbps.toFixed(0)} kbit/s, received ${good.steadyKbps.toFixed(0)} kbit/s of payload`);
    assert.ok(good.steadyKbps > 4000 && good.steadyKbps < 5200, `UDP payload rate through ${GOOD_RATE}: ${good.steadyKbps.toFixed(0)} kbit/s (want about 4830)`);
    await link.setRate(POOR_RATE);

    // Chromium in the weak namespace, its page served through the shaped link.
    const peers = new Set();
    srv = http.createServer((req, res) => {
      peers.add(req.socket.remoteAddress);
      const n = Number(new URL(req.url, 'http://x').searchParams.get('n') || 0);
      if (n > 0) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
        res.end(Buffer.alloc(n, 0x61));
      } else {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><title>weak</title><p>weak');
      }
    });
    await new Promise((r) => srv.listen(0, '0.0.0.0', r));
    const origin = `http://${process.env.OPENROOM_TEST_IP}:${srv.address().port}`;
    weak = await launchBrowserIn(link, { origin });
    say(`weak Chromium: pid ${weak.pid}, ${weak.processes} processes, all in the weak namespace ${link.nsID}`);
    const page = await weak.browser.newPage();
    await page.goto(`${origin}/`, { timeout: 20_000 });
    const fetchKbps = (n) =>
      page.evaluate(async (size) => {
        const t0 = performance.now();
        const buf = await (await fetch(`/blob?n=${size}`, { cache: 'no-store' })).arrayBuffer();
        return (buf.byteLength * 8) / (performance.now() - t0);
      }, n);
    const env = await page.evaluate(async () => ({
      secure: window.isSecureContext,
      media: !!navigator.mediaDevices?.getUserMedia,
      outside: await fetch('http://192.0.2.1/', { signal: AbortSignal.timeout(5000) }).then(() => 'reached', (e) => `failed: ${e.message}`),
    }));
    assert.deepEqual([...peers], [WEAK_CLIENT_IP], 'the page came from the weak address');
    assert.ok(env.secure && env.media, `the server origin counts as secure in the weak Chromium: ${JSON.stringify(env)}`);
    assert.match(env.outside, /^failed/, 'the weak Chromium reaches an address outside');
    const procs = weak.verify();
    say(`weak Chromium with a page open: ${procs} processes, all in the weak namespace`);
    const tcpPoor = await fetchKbps(150_000);
    await link.setRate(GOOD_RATE);
    const tcpGood = await fetchKbps(1_500_000);
    await link.setRate(POOR_RATE);
    say(`weak Chromium fetch (TCP): ${tcpPoor.toFixed(0)} kbit/s at ${POOR_RATE}, ${tcpGood.toFixed(0)} kbit/s at ${GOOD_RATE}`);
    assert.ok(tcpPoor < 520 && tcpPoor > 200, `fetch through ${POOR_RATE}: ${tcpPoor.toFixed(0)} kbit/s`);
    assert.ok(tcpGood < 5200 && tcpGood > 2000, `fetch through ${GOOD_RATE}: ${tcpGood.toFixed(0)} kbit/s`);
  } catch (err) {
    appendToError(err, await link.describe());
    throw err;
  }
});

// ---------------------------------------------------------------------------
// 1 + 2. A member on a poor link, and recovery, in one call

describe('a member behind 500 kbit/s', { skip: CALL_SKIP }, () => {
  const c = {}; // server, link, good, weak, origin, alice, bob, carol, readyAt

  const diagnostics = async () => {
    const parts = [];
    if (c.link) {
      parts.push(`--- weak link ---\nshaping ${JSON.stringify(c.link.shaping)}; qdisc ${JSON.stringify(await c.link.qdisc().catch((e) => e.message))}`);
    }
    if (c.server) parts.push(`--- server log (last lines) ---\n${tail(c.server.logs(), 120)}`);
    for (const m of [c.alice, c.bob, c.carol]) if (m) parts.push(`--- ${m.user} page log ---\n${tail(m.logs(), 40)}`);
    return parts.join('\n');
  };
  const runDiag = async (fn) => {
    try {
      return await fn();
    } catch (err) {
      appendToError(err, await diagnostics());
      throw err;
    }
  };

  before(async () => {
    await runDiag(async () => {
      const media = await fakeMedia();
      // At a dedicated server's priority, level with the browsers' call threads
      // (boostRealtimeThreads): on these two shared cores the browsers'
      // GPU processes run at nice -8, and a server waiting behind them stamps
      // transport-cc arrival times late, which the publishers' Chromium reads as
      // a congested uplink.
      c.server = await startServer({ args: ['--turn', '', ...(DEBUG_LOG ? ['--log-level', 'debug'] : [])], nice: -19, logLines: DEBUG_LOG ? 500_000 : 1000 });
      c.origin = `http://${process.env.OPENROOM_TEST_IP}:${c.server.port}`;
      c.link = await createWeakLink();
      await c.link.shape({ rate: POOR_RATE });
      say(`weak link: ${c.link.hostIf} -> ${c.link.weakIf} (${c.link.weakIP}), tbf ${JSON.stringify(c.link.shaping)}`);
      // alice and bob share a Chromium (both send the noisy file); carol has her own in
      // the weak namespace (Chromium's default fake camera: her uplink is not the point).
      // Software compositing instead of SwiftShader GL: the GPU processes were the
      // largest CPU users of this test (about 0.7 of a core for two browsers).
      c.good = await launchBrowser({ args: [...fakeCaptureArgs({ video: media.video }), LIGHT_COMPOSITING] });
      c.weak = await launchBrowserIn(c.link, { origin: c.origin, args: [LIGHT_COMPOSITING] });
      // Each member's call threads as on a device of its own (see boostRealtimeThreads).
      c.boost = boostRealtimeThreads();
      const room = uniqueRoom('poor');
      c.alice = await openNetMember(c.good, c.server.url, room, 'alice', { viewport: GOOD_VIEWPORT, deviceScaleFactor: GOOD_SCALE });
      c.bob = await openNetMember(c.good, c.server.url, room, 'bob', { viewport: GOOD_VIEWPORT, deviceScaleFactor: GOOD_SCALE });
      await waitForTiles(c.alice.page, ['bob'], 20_000);
      await waitForTiles(c.bob.page, ['alice'], 20_000);
      await assertMediaFlows(c.alice.page, ['bob'], { label: 'alice receiving bob', timeout: 20_000 });
      await assertMediaFlows(c.bob.page, ['alice'], { label: 'bob receiving alice', timeout: 20_000 });
      // A large window: each remote tile gets more than 640 device px, so the top
      // layer is what the layout asks for once the link allows it.
      c.carol = await openNetMember(c.weak.browser, c.origin, room, 'carol', { viewport: WEAK_VIEWPORT });
      // Her uplink is not the point, and two cores cannot encode a third camera
      // on top of alice's and bob's: she sends black frames (track disabled).
      await c.carol.page.evaluate(() => window.openroom.muteVideo());
      c.readyAt = performance.now();
      await waitForTiles(c.carol.page, ['alice', 'bob'], 30_000).catch((err) => say(`carol: ${err.message}`));
      // alice and bob look at each other: each pins the other as the big tile (a click;
      // the demo pins once there is a choice), so whoever speaks, the good path is asked
      // for the top layer.
      for (const [m, other] of [[c.alice, 'bob'], [c.bob, 'alice']]) {
        await waitForTiles(m.page, ['carol'], 20_000);
        await pinTile(m.page, other);
      }
      const wait = c.readyAt + SETTLE_MS - performance.now();
      say(`carol connected from the weak namespace; settling ${(wait / 1000).toFixed(1)} s`);
      await sleep(Math.max(0, wait));
    });
  }, { timeout: 180_000 });

  after(async () => {
    c.boost?.stop();
    for (const m of [c.carol, c.bob, c.alice]) if (m) await m.close();
    if (c.weak) await c.weak.close();
    if (c.good) await closeBrowser(c.good);
    if (c.link) await c.link.close();
    if (c.server) await c.server.stop();
    if (DEBUG_LOG && c.server) writeFileSync(DEBUG_LOG, c.server.logs());
  });

  /** One 20 s window of the poor link: its figures are printed; returns {failures, starved}. */
  const poorWindow = async (attempt) => {
    const q0 = await c.link.qdisc();
    const u0 = await udpDrops(c.link);
    const m0 = await serverMetrics(c.server);
    const tq0 = performance.now();
    const series = await sampleStats([c.alice, c.bob, c.carol], { duration: WINDOW_MS, interval: 1000 });
    const q1 = await c.link.qdisc();
    const u1 = await udpDrops(c.link);
    const m1 = await serverMetrics(c.server);
    const qSecs = (performance.now() - tq0) / 1000;
    const secs = (series.carol.at(-1).t - series.carol[0].t) / 1000;
    const last = series.carol.at(-1).stats;
    const sizes = await tileVideoSizes(c.carol.page).catch(() => ({}));

    say(`poor link, ${secs.toFixed(1)} s window ${attempt} after ${SETTLE_MS / 1000} s of settling, carol behind ${POOR_RATE} ` +
      `(load average ${loadavg()} on ${availableParallelism()} CPUs):`);
    say(`  carol's downlink qdisc: ${(((q1.bytes - q0.bytes) * 8) / qSecs / 1000).toFixed(0)} kbit/s delivered, ` +
      `${q1.drops - q0.drops} packets dropped (${q1.packets - q0.packets} sent), backlog ${q1.backlog} B; ` +
      `UDP datagrams dropped for full receive buffers: ${u1.here - u0.here} on the good path, ${u1.weak - u0.weak} at carol`);
    say(`  UDP sockets here that dropped datagrams: ${await socketDrops()}`);
    const grew = (name) => (m1[name] ?? 0) - (m0[name] ?? 0);
    const stale = grew('openroom_stale_dropped_total');
    say(`  the server: ${stale} packets not forwarded for being late (it was behind), ` +
      `${grew('openroom_keyframe_requests_total')} keyframe requests to publishers`);
    say(`  carol's connections: ${last.pairs.map((p) => `${p.local} -> ${p.remote} rtt ${p.rtt ?? '?'} s`).join('; ') || 'none selected'}`);
    say(`  carol's tiles (device px): ${JSON.stringify(sizes)}`);
    const seenByCarol = ['alice', 'bob'].map((u) => summarize(series.carol, u));
    for (const s of seenByCarol) say(`  ${formatSummary('carol', s)}`);
    const abSeen = [['alice', 'bob'], ['bob', 'alice']].map(([obs, u]) => {
      const s = summarize(series[obs], u);
      const widths = series[obs].map((x) => x.stats.inbound?.[u]?.video?.frameWidth ?? 0);
      s.medianWidth = median(widths);
      say(`  ${formatSummary(obs, s)}; median width ${s.medianWidth}`);
      return { obs, s };
    });
    const starved = [];
    for (const m of ['alice', 'bob']) {
      const src = series[m].at(-1).stats.sources;
      const fps = cameraFps(series[m]);
      const cam = src.map((x) => `${x.width}x${x.height}`).join(', ');
      say(`  ${m} captures ${cam || '?'} at ${fps.toFixed(1)} fps, publishes: ${outboundSummary(series[m][0].stats, series[m].at(-1).stats)}`);
      if (fps < STARVED_FPS) starved.push(`${m}'s camera delivered ${fps.toFixed(1)} of ${VIDEO_FPS} fps`);
    }
    // Three members cost the server next to nothing: packets it got to over 300 ms
    // late mean the machine stopped it that long (on a CI machine at a load of 12, a
    // few times a window: each costs a freeze of the stall and a keyframe's round trip).
    if (stale > 0) starved.push(`the server got to ${stale} packets over 300 ms late`);
    const warning = starved.length ? `WARNING: this machine was CPU-starved (${starved.join('; ')}; load average ${loadavg()}): these figures are not the SFU's alone` : '';
    if (warning) say(`  ${warning}`);

    const failures = [];
    // The last window, starved as every one before it: the machine's short freezes add
    // up past 2 s of 20 at carol (2.2-3.1 s, each under 1.1 s, nothing lost, no keyframe,
    // while alice and bob froze 0.5-1.3 s on their good links). Then the total is printed,
    // not judged; a freeze of 2 s at once, a stall and every other bound still fail.
    const lastStarved = starved.length > 0 && attempt === MAX_WINDOWS;
    try {
      say(`  carol's Chromium: ${c.weak.verify()} processes, all in the weak namespace; ${c.boost.boosted} call threads at nice -19`);
    } catch (err) {
      failures.push(err.message);
    }
    if (!last.pairs.some((p) => p.local?.startsWith(`${WEAK_CLIENT_IP}:`))) {
      failures.push(`carol's media does not use the weak link (selected pairs ${JSON.stringify(last.pairs)})`);
    }
    for (const s of seenByCarol) {
      if (!s.video) failures.push(`carol has no video from ${s.remote}`);
      else {
        if (!(s.video.fps >= 10)) failures.push(`carol decodes ${s.remote}'s video at ${s.video.fps.toFixed(1)} fps (want >= 10)`);
        if (!(s.video.freezeSeconds < 2)) {
          const froze = `${s.remote}'s video froze ${s.video.freezeSeconds.toFixed(2)} s at carol (${s.video.freezes} freezes`;
          if (lastStarved && s.video.maxFreezeSeconds < 2) say(`  NOT JUDGED: ${froze}, none of 2 s; the machine starved the browsers in every window)`);
          else failures.push(`${froze}; want < 2 s)`);
        }
        if (!(s.video.longestStallSeconds < 2)) failures.push(`${s.remote}'s video stalled ${s.video.longestStallSeconds.toFixed(1)} s at carol (no new frame)`);
      }
      if (!s.audio) failures.push(`carol has no audio from ${s.remote}`);
      else if (!(s.audio.concealment < 0.05)) failures.push(`carol conceals ${pct(s.audio.concealment)} of ${s.remote}'s audio (want < 5 %)`);
    }
    for (const { obs, s } of abSeen) {
      if (!(s.medianWidth >= 480)) failures.push(`${obs} sees ${s.remote} at a median ${s.medianWidth} px wide (want >= 480)`);
    }
    // A starved window that met every bound passes (it met them on a harder
    // machine); one that missed one is measured again.
    if (warning && failures.length) failures.push(warning);
    return { failures, starved: starved.length > 0 };
  };

  test('poor link: carol decodes both videos at >= 10 fps, < 2 s frozen, < 5 % audio concealed; alice and bob keep >= 480 px', { timeout: 150_000 }, async () => {
    // A window in which the machine starved the browsers (see STARVED_FPS) is
    // measured again, up to MAX_WINDOWS in all: its figures are the machine's.
    await runDiag(() => measureUnlessStarved('poor link', 'window', MAX_WINDOWS, poorWindow));
  });

  /** One climb and fall; its figures are printed. Returns {failures, starved}. */
  const recoveryCycle = async () => {
    const cams0 = await Promise.all([c.alice, c.bob].map(async (m) => ({ t: performance.now(), stats: await mediaStats(m.page) })));
    const u0 = await udpDrops(c.link);
    const q0 = await c.link.qdisc();
    const remotes = ['alice', 'bob'];
    const widthsOf = (st) => Object.fromEntries(remotes.map((u) => [u, st.inbound?.[u]?.video?.frameWidth ?? 0]));
    const timeline = (series, t0) => {
      // Only the samples where a width changed: "+1.5 s alice 320 bob 640".
      const out = [];
      let prev = '';
      for (const x of series) {
        const w = widthsOf(x.stats);
        const k = remotes.map((u) => `${u} ${w[u]}`).join(' ');
        if (k !== prev) out.push(`+${((x.t - t0) / 1000).toFixed(1)} s ${k}`);
        prev = k;
      }
      return out.join('; ');
    };
    const failures = [];
    // Each publisher's top layer, watched every second while the cycle runs (its encoder
    // may scale it up or down meanwhile); 640 until seen. The first reading is cams0's.
    const tops = { alice: 640, bob: 640 };
    const topsSeen = { alice: new Set(), bob: new Set() };
    const noteTops = (stats) => stats.forEach((x, i) => {
      const w = topWidth(x);
      if (w > 0) {
        tops[remotes[i]] = w;
        topsSeen[remotes[i]].add(w);
      }
    });
    noteTops(cams0.map((x) => x.stats));
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        await sleep(1000);
        if (watching) noteTops(await Promise.all([c.alice, c.bob].map((m) => mediaStats(m.page).catch(() => null))));
      }
    })();
    const atTop = (w) => remotes.every((u) => w[u] >= tops[u]);
    const belowTop = (w) => remotes.every((u) => w[u] > 0 && w[u] < tops[u]);
    const topsText = () => remotes.map((u) => `${u} ${[...topsSeen[u]].join('/') || '640 (not read)'} px`).join(', ');

    let up;
    let down;
    let climbedAt = null;
    let fellAt = null;
    let tDown;
    try {
      // Up: 500 kbit/s -> 5 Mbit/s.
      await c.link.setRate(GOOD_RATE);
      const tUp = performance.now();
      // Sample until both are on the top layer and have stayed there 3 s (or 18 s in all).
      up = await sampleStats([c.carol], {
        duration: 18_000,
        interval: 500,
        onSample: (s) => {
          const x = s.carol.at(-1);
          if (atTop(widthsOf(x.stats))) climbedAt ??= x.t - tUp;
          else climbedAt = null; // fell back: not climbed yet
        },
        until: (s) => climbedAt !== null && s.carol.at(-1).t - tUp - climbedAt >= 3000,
      });
      say(`recovery up (${POOR_RATE} -> ${GOOD_RATE}, load average ${loadavg()}): ${climbedAt === null ? 'did NOT stay on the top layer on both within 18 s' : `both on the top layer after ${(climbedAt / 1000).toFixed(1)} s (held 3 s)`}; ` +
        `the publishers' top layers: ${topsText()}`);
      say(`  widths at carol: ${timeline(up.carol, tUp)}`);
      for (const u of remotes) say(`  ${formatSummary('carol', summarize(up.carol, u))}`);
      if (climbedAt === null || climbedAt > 15_000) {
        failures.push(`after ${GOOD_RATE}, carol's videos did not both reach the top layer (${topsText()}) within 15 s (last ${JSON.stringify(widthsOf(up.carol.at(-1).stats))}${climbedAt ? `, took ${(climbedAt / 1000).toFixed(1)} s` : ''})`);
      }

      const qUp = await c.link.qdisc();
      say(`  carol's downlink qdisc dropped ${qUp.drops - q0.drops} of ${qUp.packets - q0.packets} packets on the way up`);
      // Down: 5 Mbit/s -> 500 kbit/s, then 5 s more to see the freezes it caused.
      await c.link.setRate(POOR_RATE);
      tDown = performance.now();
      down = await sampleStats([c.carol], {
        duration: 10_000,
        interval: 250,
        onSample: (s) => {
          if (fellAt === null && belowTop(widthsOf(s.carol.at(-1).stats))) fellAt = s.carol.at(-1).t - tDown;
        },
        // 5 s past the fall (or 10 s in all), to see the freezes it caused.
        until: (s) => fellAt !== null && s.carol.at(-1).t - tDown - fellAt >= 5000,
      });
    } finally {
      watching = false;
      await watcher;
    }
    say(`recovery down (${GOOD_RATE} -> ${POOR_RATE}): ${fellAt === null ? 'did NOT fall below the top layer on both within 10 s' : `both below the top layer after ${(fellAt / 1000).toFixed(1)} s`}` +
      `${climbedAt === null ? ' (they never reached it, so this says little)' : ''}`);
    say(`  widths at carol: ${timeline(down.carol, tDown)}`);
    if (fellAt === null || fellAt > 5000) {
      failures.push(`after ${POOR_RATE} again, carol's videos did not both fall below the top layer within 5 s (last ${JSON.stringify(widthsOf(down.carol.at(-1).stats))}${fellAt ? `, took ${(fellAt / 1000).toFixed(1)} s` : ''})`);
    }
    for (const [phase, series] of [['up', up.carol], ['down', down.carol]]) {
      for (const u of remotes) {
        const s = summarize(series, u);
        if (phase === 'down') say(`  ${formatSummary('carol', s)}`);
        if (!s.video) {
          failures.push(`${phase}: carol has no video from ${u}`);
          continue;
        }
        if (s.video.maxFreezeSeconds >= 2) failures.push(`${phase}: ${u}'s video froze up to ${s.video.maxFreezeSeconds.toFixed(2)} s at once at carol (${s.video.freezes} freezes, ${s.video.freezeSeconds.toFixed(2)} s in all)`);
        if (s.video.longestStallSeconds >= 2) failures.push(`${phase}: ${u}'s video stalled ${s.video.longestStallSeconds.toFixed(1)} s at carol (no new frame)`);
      }
    }
    const fps = await Promise.all([c.alice, c.bob].map(async (m, i) => cameraFps([cams0[i], { t: performance.now(), stats: await mediaStats(m.page) }])));
    const u1 = await udpDrops(c.link);
    const q1 = await c.link.qdisc();
    say(`  carol's downlink qdisc dropped ${q1.drops - q0.drops} of ${q1.packets - q0.packets} packets over the cycle`);
    say(`  alice's and bob's cameras delivered ${fps.map((f) => f.toFixed(1)).join(' and ')} of ${VIDEO_FPS} fps (load average ${loadavg()}); ` +
      `UDP datagrams dropped for full receive buffers: ${u1.here - u0.here} on the good path, ${u1.weak - u0.weak} at carol`);
    const starved = fps.some((f) => f < STARVED_FPS);
    if (starved && failures.length) failures.push(`WARNING: this machine was CPU-starved (the cameras delivered ${fps.map((f) => f.toFixed(1)).join(' and ')} of ${VIDEO_FPS} fps): these figures are not the SFU's alone`);
    return { failures, starved };
  };

  test('recovery: 5 Mbit/s -> both videos reach the top layer within 15 s; 500 kbit/s -> below it within 5 s, no freeze >= 2 s', { timeout: 150_000 }, async () => {
    // Starved: settle on the poor link again and repeat the cycle once.
    await runDiag(() => measureUnlessStarved('recovery', 'cycle', 2, recoveryCycle, () => sleep(RESETTLE_MS)));
  });
});

// ---------------------------------------------------------------------------
// 3. Active speaker

test('active speaker: the loud member is first in `speakers` within 1 s and its tile is marked `speaking`', { skip: CALL_SKIP, timeout: 120_000 }, async (t) => {
  const media = await fakeMedia();
  const server = await startServer({ args: ['--turn', ''] });
  const browsers = [];
  const members = [];
  t.after(async () => {
    for (const m of members) await m.close();
    for (const b of browsers) await closeBrowser(b);
    await server.stop();
  });
  try {
    // Two Chromiums: one whose microphone is the loud file, one for the two quiet members.
    const loudB = await launchBrowser({ args: fakeCaptureArgs({ audio: media.loud }) });
    browsers.push(loudB);
    const quietB = await launchBrowser({ args: fakeCaptureArgs({ audio: media.quiet }) });
    browsers.push(quietB);
    const room = uniqueRoom('speak');
    const users = ['loud', 'quiet1', 'quiet2'];
    members.push(await openNetMember(loudB, server.url, room, 'loud'));
    members.push(await openNetMember(quietB, server.url, room, 'quiet1'));
    members.push(await openNetMember(quietB, server.url, room, 'quiet2'));
    const byUser = Object.fromEntries(members.map((m) => [m.user, m]));

    // t0: every member receives every other member's audio.
    let t0;
    await waitFor(
      async () => {
        const all = await Promise.all(members.map((m) => mediaStats(m.page)));
        const ok = members.every((m, i) => users.filter((u) => u !== m.user).every((u) => (all[i].inbound?.[u]?.audio?.packetsReceived ?? 0) > 0));
        if (ok) t0 = performance.now();
        return ok;
      },
      { timeout: 30_000, interval: 50, message: "everyone's audio to reach everyone" },
    );

    const latestSpeakers = (m) => messagesOf(m, 'speakers').at(-1)?.msg?.speakers;
    const domState = (m) =>
      m.page.evaluate(() => Object.fromEntries(
        [...document.querySelectorAll('[data-user]')]
          .filter((el) => !el.closest('#members'))
          .map((el) => [el.getAttribute('data-user'), el.classList.contains('speaking')]),
      ));
    const check = async () => {
      const problems = [];
      for (const m of members) {
        const list = latestSpeakers(m);
        if (!list) problems.push(`${m.user}: no speakers message yet`);
        else if (list[0]?.userID !== 'loud') problems.push(`${m.user}: speakers ${JSON.stringify(list)}`);
      }
      for (const m of [byUser.quiet1, byUser.quiet2]) {
        const d = await domState(m);
        if (!d.loud) problems.push(`${m.user}: loud's tile not .speaking (${JSON.stringify(d)})`);
      }
      return problems;
    };

    // Poll until it holds or 1 s after t0 has passed; then keep watching 4 s more to
    // say how late it was (or that it never came).
    let okAt = null;
    let problems = [];
    while (performance.now() - t0 < 5000) {
      problems = await check();
      if (problems.length === 0) {
        okAt = performance.now() - t0;
        break;
      }
      await sleep(50);
    }
    const stats = await Promise.all(members.map((m) => mediaStats(m.page)));
    say(`active speaker: everyone's audio flowing at t0; speakers correct and tile marked ${okAt === null ? 'NOT within 5 s' : `at t0 + ${okAt.toFixed(0)} ms`} ` +
      `(load average ${loadavg()} on ${availableParallelism()} CPUs)`);
    members.forEach((m, i) => {
      const msgs = messagesOf(m, 'speakers');
      const firstLoud = msgs.find((x) => x.msg.speakers?.[0]?.userID === 'loud');
      const levels = users.filter((u) => u !== m.user).map((u) => `${u} ${(stats[i].inbound?.[u]?.audio?.audioLevel ?? 0).toFixed(4)}`).join(', ');
      say(`  ${m.user}: ${msgs.length} speakers messages${firstLoud ? `, first with loud first at t0 ${firstLoud.at - t0 >= 0 ? '+' : ''}${(firstLoud.at - t0).toFixed(0)} ms` : ''}; ` +
        `latest ${JSON.stringify(latestSpeakers(m) ?? null)}; received audio levels: ${levels}`);
    });
    for (const m of [byUser.quiet1, byUser.quiet2]) say(`  ${m.user}'s tiles .speaking: ${JSON.stringify(await domState(m))}`);
    if (problems.length) say(`  still wrong at t0 + 5 s: ${problems.join('; ')}`);
    const types = [...new Set(byUser.quiet1.messages.map((x) => x.msg.type))];
    assert.ok(okAt !== null && okAt <= 1000,
      `within 1 s of everyone's audio flowing: ${okAt === null ? `never (in 5 s): ${problems.join('; ')}` : `took ${okAt.toFixed(0)} ms`} ` +
      `(message types quiet1 received: ${types.join(', ')})`);
  } catch (err) {
    appendToError(err, `--- server log (last lines) ---\n${tail(server.logs(), 100)}`);
    for (const m of members) appendToError(err, `--- ${m.user} page log ---\n${tail(m.logs(), 30)}`);
    throw err;
  }
});
