// Operations: metrics follow what happens in rooms, and a SIGTERM drains a
// real process with members connected.
import test from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { setup, uniqueRoom, waitFor, stateOf, withDeadline } from './harness.mjs';

async function scrape(base) {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

function metric(text, line) {
  // line like 'openroom_members{kind="webrtc"}'; returns the value or 0
  for (const l of text.split('\n')) {
    if (l.startsWith(line + ' ')) return Number(l.slice(line.length + 1));
  }
  return 0;
}

test('metrics change when a member joins and publishes', { timeout: 90_000 }, async (t) => {
  const s = await setup(t, { serverArgs: ['--turn', ''] });
  await s.run(async () => {
    const base = s.server.url;
    const before = await scrape(base);
    assert.equal(metric(before, 'openroom_members{kind="webrtc"}'), 0);
    assert.equal(metric(before, 'openroom_tracks'), 0);
    const room = uniqueRoom('metrics');
    await s.member(room, 'm1');
    await s.member(room, 'm2');
    await waitFor(async () => {
      const m = await scrape(base);
      return metric(m, 'openroom_members{kind="webrtc"}') === 2 && metric(m, 'openroom_tracks') === 4 &&
        metric(m, 'openroom_rtp_packets_total{direction="out"}') > 100 ? m : null;
    }, { timeout: 20_000, message: 'members, tracks and forwarded packets in /metrics' });
    const m = await scrape(base);
    assert.equal(metric(m, 'openroom_rooms'), 1);
    assert.ok(metric(m, 'openroom_signaling_messages_total{type="join"}') >= 2);
    assert.ok(metric(m, 'openroom_rtp_payload_bytes_total{direction="in"}') > 0);
  });
});

test('SIGTERM drains a real process with members connected', { timeout: 120_000 }, async (t) => {
  const s = await setup(t, { serverArgs: ['--turn', '', '--drain', '5s'] });
  await s.run(async () => {
    const base = s.server.url;
    const room = uniqueRoom('drain');
    const a = await s.member(room, 'd1');
    const b = await s.member(room, 'd2');
    const proc = s.server.proc;
    const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    const t0 = Date.now();
    process.kill(proc.pid, 'SIGTERM');
    // Readiness fails at once, liveness holds, and new joins are refused.
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 503, { timeout: 3000, message: '/readyz 503 while draining' });
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    // One member leaves on its own; the other stays until the drain time ends.
    await a.page.click('#leave');
    const { code, signal } = await withDeadline(15_000, 'the process to exit', () => exited);
    const took = Date.now() - t0;
    assert.equal(code, 0, `exit code ${code} signal ${signal}`);
    assert.ok(took >= 4000 && took < 12_000, `exit after ${took} ms; want about the 5 s drain`);
    // The member still there was told why, and is waiting to reconnect (issue 11: it
    // comes back by itself once a server is up again; e2e/resume.test.mjs).
    await waitFor(async () => (await stateOf(b.page)) === 'reconnecting', { timeout: 5000, message: 'd2 reconnecting' });
    const banner = await b.page.textContent('#banner');
    assert.match(banner ?? '', /shutting down/);
    const logs = s.server.logs();
    assert.match(logs, /draining: telling members the server is going away/);
    assert.doesNotMatch(logs, /panic|goroutine \d+ \[/);
  });
});
