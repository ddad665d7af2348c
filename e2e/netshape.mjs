// Poor-network helpers for e2e/network.test.mjs (issue 10): a "weak" member in a
// network namespace of its own behind a tc-shaped link, fake media files made with
// ffmpeg, member pages whose WebSocket frames and RTCPeerConnections are recorded,
// and getStats figures (fps, freezes, concealment, frame sizes) per remote member.
//
// Topology (everything inside the private namespace of scripts/netns-run.sh, whose
// veth0 10.99.0.1 / veth1 10.99.0.2 stay as they are):
//
//     test namespace (server, good members)          weak namespace (one Chromium)
//     10.99.0.1 (node IP), 10.99.0.2
//     orweakNh 10.97.0.1/24  <------ veth ------>    orweakNw 10.97.0.2/24
//       root qdisc: tbf (the weak member's            route 10.99.0.0/24 via 10.97.0.1
//       downlink: everything sent to it)              nothing else (no default route)
//
// - The weak namespace is held by an `unshare --net sh -c 'while kill -0 $PPID...'`
//   process (spawned through the harness, and it exits by itself within a second when
//   the test process is gone, even SIGKILLed); the veth's far end is
//   created straight into it (`ip link add ... peer name W netns PID`) and it is
//   configured with `nsenter --net=/proc/PID/ns/net`. No /var/run/netns, no mounts.
// - Our side routes 10.97.0.0/24 with `src 10.99.0.1`: the server's UDP socket is
//   bound to 0.0.0.0 and announces only its node IP 10.99.0.1 in ICE, so its
//   packets to the weak member must leave from that address (else the browser would
//   see answers from an address it never sent to).
// - The test namespace does not forward (ip_forward 0, checked): from the weak
//   namespace only the test namespace's own addresses answer; nothing routes out.
// - The weak Chromium runs through scripts/chromium-in-netns.sh (nsenter + exec, so
//   playwright-core's pipe and pid stay valid); it reaches the server at
//   http://10.99.0.1:PORT, treated as a secure origin for getUserMedia.
//
// Cleanup: link.close() removes the qdisc and the veth (both ends) and kills the
// holder; on process exit the same happens synchronously (the harness kills the
// holder, our exit hook deletes the veth and kills the weak browser's process group).

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BUILD_DIR,
  CHROMIUM,
  REPO_ROOT,
  appendToError,
  browserPid,
  closeBrowser,
  killGroup,
  launchBrowser,
  onExit,
  openMember,
  requireNetns,
  spawnTracked,
  waitFor,
} from './harness.mjs';

export const WEAK_HOST_IP = '10.97.0.1'; // test-namespace side of the weak member's veth
export const WEAK_CLIENT_IP = '10.97.0.2'; // the weak member's own address
const WEAK_PREFIX = '10.97.0.0/24';

// ---------------------------------------------------------------------------
// Small process helpers

/** Runs a command to completion; rejects with its stderr. Resolves to stdout. */
export function run(cmd, args, { timeout = 15_000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${cmd} ${args.join(' ')} failed: ${(stderr || err.message).trim()}`));
        return;
      }
      resolve(stdout);
    });
  });
}

function tryRunSync(cmd, args) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Fake media (ffmpeg)

const MEDIA_DIR = path.join(BUILD_DIR, 'media');

/** The fake camera file's frame rate. */
export const VIDEO_FPS = 15;

const MEDIA = {
  // Light temporal noise over a moving test pattern: every frame differs, so the
  // encoders work at the camera's full rate, yet 640x360 still fits a 600 kbit/s
  // layer (heavy noise makes Chromium scale the capture down, which drops the
  // upper simulcast layers). 15 fps: two cores cannot encode two 30 fps
  // simulcast cameras and decode four streams without starving the cameras,
  // and at 20 fps they still fell to 9-17 fps with the load average at 8-12,
  // the decoders freezing (up to 2 s in 20 s) without a packet lost.
  video: {
    file: `noisy8-640x360-${VIDEO_FPS}fps-10s.y4m`,
    args: ['-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=${VIDEO_FPS},noise=alls=8:allf=t`, '-t', '10', '-pix_fmt', 'yuv420p'],
  },
  // Speech-like: a warbling tone (220 Hz +- 80 Hz at 3 Hz) with a 4 Hz syllable
  // envelope and a little noise, peaks about -2.5 dBFS, mean about -10 dBFS. Not a
  // steady sine, which noise suppression would learn and attenuate.
  loud: {
    file: 'loud-speech-like-10s.wav',
    args: ['-f', 'lavfi', '-i',
      "aevalsrc='0.7*sin(2*PI*(220+80*sin(2*PI*3*t))*t)*(0.55+0.45*sin(2*PI*4*t))+0.1*(random(0)-0.5)':s=48000:d=10",
      '-ac', '1', '-c:a', 'pcm_s16le'],
  },
  // Faint pink noise, peaks about -67 dBFS, mean about -80 dBFS: a muted-ish room.
  quiet: {
    file: 'quiet-pink-noise-10s.wav',
    args: ['-f', 'lavfi', '-i', 'anoisesrc=a=0.0005:c=pink:r=48000:d=10', '-ac', '1', '-c:a', 'pcm_s16le'],
  },
};

let mediaPromise;

/**
 * Makes (once; they stay in /tmp/openroom-e2e/media) the fake capture files:
 *   video  noisy 640x360 15 fps Y4M, 10 s (about 52 MB; Chromium loops it)
 *   loud   speech-like WAV, 10 s        quiet  near-silent WAV, 10 s
 * Chromium loops --use-file-for-fake-audio-capture files unless the path ends in
 * "%noloop"; we want the loop, so the paths are passed as they are.
 * Returns {video, loud, quiet} (absolute paths).
 */
export function fakeMedia() {
  if (!mediaPromise) {
    mediaPromise = (async () => {
      mkdirSync(MEDIA_DIR, { recursive: true });
      const out = {};
      for (const [name, { file, args }] of Object.entries(MEDIA)) {
        const dst = path.join(MEDIA_DIR, file);
        out[name] = dst;
        if (existsSync(dst) && statSync(dst).size > 100_000) continue;
        const tmp = `${dst}.${process.pid}.tmp${path.extname(file)}`;
        const p = spawnTracked('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args, tmp], { name: 'ffmpeg' });
        const { code, error } = await p.done;
        if (code !== 0) throw new Error(`ffmpeg could not make ${file} (${error ?? `exit ${code}`}):\n${p.logs()}`);
        renameSync(tmp, dst);
      }
      return out;
    })();
    mediaPromise.catch(() => (mediaPromise = undefined));
  }
  return mediaPromise;
}

/** Chromium args that feed `video` (Y4M) and/or `audio` (WAV) as camera and microphone. */
export function fakeCaptureArgs({ video, audio } = {}) {
  const args = [];
  if (video) args.push(`--use-file-for-fake-video-capture=${video}`);
  if (audio) args.push(`--use-file-for-fake-audio-capture=${audio}`);
  return args;
}

// ---------------------------------------------------------------------------
// Real-time threads first

/** Renderer threads that carry a call: WebRTC's network/worker, the encoder and decoder queues, audio, IPC. */
const RENDERER_REALTIME = /^(WebRTC|ThreadPoolPrese|ThreadPoolAudio|Audio|Chrome_ChildIOT|VideoFrameCompo)/;

/**
 * Runs every Chromium's real-time threads at `nice` (nice is a share, not a rank: at
 * -19 they weigh 12 times Chromium's own -8 compositor threads; renderers:
 * RENDERER_REALTIME;
 * the video capture, audio and network service processes: every thread), checked
 * every second as threads come and go, until stop() is called. Three members share
 * two cores here where each would have its own device: without this, painting and
 * script in one tab starved another's decoder and pacer (the cameras fell to 8 of
 * 15 fps, decoders froze without a packet lost, and the publishers' Chromium read
 * the jitter as a congested uplink). Painting, script and GPU work keep their
 * priority. Returns {stop(), boosted (threads reniced so far)}.
 */
export function boostRealtimeThreads({ nice = -19, intervalMs = 1000 } = {}) {
  const done = new Set();
  const state = { boosted: 0 };
  // Every scan sets every matching thread again: Chromium moves its pool
  // workers' priorities from task to task (back to -8 or 0).
  const scan = () => {
    for (const pid of readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(pid)) continue;
      let cmd;
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (!cmd.includes('chromium')) continue;
      const renderer = cmd.includes('--type=renderer');
      const service = /--utility-sub-type=(video|audio|network)/.test(cmd);
      if (!renderer && !service) continue;
      let tids;
      try {
        tids = readdirSync(`/proc/${pid}/task`);
      } catch {
        continue;
      }
      for (const tid of tids) {
        const key = `${pid}/${tid}`;
        try {
          const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
          if (renderer && !RENDERER_REALTIME.test(name)) continue;
          setPriority(Number(tid), nice); // setpriority(2) on a thread id sets that thread's
          if (!done.has(key)) state.boosted++;
          done.add(key);
        } catch {
          // the thread ended
        }
      }
    }
  };
  scan();
  const timer = setInterval(scan, intervalMs);
  return Object.assign(state, { stop: () => clearInterval(timer) });
}

// ---------------------------------------------------------------------------
// The weak member's namespace and link

let linkSeq = 0;

function netnsID(pid) {
  return readlinkSync(`/proc/${pid}/ns/net`);
}

/**
 * Creates the weak namespace joined to ours by a veth pair (see the top of this file).
 * Returns a link:
 *   {nsPath, holderPid, hostIf, weakIf, hostIP, weakIP, serverIP,
 *    inNs(cmd, args) (runs a command in the weak namespace), shape(opts), setRate(rate),
 *    qdisc() (tc -s statistics of the downlink), describe(), close()}
 */
export async function createWeakLink({ serverIP = process.env.OPENROOM_TEST_IP } = {}) {
  requireNetns();
  const n = linkSeq++;
  const hostIf = `orweak${n}h`;
  const weakIf = `orweak${n}w`;
  // The holder lives as long as this process: even if we are SIGKILLed (no exit
  // hooks), it notices within a second and exits, and the namespace and the veth
  // pair go with it (the weak Chromium exits when its pipe to us closes).
  const holder = spawnTracked(
    'unshare',
    ['--net', '--', 'sh', '-c', 'while kill -0 "$1" 2>/dev/null; do sleep 1; done', 'weak-netns-holder', String(process.pid)],
    { name: 'weak-netns-holder' },
  );
  const ours = netnsID('self');
  let hostIfCreated = false;
  const cleanupSync = () => {
    if (hostIfCreated) tryRunSync('ip', ['link', 'del', hostIf]);
    killGroup(holder.pid);
  };
  const unregister = onExit(cleanupSync);
  let shaped = null; // the tbf parameters in force

  const link = {
    hostIf,
    weakIf,
    hostIP: WEAK_HOST_IP,
    weakIP: WEAK_CLIENT_IP,
    serverIP,
    holderPid: holder.pid,
    nsPath: `/proc/${holder.pid}/ns/net`,
    nsID: '',
    /** Runs cmd in the weak namespace (nsenter --net). Resolves to stdout. */
    inNs(cmd, args = [], opts) {
      return run('nsenter', [`--net=${link.nsPath}`, '--', cmd, ...args], opts);
    },
    /**
     * Shapes the weak member's downlink (egress of our veth end) with a token bucket:
     *   tc qdisc replace dev H root tbf rate RATE burst BURST latency LATENCY
     * rate like '500kbit' or '5mbit'; burst in bytes (default: 20 ms at that rate,
     * at least 4000 = 2.6 full-size packets); latency is the longest a packet may
     * wait in the queue (default 300 ms: a bloated 4G or hotel Wi-Fi buffer);
     * packets beyond it are dropped.
     */
    async shape({ rate, burst, latency = '300ms', verb = 'replace' }) {
      const bps = parseRate(rate);
      const b = burst ?? Math.max(4000, Math.round((bps / 8) * 0.02));
      await run('tc', ['qdisc', verb, 'dev', hostIf, 'root', 'tbf', 'rate', rate, 'burst', String(b), 'latency', latency]);
      shaped = { rate, bps, burst: b, latency };
      return shaped;
    },
    /** Changes the rate mid-call (tc qdisc change: packets already queued stay queued). */
    setRate(rate, opts = {}) {
      return link.shape({ latency: shaped?.latency, ...opts, rate, verb: shaped ? 'change' : 'add' });
    },
    get shaping() {
      return shaped;
    },
    /** tc -s statistics of the downlink qdisc: {kind, rate (bytes/s), bytes, packets, drops, overlimits, backlog, qlen}. */
    async qdisc() {
      const out = JSON.parse(await run('tc', ['-s', '-j', 'qdisc', 'show', 'dev', hostIf]));
      const q = out.find((x) => x.root) ?? out[0] ?? {};
      return {
        kind: q.kind,
        rate: q.options?.rate,
        burst: q.options?.burst,
        bytes: q.bytes ?? 0,
        packets: q.packets ?? 0,
        drops: q.drops ?? 0,
        overlimits: q.overlimits ?? 0,
        backlog: q.backlog ?? 0,
        qlen: q.qlen ?? 0,
      };
    },
    /** Routes and addresses on both sides (for failure messages). */
    async describe() {
      const parts = [];
      const tryRun = async (label, p) => {
        try {
          parts.push(`${label}:\n${(await p).trim()}`);
        } catch (err) {
          parts.push(`${label}: ${err.message}`);
        }
      };
      await tryRun('test namespace: ip -br addr', run('ip', ['-br', 'addr']));
      await tryRun('test namespace: ip route', run('ip', ['route']));
      await tryRun(`test namespace: tc -s qdisc show dev ${hostIf}`, run('tc', ['-s', 'qdisc', 'show', 'dev', hostIf]));
      await tryRun('weak namespace: ip -br addr', link.inNs('ip', ['-br', 'addr']));
      await tryRun('weak namespace: ip route', link.inNs('ip', ['route']));
      return parts.join('\n');
    },
    async close() {
      if (hostIfCreated) {
        await run('tc', ['qdisc', 'del', 'dev', hostIf, 'root']).catch(() => {});
        await run('ip', ['link', 'del', hostIf]).catch(() => {}); // takes the far end with it
        hostIfCreated = false;
      }
      await holder.stop();
      unregister();
    },
  };

  try {
    // unshare(2) happens right after spawn; wait until the holder's namespace is a new one.
    await waitFor(
      () => {
        if (holder.exited()) throw new Error(`holder exited: ${JSON.stringify(holder.exited())} ${holder.logs()}`);
        const id = netnsID(holder.pid);
        return id !== ours ? id : false;
      },
      { timeout: 5000, interval: 20, message: 'the weak namespace (unshare --net) to exist' },
    );
    link.nsID = netnsID(holder.pid);

    await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', weakIf, 'netns', String(holder.pid)]);
    hostIfCreated = true;
    try {
      writeFileSync(`/proc/sys/net/ipv6/conf/${hostIf}/disable_ipv6`, '1');
    } catch {}
    // Our side: the address without its prefix route, then a route whose source is the
    // node IP (what the server's wildcard UDP socket must send from).
    await run('ip', ['addr', 'add', `${WEAK_HOST_IP}/24`, 'dev', hostIf, 'noprefixroute']);
    await run('ip', ['link', 'set', hostIf, 'up']);
    await run('ip', ['route', 'add', WEAK_PREFIX, 'dev', hostIf, 'src', serverIP]);

    // The weak side: lo, its address, and a route to the test namespace's 10.99.0.0/24 only.
    await link.inNs('ip', ['link', 'set', 'lo', 'up']);
    await link.inNs('sh', ['-c', `echo 1 > /proc/sys/net/ipv6/conf/${weakIf}/disable_ipv6`]).catch(() => {});
    await link.inNs('ip', ['addr', 'add', `${WEAK_CLIENT_IP}/24`, 'dev', weakIf]);
    await link.inNs('ip', ['link', 'set', weakIf, 'up']);
    const testNet = `${serverIP.split('.').slice(0, 3).join('.')}.0/24`;
    await link.inNs('ip', ['route', 'add', testNet, 'via', WEAK_HOST_IP, 'dev', weakIf]);

    await waitFor(
      async () =>
        /LOWER_UP/.test(await run('ip', ['-o', 'link', 'show', hostIf])) &&
        /LOWER_UP/.test(await link.inNs('ip', ['-o', 'link', 'show', weakIf])),
      { timeout: 5000, interval: 50, message: `carrier on ${hostIf} and ${weakIf}` },
    );

    // Sanity: no default route on either side, and the test namespace forwards nothing.
    const weakDefault = (await link.inNs('ip', ['route', 'show', 'default'])).trim();
    if (weakDefault) throw new Error(`unexpected default route in the weak namespace: ${weakDefault}`);
    const ourDefault = (await run('ip', ['route', 'show', 'default'])).trim();
    if (ourDefault) throw new Error(`unexpected default route in the test namespace: ${ourDefault}`);
    const fwd = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    if (fwd !== '0') throw new Error(`the test namespace forwards packets (ip_forward=${fwd}): the weak namespace could route through it`);
  } catch (err) {
    appendToError(err, await link.describe().catch(() => ''));
    await link.close();
    throw err;
  }
  return link;
}

/** '500kbit' -> 500000, '5mbit' -> 5000000 (bits per second; tc's decimal units). */
export function parseRate(rate) {
  const m = /^(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit)$/i.exec(String(rate));
  if (!m) throw new Error(`rate ${JSON.stringify(rate)}: want NUMBER followed by bit, kbit, mbit or gbit`);
  const mult = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 }[m[2].toLowerCase()];
  return Number(m[1]) * mult;
}

/** Pids of `pid` and all its descendants (from /proc/PID/stat). */
export function processTree(pid) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {}
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * Launches Chromium inside the weak namespace (scripts/chromium-in-netns.sh) with
 * harness.launchBrowser, and checks that the browser
 * and every process it started are in that namespace.
 * `origin` (http://10.99.0.1:PORT) is treated as a secure origin: getUserMedia needs one.
 * Returns {browser, pid, processes (count checked), verify() (checks again, returns the
 * count: renderers and the network service start later), close()}.
 */
export async function launchBrowserIn(link, { args = [], origin, headless = true } = {}) {
  const extra = origin ? [`--unsafely-treat-insecure-origin-as-secure=${origin}`] : [];
  const browser = await launchBrowser({
    executablePath: path.join(REPO_ROOT, 'scripts', 'chromium-in-netns.sh'),
    env: { ...process.env, OPENROOM_CHROMIUM_NETNS: link.nsPath, OPENROOM_CHROMIUM_BIN: CHROMIUM },
    headless,
    args: [...extra, ...args],
  });
  const pid = browserPid(browser);
  const close = () => closeBrowser(browser);
  // Every process of this browser (browser, zygotes, network service, renderers
  // opened so far) must be in the weak namespace, none in ours. Returns their count.
  const verify = () => {
    const pids = processTree(pid);
    const wrong = [];
    for (const p of pids) {
      try {
        const id = netnsID(p);
        if (id !== link.nsID) wrong.push(`${p} (${readFileSync(`/proc/${p}/comm`, 'utf8').trim()}) in ${id}`);
      } catch {} // gone meanwhile
    }
    if (wrong.length) throw new Error(`weak Chromium processes outside the weak namespace ${link.nsID}: ${wrong.join(', ')}`);
    return pids.length;
  };
  try {
    const processes = verify();
    return { browser, pid, processes, verify, close };
  } catch (err) {
    await close();
    throw err;
  }
}

// ---------------------------------------------------------------------------
// Member pages with recorded WebSocket frames and RTCPeerConnections

/**
 * Runs in the page before its scripts: keeps every RTCPeerConnection the page makes
 * (window.__netPCs) and the owner of every remote track from its `track` events
 * (stream id = publishing userID, docs/protocol.md), so stats need no SDK internals.
 */
function hookPeerConnections() {
  const Original = window.RTCPeerConnection;
  if (!Original || window.__netPCs) return;
  const pcs = [];
  const owners = new Map();
  function Hooked(...args) {
    const pc = new Original(...args);
    pcs.push(pc);
    pc.addEventListener('track', (e) => {
      const s = e.streams && e.streams[0];
      if (s) owners.set(e.track.id, s.id);
    });
    return pc;
  }
  Hooked.prototype = Original.prototype;
  Object.setPrototypeOf(Hooked, Original); // static generateCertificate
  window.RTCPeerConnection = Hooked;
  window.__netPCs = pcs;
  window.__netOwners = owners;
}

/**
 * Opens `${baseURL}/r/${room}?user=${user}` in a new context of `browser` (camera and
 * microphone allowed, `viewport`), with every JSON frame the server sends on its
 * WebSocket recorded in `messages` ({at: performance.now() in this process, msg}),
 * and waits until #state is "connected".
 * Returns {user, page, context, messages, logs(), close()}.
 */
export function openNetMember(browser, baseURL, room, user, { viewport = { width: 1280, height: 720 }, deviceScaleFactor, timeout = 30_000 } = {}) {
  return openMember(browser, baseURL, room, user, { viewport, deviceScaleFactor, timeout, recordMessages: true, initScript: [hookPeerConnections] });
}

/** Server messages of `type` a member received: [{at, msg}]. */
export function messagesOf(member, type) {
  return member.messages.filter((m) => m.msg?.type === type);
}

// ---------------------------------------------------------------------------
// getStats figures

/**
 * One getStats snapshot of every RTCPeerConnection of the page:
 *   {at (page ms), inbound: {[userID]: {video?, audio?}}, outbound: [...], sources: [camera
 *    media-source: width, height, framesPerSecond], pairs: [selected candidate pairs]}
 * inbound-rtp entries are attributed to the publishing member by track (the `track`
 * events' stream ids, else the tiles' srcObject); when a member has several, the one
 * with the most bytes wins. Fields are the standard getStats names.
 */
export function mediaStats(page) {
  return page.evaluate(async () => {
    const owner = new Map(window.__netOwners ?? []);
    for (const tile of document.querySelectorAll('[data-user]')) {
      if (tile.closest('#members')) continue;
      const uid = tile.getAttribute('data-user');
      for (const el of tile.querySelectorAll('video, audio')) {
        const so = el.srcObject;
        if (so && typeof so.getTracks === 'function') for (const t of so.getTracks()) if (!owner.has(t.id)) owner.set(t.id, uid);
      }
    }
    const pick = (s, names) => {
      const o = {};
      for (const n of names) if (s[n] !== undefined) o[n] = s[n];
      return o;
    };
    const VIDEO = ['timestamp', 'ssrc', 'mid', 'trackIdentifier', 'framesDecoded', 'framesReceived', 'framesDropped',
      'keyFramesDecoded', 'frameWidth', 'frameHeight', 'framesPerSecond', 'freezeCount', 'totalFreezesDuration',
      'pauseCount', 'totalPausesDuration', 'bytesReceived', 'packetsReceived', 'packetsLost', 'nackCount', 'pliCount',
      'firCount', 'jitter', 'jitterBufferDelay', 'jitterBufferEmittedCount', 'decoderImplementation'];
    const AUDIO = ['timestamp', 'ssrc', 'mid', 'trackIdentifier', 'totalSamplesReceived', 'concealedSamples',
      'silentConcealedSamples', 'concealmentEvents', 'insertedSamplesForDeceleration', 'removedSamplesForAcceleration',
      'packetsReceived', 'packetsLost', 'bytesReceived', 'jitter', 'audioLevel', 'totalAudioEnergy',
      'jitterBufferDelay', 'jitterBufferEmittedCount'];
    const OUT = ['kind', 'rid', 'ssrc', 'mid', 'active', 'frameWidth', 'frameHeight', 'framesPerSecond', 'framesEncoded',
      'bytesSent', 'packetsSent', 'targetBitrate', 'qualityLimitationReason', 'encoderImplementation', 'scalabilityMode',
      'nackCount', 'pliCount', 'timestamp'];
    const out = { at: Date.now(), inbound: {}, outbound: [], sources: [], pairs: [] };
    for (const pc of window.__netPCs ?? []) {
      if (pc.connectionState === 'closed') continue;
      let rep;
      try {
        rep = await pc.getStats();
      } catch {
        continue;
      }
      const midOwner = new Map();
      try {
        for (const tr of pc.getTransceivers()) {
          const t = tr.receiver?.track;
          if (tr.mid != null && t && owner.has(t.id)) midOwner.set(tr.mid, owner.get(t.id));
        }
      } catch {}
      rep.forEach((s) => {
        if (s.type === 'inbound-rtp' && (s.kind === 'video' || s.kind === 'audio')) {
          let uid = s.trackIdentifier ? owner.get(s.trackIdentifier) : undefined;
          if (!uid && s.mid != null) uid = midOwner.get(s.mid);
          if (!uid) uid = `?${s.trackIdentifier || s.ssrc}`;
          const prev = out.inbound[uid]?.[s.kind];
          if (prev && (prev.bytesReceived ?? 0) >= (s.bytesReceived ?? 0)) return;
          const o = pick(s, s.kind === 'video' ? VIDEO : AUDIO);
          const codec = s.codecId && rep.get(s.codecId);
          if (codec) o.codec = codec.mimeType;
          (out.inbound[uid] ??= {})[s.kind] = o;
        } else if (s.type === 'outbound-rtp') {
          out.outbound.push(pick(s, OUT));
        } else if (s.type === 'media-source' && s.kind === 'video') {
          out.sources.push(pick(s, ['kind', 'width', 'height', 'framesPerSecond', 'frames']));
        } else if (s.type === 'transport' && s.selectedCandidatePairId) {
          const p = rep.get(s.selectedCandidatePairId);
          const l = p && rep.get(p.localCandidateId);
          const r = p && rep.get(p.remoteCandidateId);
          out.pairs.push({
            local: l && `${l.address}:${l.port}`,
            localType: l?.candidateType,
            remote: r && `${r.address}:${r.port}`,
            remoteType: r?.candidateType,
            rtt: p?.currentRoundTripTime,
            availableOutgoingBitrate: p?.availableOutgoingBitrate,
            bytesReceived: p?.bytesReceived,
            bytesSent: p?.bytesSent,
          });
        }
      });
    }
    return out;
  });
}

/** Rendered size (device px) of each remote tile's <video>: {[userID]: {width, height, dpr}}. */
export function tileVideoSizes(page) {
  return page.evaluate(() => {
    const out = {};
    for (const tile of document.querySelectorAll('[data-user]')) {
      if (tile.closest('#members')) continue;
      const v = tile.querySelector('video');
      if (!v) continue;
      const r = v.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      out[tile.getAttribute('data-user')] = { width: Math.round(r.width * dpr), height: Math.round(r.height * dpr), dpr };
    }
    return out;
  });
}

/**
 * Samples mediaStats of every member every `interval` ms until `duration` ms have
 * passed since the first sample (slow rounds on a busy machine do not shorten the
 * window), or `until(series, elapsedMs)` returns true. Returns
 * {[user]: [{t (performance.now()), stats}]}; `onSample(series, elapsedMs)` sees each round.
 */
export async function sampleStats(members, { duration, interval = 1000, onSample, until } = {}) {
  const series = Object.fromEntries(members.map((m) => [m.user, []]));
  let first = null;
  for (let i = 0; ; i++) {
    const round = await Promise.all(members.map((m) => mediaStats(m.page).catch(() => null)));
    const t = performance.now();
    first ??= t;
    members.forEach((m, k) => round[k] && series[m.user].push({ t, stats: round[k] }));
    if (onSample) await onSample(series, t - first);
    if (t - first >= duration || (until && until(series, t - first))) break;
    await sleep(Math.max(0, first + (i + 1) * interval - performance.now()));
  }
  return series;
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * Figures for what `series` (one observer's samples) shows of `remote` over the window:
 *   video: {fps, kbps, width (last), widths ({px: samples}), height, freezes, freezeSeconds,
 *           maxFreezeSeconds (upper bound per sample step), longestStallSeconds
 *           (longest run of samples without a new decoded frame), pauses, lost, nacks, plis,
 *           framesDropped, codec} or null
 *   audio: {kbps, concealment (0..1), silentConcealment, packets, lost, level} or null
 *   seconds: the window's length from the stats' own timestamps
 */
export function summarize(series, remote) {
  const v = series.map((s) => ({ t: s.t, v: s.stats?.inbound?.[remote]?.video })).filter((x) => x.v);
  const a = series.map((s) => ({ t: s.t, a: s.stats?.inbound?.[remote]?.audio })).filter((x) => x.a);
  const out = { remote, video: null, audio: null, seconds: 0 };
  if (series.length >= 2) out.seconds = (series.at(-1).t - series[0].t) / 1000;
  if (v.length >= 2) {
    const f = v[0].v;
    const l = v.at(-1).v;
    const secs = (num(l.timestamp) - num(f.timestamp)) / 1000 || (v.at(-1).t - v[0].t) / 1000;
    const widths = {};
    for (const x of v) widths[x.v.frameWidth ?? 0] = (widths[x.v.frameWidth ?? 0] ?? 0) + 1;
    let maxFreeze = 0;
    for (let i = 1; i < v.length; i++) {
      const dc = num(v[i].v.freezeCount) - num(v[i - 1].v.freezeCount);
      const dd = num(v[i].v.totalFreezesDuration) - num(v[i - 1].v.totalFreezesDuration);
      if (dc > 0) maxFreeze = Math.max(maxFreeze, dd);
    }
    // Longest time without a new decoded frame: from the last sample that saw progress
    // to a later one (the window's edges count: no progress at all = the whole window).
    let lastProgress = v[0].t;
    let stall = 0;
    for (let i = 1; i < v.length; i++) {
      if (num(v[i].v.framesDecoded) > num(v[i - 1].v.framesDecoded)) lastProgress = v[i].t;
      stall = Math.max(stall, v[i].t - lastProgress);
    }
    out.video = {
      seconds: secs,
      fps: (num(l.framesDecoded) - num(f.framesDecoded)) / secs,
      kbps: ((num(l.bytesReceived) - num(f.bytesReceived)) * 8) / secs / 1000,
      width: l.frameWidth ?? 0,
      height: l.frameHeight ?? 0,
      widths,
      freezes: num(l.freezeCount) - num(f.freezeCount),
      freezeSeconds: num(l.totalFreezesDuration) - num(f.totalFreezesDuration),
      maxFreezeSeconds: maxFreeze,
      longestStallSeconds: stall / 1000,
      pauses: num(l.pauseCount) - num(f.pauseCount),
      pauseSeconds: num(l.totalPausesDuration) - num(f.totalPausesDuration),
      lost: num(l.packetsLost) - num(f.packetsLost),
      nacks: num(l.nackCount) - num(f.nackCount),
      plis: num(l.pliCount) - num(f.pliCount),
      keyframes: num(l.keyFramesDecoded) - num(f.keyFramesDecoded),
      framesDropped: num(l.framesDropped) - num(f.framesDropped),
      codec: l.codec ?? '?',
    };
  } else if (v.length === 1) {
    out.video = { seconds: 0, fps: 0, kbps: 0, width: v[0].v.frameWidth ?? 0, widths: {}, freezes: 0, freezeSeconds: 0, maxFreezeSeconds: 0, longestStallSeconds: out.seconds, note: 'one sample only' };
  }
  if (a.length >= 2) {
    const f = a[0].a;
    const l = a.at(-1).a;
    const secs = (num(l.timestamp) - num(f.timestamp)) / 1000 || (a.at(-1).t - a[0].t) / 1000;
    const total = num(l.totalSamplesReceived) - num(f.totalSamplesReceived);
    const concealed = num(l.concealedSamples) - num(f.concealedSamples);
    const silent = num(l.silentConcealedSamples) - num(f.silentConcealedSamples);
    out.audio = {
      seconds: secs,
      kbps: ((num(l.bytesReceived) - num(f.bytesReceived)) * 8) / secs / 1000,
      samples: total,
      concealment: total > 0 ? concealed / total : 1,
      silentConcealment: total > 0 ? silent / total : 0,
      packets: num(l.packetsReceived) - num(f.packetsReceived),
      lost: num(l.packetsLost) - num(f.packetsLost),
      level: l.audioLevel ?? 0,
    };
  }
  return out;
}

/** One line of figures from summarize(). */
export function formatSummary(observer, s) {
  const p = (x, d = 1) => (typeof x === 'number' ? x.toFixed(d) : '?');
  const parts = [`${s.remote} -> ${observer}:`];
  if (s.video) {
    const widths = Object.entries(s.video.widths ?? {}).map(([w, c]) => `${w}px x${c}`).join(' ');
    parts.push(
      `video ${p(s.video.fps)} fps, ${p(s.video.kbps, 0)} kbit/s, ${s.video.width}x${s.video.height ?? '?'} (samples: ${widths}), ` +
        `freezes ${s.video.freezes} / ${p(s.video.freezeSeconds, 2)} s (longest <= ${p(s.video.maxFreezeSeconds, 2)} s), ` +
        `longest stall ${p(s.video.longestStallSeconds, 1)} s, lost ${s.video.lost}, nack ${s.video.nacks}, pli ${s.video.plis}, ` +
        `keyframes ${s.video.keyframes}, ${s.video.codec}`,
    );
  } else {
    parts.push('video: NO inbound-rtp');
  }
  if (s.audio) {
    parts.push(
      `| audio ${p(s.audio.kbps, 0)} kbit/s, concealment ${p(s.audio.concealment * 100, 1)} % ` +
        `(silent ${p(s.audio.silentConcealment * 100, 1)} %), ${s.audio.packets} pkts, lost ${s.audio.lost}`,
    );
  } else {
    parts.push('| audio: NO inbound-rtp');
  }
  return parts.join(' ');
}

// ---------------------------------------------------------------------------
// Raw throughput through the weak link (UDP, node sockets on both sides)

const UDP_RECEIVER = `
const dgram = require('node:dgram');
const [port, ms] = process.argv.slice(1).map(Number);
const s = dgram.createSocket('udp4');
let first = 0, bytes = 0, packets = 0, from = '';
const times = [];
s.on('message', (m, r) => {
  const t = performance.now();
  if (!first) { first = t; from = r.address; }
  bytes += m.length; packets++;
  times.push([t, m.length]);
});
s.bind(port, '0.0.0.0', () => {
  process.stdout.write('ready\\n');
  setTimeout(() => {
    // Steady state: from 0.5 s after the first packet (the bucket's burst and the
    // queue filling are over) to the last packet.
    const steady = times.filter(([t]) => t >= first + 500);
    const sb = steady.reduce((a, [, n]) => a + n, 0);
    const span = steady.length > 1 ? (steady.at(-1)[0] - steady[0][0]) / 1000 : 0;
    process.stdout.write(JSON.stringify({ from, packets, bytes, steadyBytes: sb, steadySeconds: span,
      steadyKbps: span > 0 ? sb * 8 / span / 1000 : 0 }) + '\\n');
    process.exit(0);
  }, ms);
});
`;

/**
 * Sends UDP datagrams of `size` bytes at `sendKbps` from the test namespace to the
 * weak member's address for `ms`, and measures in the weak namespace (a node process
 * run with nsenter) what arrives. Returns {sentKbps, from, packets, bytes, steadyKbps}
 * (payload bit rate; tbf also counts the 42 bytes of UDP/IP/Ethernet headers).
 */
export async function udpThroughput(link, { sendKbps, ms = 2500, size = 1200, port = 40999 } = {}) {
  const { default: dgram } = await import('node:dgram');
  const rx = spawnTracked('nsenter', [`--net=${link.nsPath}`, '--', process.execPath, '-e', UDP_RECEIVER, String(port), String(ms + 700)], {
    stdout: 'pipe',
    name: 'udp-receiver',
  });
  let out = '';
  rx.proc.stdout.on('data', (d) => (out += d));
  await waitFor(() => out.includes('ready'), { timeout: 10_000, interval: 20, message: 'the UDP receiver in the weak namespace' });
  const sock = dgram.createSocket('udp4');
  await new Promise((resolve) => sock.bind(0, resolve));
  const payload = Buffer.alloc(size, 0x5a);
  const perMs = (sendKbps * 1000) / 8 / size / 1000; // packets per ms
  let sent = 0;
  const t0 = performance.now();
  for (;;) {
    const now = performance.now() - t0;
    if (now >= ms) break;
    for (const due = Math.floor(now * perMs); sent < due; sent++) sock.send(payload, port, link.weakIP);
    await sleep(2);
  }
  const elapsed = (performance.now() - t0) / 1000;
  sock.close();
  await rx.done;
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`the UDP receiver printed no result: ${out} ${rx.logs()}`);
  return { sentKbps: (sent * size * 8) / elapsed / 1000, ...JSON.parse(line) };
}
