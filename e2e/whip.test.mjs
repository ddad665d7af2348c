// WHIP ingest and WHEP playback with a third-party client: the npm package
// whip-whep (medooze's WHIPClient/WHEPClient) drives Chromium from a page on
// another origin (so CORS and exposed headers are exercised as a browser
// studio would). It trickles its candidates with PATCH after the POST.
//
//   WHIP: the page publishes camera + microphone (the server's answer makes it H.264) to
//         POST /whip/{room}/obs with a privateMapKey; a browser member of
//         the room decodes its video and hears it; ffprobe reads it over
//         HTTP-FLV (H.264 + AAC); DELETE (client.stop()) removes the member.
//   WHEP: the page plays browser member b1 from POST /whep/{room}/b1 and
//         decodes its video.
//
// Run alone: scripts/netns-run.sh node --test --test-concurrency=1 e2e/whip.test.mjs
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { requireNetns, buildServer, setup, uniqueRoom, waitFor, assertMediaFlows, remoteStats, serveSite, newMemberPage, REPO_ROOT } from './harness.mjs';

const run = promisify(execFile);

before(async () => {
  requireNetns();
  await buildServer();
}, { timeout: 600_000 });

const LIB = path.join(REPO_ROOT, 'node_modules/whip-whep');

const PAGE = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>studio</title></head>
<body><video id="v" muted autoplay playsinline></video>
<script type="module">
import { WHIPClient } from '/whip.js';
import { WHEPClient } from '/whep.js';
window.publishWHIP = async (url, token) => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
  const pc = new RTCPeerConnection();
  // Chromium's own codec order (VP8 first): the server's answer puts H.264 first.
  for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
  const client = new WHIPClient();
  await client.publish(pc, url, token);
  window.whip = { pc, client };
  return client.resourceURL.href;
};
window.stopWHIP = () => window.whip.client.stop();
window.viewWHEP = async (url, token) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.ontrack = (e) => { document.getElementById('v').srcObject = e.streams[0] ?? new MediaStream([e.track]); };
  const client = new WHEPClient();
  await client.view(pc, url, token);
  window.whep = { pc, client };
  return client.resourceURL.href;
};
window.whepStats = async () => {
  const out = { framesDecoded: 0, audioPackets: 0, codec: '' };
  const stats = await window.whep.pc.getStats();
  stats.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') {
      out.framesDecoded = r.framesDecoded ?? 0;
      out.codec = stats.get(r.codecId)?.mimeType ?? '';
    }
    if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audioPackets = r.packetsReceived ?? 0;
  });
  return out;
};
window.whipStats = async () => {
  let codec = '';
  const stats = await window.whip.pc.getStats();
  stats.forEach((r) => { if (r.type === 'outbound-rtp' && r.kind === 'video') codec = stats.get(r.codecId)?.mimeType ?? ''; });
  return { state: window.whip.pc.connectionState, codec };
};
</script></body></html>`;

async function token(bin, secret, user, room, privileges = 255) {
  const { stdout } = await run(bin, ['token', '--secret', secret, '--user', user, '--room', room, '--privileges', String(privileges)]);
  return JSON.parse(stdout).privateMapKey;
}

test('WHIP from whip-whep in Chromium reaches browsers and FLV; WHEP plays a browser member', { timeout: 180_000 }, async (t) => {
  const secret = randomBytes(24).toString('hex');
  const s = await setup(t, { serverArgs: ['--secret', secret] });
  const bin = await buildServer();
  const site = await serveSite(t, (req, res) => {
    const file = { '/whip.js': 'whip.js', '/whep.js': 'whep.js' }[req.url];
    if (file) {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(readFileSync(path.join(LIB, file)));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(PAGE);
  });
  await s.run(async () => {
    const room = uniqueRoom('whip');
    const studio = await newMemberPage(s.browser, 'studio');
    t.after(() => studio.close());
    s.members.push(studio);
    await studio.page.goto(site.url, { waitUntil: 'load' });

    // WHIP: a privateMapKey for obs with every bit; the room is created by it.
    const obsKey = await token(bin, secret, 'obs', room);
    const resource = await studio.page.evaluate(([u, k]) => window.publishWHIP(u, k), [`${s.server.url}/whip/${room}/obs`, obsKey]);
    assert.match(resource, new RegExp(`/whip/${room}/obs/[0-9a-f]+$`), 'the Location header (read across origins)');
    await waitFor(async () => (await studio.page.evaluate(() => window.whipStats())).state === 'connected', { timeout: 20_000, message: 'the WHIP connection' });
    const { codec } = await studio.page.evaluate(() => window.whipStats());
    assert.equal(codec, 'video/H264', 'Chromium sends H.264: the answer prefers it (FLV and RTMP play only H.264)');

    // A browser in the room decodes the WHIP publisher's video and hears it.
    const b1 = await s.member(room, 'b1');
    await assertMediaFlows(b1.page, ['obs'], { label: 'b1 receives obs (WHIP)' });
    await waitFor(async () => ((await remoteStats(b1.page)).obs?.audio?.audioLevel ?? 0) > 0.001, { timeout: 15_000, message: 'b1 hears obs (audio level above silence)' });
    const members = await b1.page.evaluate(() => [...document.querySelectorAll('[data-user]')].map((e) => e.getAttribute('data-user')));
    assert.ok(members.includes('obs'), `b1 shows obs as a participant (tiles: ${members})`);

    // An FLV reader gets it: H.264 video and AAC audio (the bridge transcodes Opus).
    const viewerKey = await token(bin, secret, 'flv1', room, 2 | 8 | 32);
    const flv = `${s.server.url.replace('localhost', '127.0.0.1')}/live/${room}/obs.flv?sig=${encodeURIComponent(viewerKey)}`;
    const probe = await run('ffprobe', ['-v', 'error', '-rw_timeout', '10000000', '-read_intervals', '%+4', '-count_frames',
      '-show_entries', 'stream=codec_name,nb_read_frames,width', '-of', 'json', flv], { timeout: 40_000 });
    const streams = JSON.parse(probe.stdout).streams;
    const video = streams.find((x) => x.codec_name === 'h264');
    const audio = streams.find((x) => x.codec_name === 'aac');
    assert.ok(video && Number(video.nb_read_frames) > 30, `FLV has H.264 frames: ${probe.stdout}`);
    assert.ok(audio && Number(audio.nb_read_frames) > 30, `FLV has AAC frames: ${probe.stdout}`);

    // WHEP: the studio page plays b1 with a key naming the viewer.
    const whepKey = await token(bin, secret, 'viewer1', room, 2 | 8 | 32);
    const whepURL = await studio.page.evaluate(([u, k]) => window.viewWHEP(u, k), [`${s.server.url}/whep/${room}/b1`, whepKey]);
    assert.match(whepURL, new RegExp(`/whep/${room}/b1/[0-9a-f]+$`));
    let last = { framesDecoded: 0 };
    await waitFor(async () => {
      last = await studio.page.evaluate(() => window.whepStats());
      return last.framesDecoded > 30 && last.audioPackets > 50;
    }, { timeout: 20_000, message: `the WHEP player decodes b1 (last ${JSON.stringify(last)})` });
    const visible = await b1.page.evaluate(() => [...document.querySelectorAll('[data-user]')].map((e) => e.getAttribute('data-user')));
    assert.ok(!visible.includes('viewer1'), 'a WHEP viewer is not shown as a participant');

    // DELETE: the WHIP member leaves the room.
    await studio.page.evaluate(() => window.stopWHIP());
    await waitFor(async () => !(await b1.page.evaluate(() => [...document.querySelectorAll('[data-user]')].map((e) => e.getAttribute('data-user')))).includes('obs'),
      { timeout: 10_000, message: 'obs leaves b1\'s page after DELETE' });
  });
});
