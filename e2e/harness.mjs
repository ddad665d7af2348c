// Helpers for openroom's end-to-end tests (node:test + playwright-core + Debian's Chromium).
//
// These tests open WebRTC traffic, so they must run inside the private network
// namespace made by scripts/netns-run.sh (scripts/test.sh does that):
//   scripts/netns-run.sh npm run test:e2e
//
// Every server and browser started here is registered, and killed when the test
// process exits (normally or by SIGINT/SIGTERM), so no process outlives a run.

import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, existsSync, createWriteStream } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import dgram from 'node:dgram';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { after } from 'node:test';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUILD_DIR = '/tmp/openroom-e2e';
export const CHROMIUM = process.env.OPENROOM_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// ---------------------------------------------------------------------------
// Environment checks

/** Throws unless we run inside the private namespace of scripts/netns-run.sh. */
export function requireNetns() {
  if (process.env.OPENROOM_NETNS !== '1' || !process.env.OPENROOM_TEST_IP) {
    throw new Error(
      'e2e tests open WebRTC traffic and must run inside the private network namespace: ' +
        'run ./scripts/test.sh, or scripts/netns-run.sh npm run test:e2e ' +
        '(OPENROOM_NETNS=1 and OPENROOM_TEST_IP must be set)',
    );
  }
  return process.env.OPENROOM_TEST_IP;
}

// ---------------------------------------------------------------------------
// Cleanup registry: kill everything we started when this process goes away.

const live = new Set(); // {kill(): void} (synchronous, last-resort)

function register(entry) {
  live.add(entry);
  return () => live.delete(entry);
}

/**
 * Runs kill() (synchronous, must not throw for long) if this process exits or
 * is signalled before the returned function unregisters it; what a test set up
 * outside the harness (a veth pair, a helper process) is undone this way too.
 */
export function onExit(kill) {
  return register({ kill });
}

function killAllSync() {
  for (const e of live) {
    try {
      e.kill();
    } catch {}
  }
  live.clear();
}

process.on('exit', killAllSync);

// Safety net for each test file (registered when it imports the harness):
// once all its tests and hooks are done, anything still running is killed,
// so a forgotten browser or server can neither hang the run nor outlive it.
after(async () => {
  if (live.size > 0) {
    await sleep(200); // let tests' own after hooks finish closing gracefully
    killAllSync();
  }
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAllSync();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  });
}

/** Signals a process group (a process spawned detached), else the process alone; never throws. */
export function killGroup(pid, signal = 'SIGKILL') {
  if (!pid) return;
  try {
    process.kill(-pid, signal); // whole process group (spawned detached)
  } catch {
    try {
      process.kill(pid, signal);
    } catch {}
  }
}

// ---------------------------------------------------------------------------
// Small utilities

/** A TCP port that was free a moment ago (listen on :0, close). */
export function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '0.0.0.0', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A UDP port that was free a moment ago (bind :0, close). */
export function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.on('error', reject);
    s.bind(0, '0.0.0.0', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Polls fn until it returns a truthy value (which is returned) or the timeout
 * passes (then throws with the last value / error). fn may be async; a throw
 * counts as "not yet".
 */
export async function waitFor(fn, { timeout = 10_000, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      lastErr = undefined;
      if (last) return last;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastErr ? `last error: ${lastErr.message}` : `last value: ${safeJSON(last)}`;
      throw new Error(`waitFor timed out after ${timeout} ms waiting for ${message} (${detail})`);
    }
    await sleep(interval);
  }
}

/** Adds text to an error's message and stack (node:test prints the stack). */
export function appendToError(err, text) {
  if (!err || typeof err !== 'object' || !text) return err;
  try {
    err.message = `${err.message}\n${text}`;
    if (typeof err.stack === 'string') err.stack = `${err.stack}\n${text}`;
  } catch {}
  return err;
}

function safeJSON(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** Runs fn with an overall deadline; rejects with a clear message when it passes. */
export async function withDeadline(ms, what, fn) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: deadline of ${ms} ms passed`)), ms);
  });
  try {
    return await Promise.race([fn(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Keeps the last `max` lines written to it. */
class LogRing {
  constructor(max = 400) {
    this.max = max;
    this.lines = [];
    this.partial = '';
  }
  write(chunk) {
    const text = this.partial + chunk.toString();
    const parts = text.split('\n');
    this.partial = parts.pop();
    for (const p of parts) this.push(p);
  }
  push(line) {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  text() {
    return [...this.lines, ...(this.partial ? [this.partial] : [])].join('\n');
  }
}

// ---------------------------------------------------------------------------
// The openroom server

let buildPromise;

/**
 * Builds ./cmd/openroom into /tmp/openroom-e2e/openroom, once per test process
 * (go's build cache makes later processes' builds quick). OPENROOM_BIN skips
 * the build and uses that binary.
 */
export function buildServer() {
  if (process.env.OPENROOM_BIN) return Promise.resolve(process.env.OPENROOM_BIN);
  if (!buildPromise) {
    buildPromise = new Promise((resolve, reject) => {
      mkdirSync(BUILD_DIR, { recursive: true });
      const out = path.join(BUILD_DIR, 'openroom');
      const tmp = `${out}.${process.pid}.tmp`;
      const started = Date.now();
      const p = spawn('go', ['build', '-o', tmp, './cmd/openroom'], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      p.stdout.on('data', (d) => (output += d));
      p.stderr.on('data', (d) => (output += d));
      p.on('error', (err) => reject(new Error(`cannot run go build: ${err.message}`)));
      p.on('close', (code) => {
        if (code !== 0) {
          reject(new Error(`go build ./cmd/openroom failed (exit ${code}):\n${output}`));
          return;
        }
        renameSync(tmp, out);
        if (process.env.OPENROOM_E2E_VERBOSE) {
          console.log(`# built ${out} in ${Date.now() - started} ms`);
        }
        resolve(out);
      });
    });
  }
  return buildPromise;
}

/** Reads a server's metrics (openroom's and Go's) into {name or name{labels}: value}. */
export async function serverMetrics(server) {
  const res = await fetch(`http://127.0.0.1:${server.port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const out = {};
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

/**
 * Starts the openroom server on a free port of the namespace:
 *   openroom --http 0.0.0.0:PORT --rtc-port UDPPORT --node-ip $OPENROOM_TEST_IP ...args
 * and waits until GET http://127.0.0.1:PORT{readyPath} answers 200 (20 s) and, when
 * readyLog is given, the server has logged it.
 * ports ({port, rtcPort, rtmpPort}, e.g. an earlier server's) starts it on those.
 * nice (e.g. -10) runs it at that priority, as a dedicated server would be beside
 * browsers sharing its cores.
 * logLines is how many of the server's last log lines logs() keeps.
 * Returns {url, port, rtcPort, proc, logs(), stop()}.
 */
export async function startServer({ args = [], readyTimeout = 20_000, env = {}, readyPath = '/', readyLog = '', nice = 0, ulimitFiles = 0, ports, tmpfs, logLines = 1000 } = {}) {
  const nodeIP = requireNetns();
  const bin = await buildServer();
  // ports ({port, rtcPort, rtmpPort} of an earlier server) restarts on the same ones.
  const port = ports?.port ?? (await freeTcpPort());
  let rtcPort = ports?.rtcPort ?? (await freeUdpPort());
  const rtmpPort = ports?.rtmpPort ?? (await freeTcpPort());
  const fullArgs = ['--http', `0.0.0.0:${port}`, '--rtc-port', String(rtcPort), '--rtmp', `0.0.0.0:${rtmpPort}`,
    '--node-ip', nodeIP, ...args];
  const log = new LogRing(logLines);
  log.push(`$ ${bin} ${fullArgs.join(' ')}`);

  // nice(1) execs the server: the pid stays the server's.
  let [cmd, cmdArgs] = nice ? ['nice', ['-n', String(nice), bin, ...fullArgs]] : [bin, fullArgs];
  // ulimitFiles: the server's file-descriptor limit, soft and hard (sh execs it: the pid stays the server's).
  if (ulimitFiles) [cmd, cmdArgs] = ['sh', ['-c', `ulimit -n ${Number(ulimitFiles)} && exec "$0" "$@"`, cmd, ...cmdArgs]];
  // tmpfs ({dir, size}): a small disk of its own at dir, in a private mount namespace (a full
  // disk, for real). Others see it through /proc/{pid}/root{dir}. sh execs the server.
  if (tmpfs) {
    const mount = `mount -t tmpfs -o size=${tmpfs.size} openroom-test ${JSON.stringify(tmpfs.dir)}`;
    [cmd, cmdArgs] = ['unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${mount} && exec "$0" "$@"`, cmd, ...cmdArgs]];
  }
  const proc = spawn(cmd, cmdArgs, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: stop() kills anything it started too
  });
  const unregister = register({ kill: () => killGroup(proc.pid) });
  proc.stdout.on('data', (d) => log.write(d));
  proc.stderr.on('data', (d) => log.write(d));
  // OPENROOM_E2E_SERVER_LOG=FILE keeps every server's whole log (the ring keeps 1000 lines).
  if (process.env.OPENROOM_E2E_SERVER_LOG) {
    const file = createWriteStream(process.env.OPENROOM_E2E_SERVER_LOG, { flags: 'a' });
    proc.stdout.pipe(file, { end: false });
    proc.stderr.pipe(file, { end: false });
    proc.once('exit', () => file.end());
  }
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      exited = { code, signal };
      log.push(`[openroom exited: code=${code} signal=${signal}]`);
      resolve(exited);
    });
    proc.on('error', (err) => {
      exited = { code: null, signal: null, error: err };
      log.push(`[openroom failed to start: ${err.message}]`);
      resolve(exited);
    });
  });

  let stopped = false;
  const server = {
    url: `http://localhost:${port}`,
    port,
    rtcPort,
    rtmpPort,
    proc,
    logs: () => log.text(),
    exited: () => exited,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!exited) {
        killGroup(proc.pid, 'SIGTERM');
        const t = setTimeout(() => killGroup(proc.pid, 'SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(t);
      }
      killGroup(proc.pid, 'SIGKILL'); // leftovers in its group, if any
      unregister();
    },
  };

  const deadline = Date.now() + readyTimeout;
  let lastErr = 'no answer yet';
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      const res = await fetch(`http://127.0.0.1:${port}${readyPath}`, { redirect: 'manual', signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer().catch(() => {});
      if (res.status === 200 && log.text().includes(readyLog)) return server;
      lastErr = `HTTP ${res.status}`;
    } catch (err) {
      lastErr = err.cause?.code || err.message;
    }
    await sleep(100);
  }
  await server.stop();
  throw new Error(
    `openroom did not answer 200 on GET http://127.0.0.1:${port}${readyPath} within ${readyTimeout} ms ` +
      `(${exited ? `it exited: ${safeJSON(exited)}` : `last: ${lastErr}`})\n--- server log ---\n${log.text()}`,
  );
}

// ---------------------------------------------------------------------------
// Chromium

let chromiumPromise;
async function chromiumType() {
  if (!chromiumPromise) {
    chromiumPromise = import('playwright-core').then((m) => m.chromium);
  }
  return chromiumPromise;
}

/**
 * Launches Debian's Chromium (its own OS process tree) via playwright-core.
 * playwright-core >= 1.65 has no Browser.process(), so the browser runs as a
 * BrowserServer (which owns the process) and we connect to it over a loopback
 * WebSocket; killBrowser() can then SIGKILL the real process group.
 * `executablePath` (and `env`) run it through a wrapper instead, e.g. one that
 * puts it in a network namespace of its own; closeBrowser() closes it either way.
 * `dropArgs` leaves some of CHROMIUM_ARGS out, e.g. "--use-fake-ui-for-media-stream" so that a
 * context without the camera permission is refused (as a user who clicked Block).
 */
export async function launchBrowser({ args = [], dropArgs = [], headless = true, executablePath = CHROMIUM, env } = {}) {
  requireNetns();
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install chromium (scripts/test.sh does)`);
  }
  const chromium = await chromiumType();
  const bs = await chromium.launchServer({
    executablePath,
    ...(env ? { env } : {}),
    headless,
    args: [...CHROMIUM_ARGS.filter((a) => !dropArgs.includes(a)), ...args],
    timeout: 30_000,
    host: '127.0.0.1',
  });
  const pid = bs.process()?.pid;
  const unregister = register({ kill: () => killGroup(pid) });
  bs.process()?.once('exit', unregister);
  let browser;
  try {
    browser = await chromium.connect(bs.wsEndpoint(), { timeout: 30_000 });
  } catch (err) {
    killGroup(pid);
    throw err;
  }
  browsers.set(browser, { server: bs, pid });
  return browser;
}

const browsers = new WeakMap(); // Browser -> {server: BrowserServer, pid}

/** The OS pid of a browser from launchBrowser() (its process group leader). */
export function browserPid(browser) {
  return browsers.get(browser)?.pid;
}

/** Closes a browser (never throws, never hangs past 10 s; then SIGKILL). */
export async function closeBrowser(browser) {
  if (!browser) return;
  const info = browsers.get(browser);
  try {
    await withDeadline(10_000, 'browser.close', () => browser.close());
  } catch {}
  if (info) {
    try {
      await withDeadline(10_000, 'browserServer.close', () => info.server.close());
    } catch {}
    killGroup(info.pid);
  }
}

/**
 * SIGKILLs a browser's whole process tree (Chromium is launched as a process
 * group leader), as a crashed / killed tab would vanish: no beforeunload, no
 * WebSocket close frame.
 */
export function killBrowser(browser) {
  const pid = browserPid(browser);
  if (!pid) throw new Error('browser has no local process (not launched by launchBrowser?)');
  killGroup(pid, 'SIGKILL');
}

/**
 * SIGSTOPs a browser's whole process tree: a hung tab whose TCP connections stay
 * open (the kernel still ACKs) but that answers no WebSocket ping any more, so
 * only the server's member timeout can notice. killBrowser() ends it later
 * (SIGKILL works on stopped processes).
 */
export function freezeBrowser(browser) {
  const pid = browserPid(browser);
  if (!pid) throw new Error('browser has no local process (not launched by launchBrowser?)');
  killGroup(pid, 'SIGSTOP');
}

// ---------------------------------------------------------------------------
// Members (one browser context per member)

/**
 * Opens `${baseURL}/r/${room}?user=${user}` in a new browser context and waits
 * until #state says "connected". Returns {user, room, url, page, context, messages, logs(), close()}.
 * Options: timeout, waitConnected, viewport and recordMessages (see newMemberPage),
 * initScript [fn, arg?] (added with page.addInitScript before the page loads).
 */
export async function openMember(browser, baseURL, room, user, { timeout = 20_000, waitConnected = true, viewport, deviceScaleFactor, recordMessages, initScript } = {}) {
  const member = await newMemberPage(browser, user, { viewport, deviceScaleFactor, recordMessages });
  const url = memberURL(baseURL, room, user);
  try {
    if (initScript) await member.page.addInitScript(...initScript);
    await member.page.goto(url, { waitUntil: 'domcontentloaded', timeout });
    if (waitConnected) await waitForState(member.page, 'connected', { timeout });
  } catch (err) {
    appendToError(err, `--- ${user} page log ---\n${member.logs()}`);
    await member.close();
    throw err;
  }
  return Object.assign(member, { room, url });
}

export function memberURL(baseURL, room, user) {
  return `${baseURL}/r/${encodeURIComponent(room)}?user=${encodeURIComponent(user)}`;
}

/**
 * A new context + page for `user`, with its console captured; not navigated yet.
 * Options: viewport (playwright's; default 1280x720), deviceScaleFactor (default 1;
 * below 1 the page renders fewer device pixels), recordMessages (keep every server
 * WebSocket message as {at: performance.now(), msg} in member.messages).
 */
export async function newMemberPage(browser, user, { viewport, deviceScaleFactor, recordMessages = false } = {}) {
  const context = await browser.newContext({
    permissions: ['camera', 'microphone'],
    ...(viewport ? { viewport } : {}),
    ...(deviceScaleFactor ? { deviceScaleFactor } : {}),
  });
  const page = await context.newPage();
  const ring = new LogRing(300);
  // Wall-clock times (as the server logs them), to line page and server logs up.
  const log = { push: (line) => ring.push(`${new Date().toISOString().slice(11, 23)} ${line}`), text: () => ring.text() };
  const messages = [];
  page.on('console', (msg) => log.push(`[${user}] console.${msg.type()}: ${msg.text()}`));
  page.on('pageerror', (err) => log.push(`[${user}] pageerror: ${err.message}`));
  page.on('crash', () => log.push(`[${user}] page crashed`));
  page.on('websocket', (ws) => {
    log.push(`[${user}] websocket open ${ws.url()}`);
    ws.on('close', () => log.push(`[${user}] websocket closed`));
    if (recordMessages) {
      ws.on('framereceived', ({ payload }) => {
        const at = performance.now();
        try {
          messages.push({ at, msg: JSON.parse(typeof payload === 'string' ? payload : payload.toString()) });
        } catch {}
      });
    }
  });
  let closed = false;
  return {
    user,
    page,
    context,
    messages,
    logs: () => log.text(),
    async close() {
      if (closed) return;
      closed = true;
      try {
        await withDeadline(10_000, `closing ${user}`, () => context.close());
      } catch {}
    },
  };
}

/** Text of #state. */
export function stateOf(page) {
  return page.evaluate(() => document.querySelector('#state')?.textContent?.trim() ?? null);
}

/** Waits until #state's text is `state`; the error says what it was instead. */
export async function waitForState(page, state, { timeout = 20_000 } = {}) {
  try {
    await page.waitForFunction(
      (want) => document.querySelector('#state')?.textContent?.trim() === want,
      state,
      { timeout, polling: 100 },
    );
  } catch (err) {
    let now = '?';
    let banner = '?';
    try {
      now = await stateOf(page);
      banner = await page.evaluate(() => document.querySelector('#banner')?.textContent?.trim() ?? null);
    } catch {}
    throw new Error(
      `#state did not become "${state}" within ${timeout} ms (it is ${safeJSON(now)}, #banner ${safeJSON(banner)}): ${err.message.split('\n')[0]}`,
    );
  }
}

/** Number of video tiles [data-user="user"] on the page (the #members list is not counted). */
export function tileCount(page, user) {
  return page.evaluate(
    (u) =>
      [...document.querySelectorAll('[data-user]')].filter(
        (el) => el.getAttribute('data-user') === u && !el.closest('#members'),
      ).length,
    user,
  );
}

/** Waits until `page` shows a tile for every user in `users`. */
export async function waitForTiles(page, users, timeout = 15_000) {
  await waitFor(
    async () => {
      for (const u of users) if ((await tileCount(page, u)) < 1) return false;
      return true;
    },
    { timeout, interval: 100, message: `tiles for ${users.join(', ')}` },
  );
}

/** userIDs in the member list #members li[data-user]. */
export function memberList(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('#members li[data-user]')].map((el) => el.getAttribute('data-user')),
  );
}

/**
 * window.openroom.remoteStats():
 *   { [userID]: { video:{framesDecoded, bytesReceived, packetsReceived},
 *                 audio:{packetsReceived, bytesReceived, audioLevel} } }
 * Returns {} while the page has no window.openroom yet.
 */
export function remoteStats(page) {
  return page.evaluate(async () => {
    if (!window.openroom || typeof window.openroom.remoteStats !== 'function') return {};
    return (await window.openroom.remoteStats()) ?? {};
  });
}

function metric(stats, user, kind, name) {
  const v = stats?.[user]?.[kind]?.[name];
  return typeof v === 'number' ? v : 0;
}

/**
 * Asserts that on `page`, media from every user in `userIDs` flows: between two
 * samples ~1.5 s apart, video framesDecoded and bytesReceived grew and audio
 * packetsReceived grew. Keeps sampling until that holds or `timeout` (15 s) passes.
 */
export async function assertMediaFlows(page, userIDs, { timeout = 15_000, gap = 1500, label = '' } = {}) {
  const deadline = Date.now() + timeout;
  let a = await remoteStats(page);
  for (;;) {
    await sleep(gap);
    const b = await remoteStats(page);
    const missing = [];
    for (const u of userIDs) {
      const checks = [
        ['video', 'framesDecoded'],
        ['video', 'bytesReceived'],
        ['audio', 'packetsReceived'],
      ];
      for (const [kind, name] of checks) {
        const before = metric(a, u, kind, name);
        const after = metric(b, u, kind, name);
        if (!(after > before)) missing.push(`${u}.${kind}.${name} ${before}->${after}`);
      }
    }
    if (missing.length === 0) return b;
    if (Date.now() >= deadline) {
      assert.fail(
        `${label ? label + ': ' : ''}media from ${userIDs.join(', ')} is not flowing after ${timeout} ms; ` +
          `not growing: ${missing.join('; ')}\nlast stats: ${safeJSON(b)}`,
      );
    }
    a = b;
  }
}

/**
 * Waits until every simulcast layer the page publishes is encoding at >= `fps`
 * (its uplink estimate has ramped up: on a loaded machine a publisher may send
 * only its low layer, or the top one at a few fps, for several seconds).
 * Returns the milliseconds it took.
 */
export async function waitForPublishRamp(page, { timeout = 20_000, fps = 15, label = '' } = {}) {
  const start = Date.now();
  let last = '';
  await waitFor(
    async () => {
      const layers = await page.evaluate(async () => {
        const pc = window.openroom?.publisher;
        if (!pc) return [];
        const out = [];
        (await pc.getStats()).forEach((r) => {
          if (r.type === 'outbound-rtp' && r.kind === 'video')
            out.push({ rid: r.rid ?? '', width: r.frameWidth ?? 0, fps: r.framesPerSecond ?? 0, limit: r.qualityLimitationReason });
        });
        return out;
      });
      last = JSON.stringify(layers);
      return layers.length > 0 && layers.every((l) => l.width > 0 && l.fps >= fps);
    },
    { timeout, interval: 250, message: `${label || 'publisher'}: every video layer encoding at >= ${fps} fps (last: ${last})` },
  );
  return Date.now() - start;
}

// ---------------------------------------------------------------------------
// Convenience: one server + one browser per test, cleaned up by t.after().

/**
 * const s = await setup(t, {serverArgs});  s.server, s.browser,
 * await s.member(room, user), s.diagnostics(), s.fail(err).
 * Everything is closed/killed in t.after(), whatever happens.
 */
export async function setup(t, { serverArgs = [], serverOptions = {} } = {}) {
  const members = [];
  const browsers = [];
  let server;
  const s = {
    get server() {
      return server;
    },
    browser: null,
    members,
    async member(room, user, opts) {
      const m = await openMember(opts?.browser ?? s.browser, server.url, room, user, opts);
      members.push(m);
      return m;
    },
    async extraBrowser() {
      const b = await launchBrowser();
      browsers.push(b);
      return b;
    },
    diagnostics() {
      const parts = [];
      if (server) parts.push(`--- server log (last lines) ---\n${tail(server.logs(), 150)}`);
      for (const m of members) parts.push(`--- ${m.user} page log ---\n${tail(m.logs(), 60)}`);
      return parts.join('\n');
    },
    /** Runs fn; on failure, appends server and page logs to the error. */
    async run(fn) {
      try {
        const out = await fn();
        if (process.env.OPENROOM_E2E_VERBOSE) console.log(s.diagnostics());
        return out;
      } catch (err) {
        appendToError(err, s.diagnostics());
        throw err;
      }
    },
    async cleanup() {
      for (const m of members) await m.close();
      for (const b of browsers) await closeBrowser(b);
      if (server) await server.stop();
    },
  };
  t.after(() => s.cleanup());
  server = await startServer({ args: serverArgs, ...serverOptions });
  s.browser = await launchBrowser();
  browsers.push(s.browser);
  return s;
}

function tail(text, n) {
  const lines = text.split('\n');
  return lines.slice(-n).join('\n');
}

/** A room name unique to this run. */
export function uniqueRoom(prefix) {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
}

export function median(values) {
  const v = [...values].sort((x, y) => x - y);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// ---------------------------------------------------------------------------
// Helper processes (ffmpeg, ffprobe)

/**
 * Spawns a helper process (ffmpeg, ffprobe, ...) in a process group of its own,
 * registered like servers and browsers, so it is killed when the test process
 * exits. Its stderr (and stdout, unless `stdout: 'pipe'`: then read proc.stdout
 * yourself) goes to a log ring. Returns
 *   {proc, pid, name, logs(), exited(), done, stop()}
 * where done resolves to {code, signal} once the process is gone, and stop()
 * sends SIGTERM, then SIGKILL after `grace` ms.
 */
export function spawnTracked(cmd, args, { cwd = REPO_ROOT, env = {}, stdout = 'log', name = path.basename(cmd), grace = 3000 } = {}) {
  const log = new LogRing(300);
  const proc = spawn(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group
  });
  const unregister = register({ kill: () => killGroup(proc.pid) });
  if (stdout !== 'pipe') proc.stdout.on('data', (d) => log.write(d));
  proc.stderr.on('data', (d) => log.write(d));
  let exited = null;
  const done = new Promise((resolve) => {
    const finish = (info) => {
      if (exited) return;
      exited = info;
      unregister();
      resolve(info);
    };
    proc.on('close', (code, signal) => finish({ code, signal }));
    proc.on('error', (err) => {
      log.push(`[${name} failed to start: ${err.message}]`);
      finish({ code: null, signal: null, error: err.message });
    });
  });
  return {
    proc,
    pid: proc.pid,
    name,
    logs: () => log.text(),
    exited: () => exited,
    done,
    async stop() {
      if (exited) return exited;
      killGroup(proc.pid, 'SIGTERM');
      const t = setTimeout(() => killGroup(proc.pid, 'SIGKILL'), grace);
      try {
        return await done;
      } finally {
        clearTimeout(t);
      }
    },
  };
}

// ---------------------------------------------------------------------------
// Admin page (/admin; admin/ package)

/**
 * Opens `${baseURL}/admin` in a new browser context and, unless login is false,
 * signs in with `token` (#admin-token, #admin-login). Every confirm() the page
 * asks is accepted and its text kept in `dialogs`.
 * Returns {user: 'admin', page, context, dialogs, logs(), close()}.
 */
export async function openAdmin(browser, baseURL, token, { timeout = 15_000, login = true } = {}) {
  const admin = await newMemberPage(browser, 'admin');
  const dialogs = [];
  admin.page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.accept().catch(() => {});
  });
  try {
    const res = await admin.page.goto(`${baseURL}/admin`, { waitUntil: 'domcontentloaded', timeout });
    if (res && res.status() !== 200) {
      const body = (await res.text().catch(() => '')).slice(0, 300);
      throw new Error(`GET ${baseURL}/admin answered ${res.status()}: ${safeJSON(body)} (is /admin mounted, with an admin token set?)`);
    }
    if (login) await adminLogin(admin.page, token, { timeout });
  } catch (err) {
    appendToError(err, `--- admin page log ---\n${admin.logs()}`);
    await admin.close();
    throw err;
  }
  return Object.assign(admin, { dialogs });
}

/**
 * Types `token` into #admin-token, clicks #admin-login and waits until the
 * token form is gone (signed in). Throws with #admin-error's text if it shows.
 */
export async function adminLogin(page, token, { timeout = 15_000 } = {}) {
  await page.locator('#admin-token').fill(token, { timeout });
  await page.locator('#admin-login').click({ timeout });
  const outcome = await page.waitForFunction(
    () => {
      const form = document.querySelector('#admin-token');
      const err = document.querySelector('#admin-error');
      if (err && !err.hidden && err.textContent.trim()) return { error: err.textContent.trim() };
      if (form && !form.checkVisibility()) return { ok: true };
      return false;
    },
    null,
    { timeout, polling: 100 },
  );
  const res = await outcome.jsonValue();
  if (res.error) throw new Error(`admin sign-in failed: #admin-error says ${safeJSON(res.error)}`);
}

/** Text of #admin-error when it shows, else ''. */
export function adminError(page) {
  return page.evaluate(() => {
    const e = document.querySelector('#admin-error');
    return e && !e.hidden ? e.textContent.trim() : '';
  });
}

/** userIDs the admin page lists in `room` ([data-member="{room}/{user}"]). */
export function adminMembers(page, room) {
  return page.evaluate(
    (r) =>
      [...document.querySelectorAll('[data-member]')]
        .map((el) => el.getAttribute('data-member'))
        .filter((k) => k.startsWith(`${r}/`))
        .map((k) => k.slice(r.length + 1))
        .sort(),
    room,
  );
}

/**
 * The kbit/s the admin page shows for user's tracks in room:
 * {in, out} summed over the .kbps-in / .kbps-out cells (their data-kbps).
 */
export function adminRates(page, room, user) {
  return page.evaluate(
    (key) => {
      const row = [...document.querySelectorAll('[data-member]')].find((el) => el.getAttribute('data-member') === key);
      const sum = (sel) =>
        row ? [...row.querySelectorAll(sel)].reduce((a, el) => a + (Number(el.dataset.kbps) || 0), 0) : 0;
      return { in: sum('.kbps-in'), out: sum('.kbps-out') };
    },
    `${room}/${user}`,
  );
}

// ---------------------------------------------------------------------------
// HTTPS (https, tls_cert, tls_key; cmd/openroom/tls.go)

/**
 * Writes a self-signed certificate for localhost, 127.0.0.1 and the namespace's
 * addresses (openssl), valid for 2 days, into a directory of its own under
 * BUILD_DIR. Returns {cert, key} (file paths).
 */
export async function selfSignedCert() {
  const dir = path.join(BUILD_DIR, `tls-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const ips = ['127.0.0.1', process.env.OPENROOM_TEST_IP, process.env.OPENROOM_TEST_IP2].filter(Boolean);
  const san = ['DNS:localhost', ...ips.map((ip) => `IP:${ip}`)].join(',');
  const p = spawnTracked('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', `subjectAltName=${san}`]);
  const { code, error } = await p.done;
  if (code !== 0) throw new Error(`openssl req -x509 failed (${error ?? `exit ${code}`}):\n${p.logs()}`);
  return { cert, key };
}

/**
 * Starts openroom with HTTPS as well as HTTP, each on a free port of the namespace:
 *   openroom --http 0.0.0.0:PORT --https 0.0.0.0:HTTPSPORT --tls-cert C --tls-key K
 *     --turn-tls 0.0.0.0:TLSPORT --rtc-port UDPPORT --rtmp 0.0.0.0:RTMPPORT
 *     --node-ip $OPENROOM_TEST_IP ...args
 * with a certificate from selfSignedCert() (browsers need --ignore-certificate-errors),
 * and waits until GET http://127.0.0.1:PORT/healthz answers 200 (/healthz is never
 * redirected to https). Returns startServer()'s object, whose `url` is
 * https://localhost:HTTPSPORT, plus {httpURL, httpsPort, turnTLSPort, cert, key}.
 */
export async function startHTTPSServer({ args = [], ...opts } = {}) {
  const { cert, key } = await selfSignedCert();
  const httpsPort = await freeTcpPort();
  const turnTLSPort = await freeTcpPort();
  const server = await startServer({
    ...opts,
    readyPath: '/healthz',
    readyLog: 'openroom listening https',
    args: ['--https', `0.0.0.0:${httpsPort}`, '--tls-cert', cert, '--tls-key', key,
      '--turn-tls', `0.0.0.0:${turnTLSPort}`, ...args],
  });
  return Object.assign(server, { url: `https://localhost:${httpsPort}`, httpURL: server.url, httpsPort, turnTLSPort, cert, key });
}

/**
 * A web site of the test's own on 127.0.0.1 (another port: another origin than the server),
 * answering with handler(req, res); closed in t.after(). Its url says localhost, a secure
 * context, so its pages may open the (fake) camera and microphone.
 * @returns {Promise<{url: string}>}
 */
export async function serveSite(t, handler) {
  const srv = http.createServer(handler);
  await new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  t.after(() => new Promise((resolve) => {
    srv.closeAllConnections?.();
    srv.close(() => resolve());
  }));
  return { url: `http://localhost:${srv.address().port}` };
}
