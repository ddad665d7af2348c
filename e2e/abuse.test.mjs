// Abuse by anonymous clients (issue 12), in the private network namespace:
//
//   1. While an attacker (e2e/abuse-attacker.mjs, from 20 addresses of its own)
//      holds 1000 idle connections, 300 requests dripping their bodies, 500
//      WebSockets that never join and 60 HTTP-FLV viewers that never read, two
//      members join, publish and see each other within the usual time; once the
//      attacker is gone, the server's goroutines and connections return to their
//      baseline and its memory near it.
//   2. Started under `ulimit -n 1024`, the server survives 1100 idle connections
//      plus an RTMP push, and serves new members once they are gone.
//
//   scripts/netns-run.sh node --test --test-concurrency=1 e2e/abuse.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  REPO_ROOT,
  setup,
  startServer,
  launchBrowser,
  closeBrowser,
  openMember,
  uniqueRoom,
  waitForTiles,
  assertMediaFlows,
  waitFor,
  spawnTracked,
  requireNetns,
  withDeadline,
  serverMetrics,
} from './harness.mjs';

/** The attacker's source addresses: its own, so that the members' are not the ones capped. */
const ATTACKER_IPS = Array.from({ length: 20 }, (_, i) => `127.0.0.${i + 2}`);

function summary(m) {
  const pick = (re) =>
    Object.entries(m)
      .filter(([k]) => re.test(k))
      .map(([k, v]) => `${k.replace('openroom_', '')}=${v}`)
      .join(' ');
  return `goroutines=${m.go_goroutines} rss=${(m.process_resident_memory_bytes / 2 ** 20).toFixed(1)}MiB fds=${m.process_open_fds} ${pick(/^openroom_(tcp_connections|timeouts_total|accept_errors)/)}`;
}

/** Starts the attacker; stop() ends it (its connections close) and resolves to its last report. */
function startAttacker(cfg) {
  const script = path.join(REPO_ROOT, 'e2e', 'abuse-attacker.mjs');
  // Its own descriptor limit: the test runner's may be too small for 1860 sockets.
  const proc = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, script, JSON.stringify(cfg)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let last = null;
  let buf = '';
  proc.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      try {
        last = JSON.parse(buf.slice(0, i));
      } catch {}
      buf = buf.slice(i + 1);
    }
  });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  return {
    report: () => last,
    async stop() {
      proc.stdin.end();
      await withDeadline(10_000, 'attacker exit', () => exited).catch(() => proc.kill('SIGKILL'));
      return last;
    },
  };
}

/** ffmpeg pushing a small test pattern + tone over RTMP, as a mini-program would. */
function push(server, room, user, seconds = 120) {
  // prettier-ignore
  return spawnTracked('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-re',
    '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(seconds), '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
    '-profile:v', 'baseline', '-bf', '0', '-g', '30', '-c:a', 'aac', '-b:a', '32k',
    '-f', 'flv', `rtmp://127.0.0.1:${server.rtmpPort}/live/${room}/${user}`,
  ], { name: `ffmpeg push ${user}` });
}

test('abuse: an attacker holding ~1860 connections of four kinds does not stop two members calling; everything is released after', { timeout: 240_000 }, async (t) => {
  requireNetns();
  const s = await setup(t);
  await s.run(async () => {
    const server = s.server;
    const flvRoom = uniqueRoom('flv');
    const pusher = push(server, flvRoom, 'pusher');
    t.after(() => pusher.stop());
    const flvPath = `/live/${flvRoom}/pusher.flv`;
    await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${server.port}${flvPath}`, { signal: AbortSignal.timeout(3000) }).catch(() => null);
        await res?.body?.cancel();
        return res?.status === 200;
      },
      { timeout: 20_000, interval: 500, message: 'the pusher to be playable over HTTP-FLV' },
    );
    await sleep(2000); // the probe's viewer gone
    const base = await serverMetrics(server);
    console.log(`# baseline: ${summary(base)}`);

    const want = { idle: 1000, drip: 300, ws: 500, flv: 60 };
    const attacker = startAttacker({ host: '127.0.0.1', port: server.port, ips: ATTACKER_IPS, flvPath, ...want });
    t.after(() => attacker.stop());
    await waitFor(
      () => {
        const r = attacker.report();
        return r && Object.entries(want).every(([k, n]) => (r.open[k] ?? 0) >= n);
      },
      { timeout: 30_000, interval: 250, message: `the attacker to hold ${JSON.stringify(want)} (has ${JSON.stringify(attacker.report())})` },
    );
    const attackStart = Date.now();
    const during = await serverMetrics(server);
    console.log(`# under attack: ${summary(during)}; attacker ${JSON.stringify(attacker.report())}`);

    // Two members call as usual meanwhile.
    const room = uniqueRoom('abuse');
    const joinStart = Date.now();
    const alice = await s.member(room, 'alice');
    const bob = await s.member(room, 'bob');
    await waitForTiles(alice.page, ['bob']);
    await waitForTiles(bob.page, ['alice']);
    await assertMediaFlows(alice.page, ['bob'], { label: 'alice receiving bob under attack' });
    await assertMediaFlows(bob.page, ['alice'], { label: 'bob receiving alice under attack' });
    console.log(`# two members joined and see each other ${Date.now() - joinStart} ms after starting, under attack`);

    // Hold on long enough for every timeout to fire once (idle 10 s, join 15 s).
    await sleep(Math.max(0, 20_000 - (Date.now() - attackStart)));
    const late = await serverMetrics(server);
    const report = attacker.report();
    console.log(`# after 20 s of attack: ${summary(late)}; attacker ${JSON.stringify(report)}`);
    assert.ok((report.closedByServer.idle ?? 0) > 0, `idle connections cut by the header timeout (attacker: ${JSON.stringify(report)})`);
    assert.ok((report.closedByServer.ws ?? 0) > 0, `unjoined WebSockets cut by the join timeout (attacker: ${JSON.stringify(report)})`);
    assert.ok((late['openroom_timeouts_total{kind="ws_join"}'] ?? 0) > 0, 'ws_join timeouts counted');
    assert.ok((late['openroom_timeouts_total{kind="http_header"}'] ?? 0) > 0, 'http_header timeouts counted');

    await alice.close();
    await bob.close();
    s.members.length = 0;
    const final = await attacker.stop();
    console.log(`# attacker stopped: ${JSON.stringify(final)}`);

    // Back to the baseline: connections at once, goroutines within a few
    // seconds (a stalled viewer's write is unblocked when its socket closes).
    let after;
    await waitFor(
      async () => {
        after = await serverMetrics(server);
        return after['openroom_tcp_connections'] <= base['openroom_tcp_connections'] + 2 && after.go_goroutines <= base.go_goroutines + 25;
      },
      { timeout: 30_000, interval: 1000, message: `connections and goroutines back to the baseline (baseline ${summary(base)}; now ${after && summary(after)})` },
    );
    console.log(`# after: ${summary(after)}`);
    // The server gives memory back once the connections fall from a storm (checked every 10 s).
    await waitFor(() => /memory given back/.test(server.logs()), { timeout: 30_000, interval: 500, message: 'the server to give memory back after the storm' });
    const grownBy = (m) => (m.process_resident_memory_bytes - base.process_resident_memory_bytes) / 2 ** 20;
    const rssStart = Date.now();
    const rss = [];
    while (Date.now() - rssStart < 60_000) {
      after = await serverMetrics(server);
      rss.push(grownBy(after).toFixed(0));
      if (grownBy(after) < 30) break;
      await sleep(5000);
    }
    console.log(`# RSS above the baseline every 5 s after the attack: ${rss.join(', ')} MiB`);
    assert.ok(grownBy(after) < 30, `RSS ${grownBy(after).toFixed(1)} MiB above the baseline after the attack (want < 30 MiB)`);
  });
});

test('abuse: under ulimit -n 1024 the server survives 1100 idle connections and an RTMP push, and serves members after', { timeout: 180_000 }, async (t) => {
  requireNetns();
  const server = await startServer({ ulimitFiles: 1024 });
  t.after(() => server.stop());
  const logs = server.logs();
  assert.match(logs, /file-descriptor limit.*soft=1024 hard=1024/, 'the limits are logged at start');

  const attacker = startAttacker({ host: '127.0.0.1', port: server.port, ips: ATTACKER_IPS, idle: 1100 });
  t.after(() => attacker.stop());
  await waitFor(() => (attacker.report()?.opened?.idle ?? 0) + (attacker.report()?.errors ?? 0) >= 1100, {
    timeout: 30_000,
    interval: 250,
    message: `1100 connection attempts (attacker: ${JSON.stringify(attacker.report())})`,
  });
  const room = uniqueRoom('ulimit');
  const pusher = push(server, room, 'pusher', 10);
  t.after(() => pusher.stop());
  await sleep(5000);
  // The server is full (max_connections held to 1024 - 256 descriptors): the
  // attacker's extra connections, the push and even a metrics scrape get 503.
  const report = attacker.report();
  const fds = readdirSync(`/proc/${server.proc.pid}/fd`).length;
  console.log(`# 1100 idle connections + an RTMP push under ulimit -n 1024: the server has ${fds} descriptors open; attacker ${JSON.stringify(report)}`);
  assert.equal(server.proc.exitCode, null, `the server is still running:\n${server.logs()}`);
  assert.match(server.logs(), /max_connections held under the file-descriptor limit.*now=768/, 'the cap follows the limit');
  assert.ok(fds < 1024, `descriptors open: ${fds} (want under the limit, 1024)`);
  assert.ok((report.refused['503'] ?? 0) > 0, 'connections over the cap refused with 503');

  await attacker.stop();
  await pusher.stop();
  let after;
  await waitFor(
    async () => {
      after = await serverMetrics(server).catch(() => null);
      return after && after['openroom_tcp_connections'] <= 2;
    },
    { timeout: 20_000, interval: 500, message: 'the server to serve requests again' },
  );
  console.log(`# after the flood: ${summary(after)}; refused ${after['openroom_tcp_connections_refused_total{reason="total"}']} (total cap)`);
  assert.ok(after['openroom_tcp_connections_refused_total{reason="total"}'] > 0, 'refusals counted');
  const browser = await launchBrowser();
  t.after(() => closeBrowser(browser));
  const alice = await openMember(browser, server.url, room, 'alice');
  const bob = await openMember(browser, server.url, room, 'bob');
  t.after(async () => {
    await alice.close();
    await bob.close();
  });
  await waitForTiles(alice.page, ['bob']);
  await assertMediaFlows(alice.page, ['bob'], { label: 'alice receiving bob after the flood' });
  await assertMediaFlows(bob.page, ['alice'], { label: 'bob receiving alice after the flood' });
  assert.doesNotMatch(server.logs(), /server failed|panic/, 'no failure in the server log');
});
