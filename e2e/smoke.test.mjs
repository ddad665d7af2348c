// Smoke test of the e2e toolchain itself (no openroom server needed):
// the private network namespace, Debian's Chromium driven by playwright-core,
// fake camera/mic through getUserMedia, and a WebRTC call inside one page
// whose ICE runs over the namespace's veth address (not loopback).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import os from 'node:os';
import { requireNetns, launchBrowser, closeBrowser, withDeadline } from './harness.mjs';

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>smoke</title></head>
<body><h1 id="hello">hello from node</h1><video id="v" autoplay muted playsinline></video></body></html>`;

let server;
let baseURL;
let browser;

before(async () => {
  requireNetns();
  server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  // http://localhost is a secure context, so getUserMedia is allowed.
  baseURL = `http://localhost:${server.address().port}`;
  browser = await launchBrowser();
});

after(async () => {
  await closeBrowser(browser);
  await new Promise((resolve) => server?.close(resolve));
});

test('runs inside the private network namespace', () => {
  const ip = requireNetns();
  const addrs = Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a.family === 'IPv4')
    .map((a) => a.address)
    .sort();
  assert.deepEqual(addrs, ['10.99.0.1', '10.99.0.2', '127.0.0.1'], `interfaces: ${addrs}`);
  assert.equal(ip, '10.99.0.1');
  assert.equal(process.env.OPENROOM_TEST_IP2, '10.99.0.2');
});

test('addresses outside the namespace are unreachable', { timeout: 10_000 }, async () => {
  // No default route: the kernel refuses at once (ENETUNREACH); nothing is sent.
  // 192.0.2.1 is TEST-NET-1 (documentation-only), never a real host.
  const net = await import('node:net');
  const code = await new Promise((resolve) => {
    const sock = net.connect({ host: '192.0.2.1', port: 9 });
    sock.on('connect', () => {
      sock.destroy();
      resolve('connected');
    });
    sock.on('error', (err) => resolve(err.code));
  });
  assert.equal(code, 'ENETUNREACH');
});

test('chromium loads a localhost page and gets fake camera + mic', { timeout: 60_000 }, async () => {
  await withDeadline(55_000, 'smoke getUserMedia', async () => {
    const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
    try {
      const page = await context.newPage();
      await page.goto(`${baseURL}/`);
      assert.equal(await page.textContent('#hello'), 'hello from node');
      const result = await page.evaluate(async () => {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
        const v = document.getElementById('v');
        v.srcObject = stream;
        await v.play();
        const t0 = performance.now();
        while (v.videoWidth === 0 && performance.now() - t0 < 10_000) {
          await new Promise((r) => setTimeout(r, 50));
        }
        const out = {
          secure: window.isSecureContext,
          tracks: stream.getTracks().map((t) => ({ kind: t.kind, state: t.readyState, label: t.label })),
          width: v.videoWidth,
          height: v.videoHeight,
        };
        stream.getTracks().forEach((t) => t.stop());
        return out;
      });
      assert.equal(result.secure, true);
      assert.deepEqual(result.tracks.map((t) => t.kind).sort(), ['audio', 'video']);
      assert.ok(result.tracks.every((t) => t.state === 'live'), JSON.stringify(result.tracks));
      assert.ok(result.width > 0 && result.height > 0, `video size ${result.width}x${result.height}`);
    } finally {
      await context.close();
    }
  });
});

test('chromium WebRTC call inside the namespace uses the veth address', { timeout: 60_000 }, async () => {
  await withDeadline(55_000, 'smoke WebRTC', async () => {
    const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
    try {
      const page = await context.newPage();
      await page.goto(`${baseURL}/`);
      const result = await page.evaluate(async () => {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
        const a = new RTCPeerConnection();
        const b = new RTCPeerConnection();
        const candidates = [];
        a.onicecandidate = (e) => e.candidate && (candidates.push(e.candidate.candidate), b.addIceCandidate(e.candidate));
        b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
        stream.getTracks().forEach((t) => a.addTrack(t, stream));
        const got = new Promise((resolve) => (b.ontrack = (e) => resolve(e.streams[0])));
        await a.setLocalDescription();
        await b.setRemoteDescription(a.localDescription);
        await b.setLocalDescription();
        await a.setRemoteDescription(b.localDescription);
        const remote = await got;
        const v = document.getElementById('v');
        v.srcObject = remote;
        v.play().catch(() => {});
        const inbound = async () => {
          const s = await b.getStats();
          const r = {};
          s.forEach((x) => {
            if (x.type === 'inbound-rtp') r[x.kind] = x;
          });
          return r;
        };
        const t0 = performance.now();
        let st = await inbound();
        while (!((st.video?.framesDecoded ?? 0) > 0 && (st.audio?.packetsReceived ?? 0) > 0) && performance.now() - t0 < 15_000) {
          await new Promise((r) => setTimeout(r, 100));
          st = await inbound();
        }
        let pair = null;
        const s = await a.getStats();
        s.forEach((x) => {
          if (x.type === 'transport' && x.selectedCandidatePairId) {
            const p = s.get(x.selectedCandidatePairId);
            pair = { local: s.get(p.localCandidateId)?.address, remote: s.get(p.remoteCandidateId)?.address };
          }
        });
        a.close();
        b.close();
        stream.getTracks().forEach((t) => t.stop());
        return {
          ms: Math.round(performance.now() - t0),
          framesDecoded: st.video?.framesDecoded ?? 0,
          audioPackets: st.audio?.packetsReceived ?? 0,
          candidates,
          pair,
        };
      });
      const hostIPs = result.candidates.map((c) => c.split(' ')[4]);
      assert.ok(
        hostIPs.some((ip) => ip.startsWith('10.99.0.')),
        `chromium offered no 10.99.0.x candidate (mDNS hiding on? no veth?): ${JSON.stringify(result.candidates)}`,
      );
      assert.ok(result.framesDecoded > 0, `no video frame decoded: ${JSON.stringify(result)}`);
      assert.ok(result.audioPackets > 0, `no audio packet received: ${JSON.stringify(result)}`);
      assert.ok(result.pair && /^10\.99\.0\./.test(result.pair.local), `selected pair: ${JSON.stringify(result.pair)}`);
      console.log(`smoke webrtc: first frame after ${result.ms} ms, pair ${result.pair.local} -> ${result.pair.remote}`);
    } finally {
      await context.close();
    }
  });
});
