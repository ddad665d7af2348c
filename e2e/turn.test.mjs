// The bundled TURN server end to end: real Chromium members whose media goes
// through openroom's own TURN server, inside the private network namespace
// (scripts/netns-run.sh: 10.99.0.1 <-> 10.99.0.2, loopback, nothing else).
//
// Address policy in these tests: the relay addresses (node_ip 10.99.0.1) and the
// SFU (10.99.0.1:rtc-port) are private, which the TURN server refuses by default;
// the SFU's own endpoint is allowed by default (LAN and container deployments), and
// that is the only peer a member's relay talks to (clients never talk to each
// other: they all talk to the SFU). So no test here needs turn_allow.
//
//   1. relay only over UDP: both members' peer connections are forced to
//      iceTransportPolicy 'relay' (RTCPeerConnection wrapped before the page loads;
//      the SDK does not take that option); media flows both ways and every
//      selected candidate pair is a relay.
//   2. the same over TURN/TCP (only the ?transport=tcp URL kept).
//   3. a member in a network namespace of its own, behind what amounts to a
//      TCP-only firewall: it reaches only 10.98.0.1 (the host side of a veth pair)
//      over TCP (HTTP, TURN/TCP), has no route to the SFU's address 10.99.0.1, and
//      nothing on the host can send it UDP. Without forcing anything, its media
//      goes through TURN/TCP.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  requireNetns,
  buildServer,
  startServer,
  launchBrowser,
  closeBrowser,
  openMember as openMemberPage,
  assertMediaFlows,
  uniqueRoom,
  withDeadline,
  appendToError,
  CHROMIUM,
} from './harness.mjs';

before(async () => {
  requireNetns();
  await buildServer();
}, { timeout: 600_000 });

/**
 * Runs before any page script: every RTCPeerConnection gets
 * iceTransportPolicy 'relay' (opts.relay) and, with opts.transport, only the TURN
 * URLs of that transport. Records each configuration in window.__turnConfigs.
 */
function wrapPeerConnection(opts) {
  const Original = window.RTCPeerConnection;
  window.__turnConfigs = [];
  function Wrapped(config, ...rest) {
    const c = { ...(config || {}) };
    if (opts.relay) c.iceTransportPolicy = 'relay';
    if (opts.transport && Array.isArray(c.iceServers)) {
      c.iceServers = c.iceServers.map((s) => ({
        ...s,
        urls: [].concat(s.urls).filter((u) => u.endsWith(`?transport=${opts.transport}`) && u.startsWith('turn:')),
      }));
    }
    window.__turnConfigs.push(JSON.parse(JSON.stringify(c)));
    return new Original(c, ...rest);
  }
  Wrapped.prototype = Original.prototype;
  Object.setPrototypeOf(Wrapped, Original); // static generateCertificate
  window.RTCPeerConnection = Wrapped;
}

/** The selected candidate pair of the SDK's publisher and subscriber connections. */
function selectedPairs(page) {
  return page.evaluate(async () => {
    const describe = (c) =>
      c && { type: c.candidateType, address: c.address, port: c.port, protocol: c.protocol, relayProtocol: c.relayProtocol, url: c.url };
    const out = {};
    for (const name of ['publisher', 'subscriber']) {
      const pc = window.openroom?.[name];
      if (!pc) continue;
      const stats = await pc.getStats();
      let pair = null;
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
      });
      if (!pair) {
        stats.forEach((s) => {
          if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
        });
      }
      out[name] = pair && {
        state: pair.state,
        local: describe(stats.get(pair.localCandidateId)),
        remote: describe(stats.get(pair.remoteCandidateId)),
      };
    }
    return out;
  });
}

/** Opens a member page (optionally with the RTCPeerConnection wrapper) and waits for "connected". */
function openMember(browser, baseURL, room, user, wrap) {
  return openMemberPage(browser, baseURL, room, user, { initScript: wrap ? [wrapPeerConnection, wrap] : undefined });
}

/** Asserts both SDK connections of `member` selected a relay candidate (over `relayProtocol`). */
async function assertRelayed(member, relayProtocol) {
  const pairs = await selectedPairs(member.page);
  for (const name of ['publisher', 'subscriber']) {
    const p = pairs[name];
    assert.ok(p && p.local, `${member.user} ${name}: no selected candidate pair (${JSON.stringify(pairs)})`);
    assert.equal(p.local.type, 'relay', `${member.user} ${name}: local candidate type (pair ${JSON.stringify(p)})`);
    if (relayProtocol) {
      assert.equal(p.local.relayProtocol, relayProtocol, `${member.user} ${name}: relay protocol (pair ${JSON.stringify(p)})`);
    }
  }
  return pairs;
}

/** The TURN entry of the first RTCPeerConnection configuration the page made. */
async function turnConfig(page) {
  const configs = await page.evaluate(() => window.__turnConfigs ?? []);
  return configs[0]?.iceServers?.find((s) => [].concat(s.urls).some((u) => u.startsWith('turn:')));
}

for (const { name, transport } of [
  { name: 'udp', transport: 'udp' },
  { name: 'tcp', transport: 'tcp' },
]) {
  test(`relay only over TURN/${name}: media flows both ways through the bundled TURN`, { timeout: 120_000 }, async (t) => {
    const server = await startServer({ args: ['--turn', '0.0.0.0:0', '--log-level', 'debug'] });
    let browser;
    const members = [];
    t.after(async () => {
      for (const m of members) await m.close();
      await closeBrowser(browser);
      await server.stop();
    });
    try {
      await withDeadline(110_000, `relay over ${name}`, async () => {
        browser = await launchBrowser();
        const room = uniqueRoom(`turn-${name}`);
        const wrap = { relay: true, transport };
        members.push(await openMember(browser, server.url, room, 'alice', wrap));
        members.push(await openMember(browser, server.url, room, 'bob', wrap));
        const [alice, bob] = members;

        const ice = await turnConfig(alice.page);
        assert.ok(ice, `alice's RTCPeerConnection got no TURN server: ${JSON.stringify(await alice.page.evaluate(() => window.__turnConfigs))}`);
        assert.match([].concat(ice.urls).join(' '), new RegExp(`^turn:${process.env.OPENROOM_TEST_IP}:\\d+\\?transport=${transport}$`));
        assert.match(ice.username, /^\d+:alice$/, 'TURN REST username expiry:userID');
        assert.ok(ice.credential, 'TURN credential');

        await assertMediaFlows(alice.page, ['bob'], { timeout: 30_000, label: 'alice receiving' });
        await assertMediaFlows(bob.page, ['alice'], { timeout: 30_000, label: 'bob receiving' });
        const pairs = await assertRelayed(alice, transport);
        await assertRelayed(bob, transport);
        // Relays are on the node IP, from the default relay port range.
        assert.equal(pairs.publisher.local.address, process.env.OPENROOM_TEST_IP, 'relay address');
        assert.ok(pairs.publisher.local.port >= 49152 && pairs.publisher.local.port <= 65535, `relay port ${pairs.publisher.local.port}`);
        const logs = server.logs();
        for (const user of ['alice', 'bob']) {
          assert.match(logs, new RegExp(`turn: allocation.*transport=${transport} user=${user}`), `server log: ${user} allocated over ${transport}`);
        }
        assert.doesNotMatch(logs, /turn: peer refused/, 'no peer refused');
      });
    } catch (err) {
      appendToError(err, `--- server log ---\n${server.logs().split('\n').slice(-150).join('\n')}`);
      for (const m of members) appendToError(err, `--- ${m.user} page log ---\n${m.logs()}`);
      throw err;
    }
  });
}

// ---------------------------------------------------------------------------
// A member in a network namespace of its own.

const ISOLATED_HOST_IP = '10.98.0.1'; // our side of the veth pair
const ISOLATED_CLIENT_IP = '10.98.0.2';
const ISOLATED_TABLE = 198; // routing table for replies from ISOLATED_HOST_IP

/**
 * Writes a wrapper that starts Chromium in a new network namespace joined to ours
 * only by a veth pair (ours 10.98.0.1/24, its 10.98.0.2/24): from there 10.99.0.0/24
 * (the SFU) is unreachable. Our side routes 10.98.0.0/24 only for packets from
 * 10.98.0.1 (policy routing): TCP connections the client opens to 10.98.0.1 work,
 * while sockets bound to the wildcard address (the SFU's UDP port, TURN over UDP)
 * have no route to the client, as behind a firewall that lets only TCP out. No
 * iptables needed (the namespace's kernel may have no netfilter or tc modules).
 * The wrapper keeps its pid through unshare and exec, so Playwright's pipe and kill
 * work as usual; when Chromium exits, its namespace and the veth pair go with it.
 */
function writeIsolatedChromium(dir) {
  const file = path.join(dir, 'chromium-isolated.sh');
  writeFileSync(
    file,
    `#!/usr/bin/env bash
set -euo pipefail
if [[ "\${1:-}" == "--inner" ]]; then
  shift
  ip link set lo up
  for _ in $(seq 1 100); do ip link show orc0 >/dev/null 2>&1 && break; sleep 0.05; done
  ip addr add ${ISOLATED_CLIENT_IP}/24 dev orc0
  ip link set orc0 up
  exec ${CHROMIUM} "$@"
fi
me=$$
outer="$(readlink /proc/$me/ns/net)"
(
  for _ in $(seq 1 100); do
    [[ "$(readlink /proc/$me/ns/net 2>/dev/null)" != "$outer" ]] && break
    sleep 0.05
  done
  ip link add orh$me type veth peer name orc0 netns $me
  # No route to 10.98.0.0/24 in the main table: only traffic from 10.98.0.1 (TCP
  # connections the client opened to it) goes back; wildcard UDP sockets (the SFU,
  # TURN over UDP) cannot send to the client at all.
  ip addr add ${ISOLATED_HOST_IP}/24 dev orh$me noprefixroute
  ip link set orh$me up
  ip route add 10.98.0.0/24 dev orh$me src ${ISOLATED_HOST_IP} table ${ISOLATED_TABLE}
  ip rule add from ${ISOLATED_HOST_IP} table ${ISOLATED_TABLE}
) 2>>"$0.log" &
exec unshare --net -- "$0" --inner "$@"
`,
  );
  chmodSync(file, 0o755);
  return file;
}

/**
 * Launches the isolated Chromium (harness.launchBrowser through the wrapper); returns {browser, close()}.
 * `origin` (http://10.98.0.1:port) is treated as secure: camera and microphone
 * need a secure context, which plain http only is on localhost.
 */
async function launchIsolatedBrowser(wrapper, origin) {
  const browser = await launchBrowser({ executablePath: wrapper, args: [`--unsafely-treat-insecure-origin-as-secure=${origin}`] });
  return { browser, close: () => closeBrowser(browser) };
}

test('a member that reaches only TURN over TCP gets media through it', { timeout: 150_000 }, async (t) => {
  if (spawnSync('unshare', ['--version']).status !== 0 || spawnSync('ip', ['-V']).status !== 0) {
    t.skip('needs unshare and ip (util-linux, iproute2)');
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'openroom-turn-'));
  const wrapper = writeIsolatedChromium(dir);
  // TURN URLs name the host side of the veth pair, which both members reach; the SFU
  // still announces node_ip 10.99.0.1, which only the ordinary member reaches.
  const server = await startServer({ args: ['--turn', '0.0.0.0:0', '--turn-host', ISOLATED_HOST_IP, '--log-level', 'debug'] });
  let browser;
  let isolated;
  const members = [];
  t.after(async () => {
    for (const m of members) await m.close();
    if (isolated) await isolated.close();
    await closeBrowser(browser);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    // The policy routing rule lives in our namespace: remove it (the veth and its
    // routes went with the browser).
    while (spawnSync('ip', ['rule', 'del', 'from', ISOLATED_HOST_IP, 'table', String(ISOLATED_TABLE)]).status === 0);
  });
  try {
    await withDeadline(140_000, 'isolated member', async () => {
      const hostURL = `http://${ISOLATED_HOST_IP}:${server.port}`;
      // The isolated browser's veth pair and routes first: a Chromium already running
      // here sees them appear as a network change (ERR_NETWORK_CHANGED), drops its loads
      // and ICE, and its member stays "connecting" (seen twice in the suite).
      isolated = await launchIsolatedBrowser(wrapper, hostURL);
      browser = await launchBrowser();
      const room = uniqueRoom('turn-isolated');
      members.push(await openMember(browser, server.url, room, 'alice', { relay: false }));
      members.push(await openMember(isolated.browser, hostURL, room, 'bob', { relay: false }));
      const [alice, bob] = members;

      // From bob's namespace the SFU's address is unreachable; the host side answers.
      const reach = await bob.page.evaluate(async ({ sfu, host }) => {
        const probe = async (url) => {
          try {
            await fetch(url, { signal: AbortSignal.timeout(5000), cache: 'no-store' });
            return 'reached';
          } catch (err) {
            return `failed: ${err.message}`;
          }
        };
        return { sfu: await probe(sfu), host: await probe(host) };
      }, { sfu: `http://${process.env.OPENROOM_TEST_IP}:${server.port}/`, host: `${hostURL}/` });
      assert.match(reach.sfu, /^failed/, `bob reaching the SFU's address directly: ${reach.sfu}`);
      assert.equal(reach.host, 'reached', `bob reaching ${hostURL}`);

      await assertMediaFlows(alice.page, ['bob'], { timeout: 30_000, label: 'alice receiving from the isolated bob' });
      await assertMediaFlows(bob.page, ['alice'], { timeout: 30_000, label: 'isolated bob receiving' });
      const pairs = await assertRelayed(bob, 'tcp');
      assert.equal(pairs.publisher.remote.address, process.env.OPENROOM_TEST_IP, 'bob talks to the SFU (through the relay)');
      const logs = server.logs();
      assert.match(logs, /turn: allocation.*transport=tcp user=bob/, 'server log: bob allocated over TCP');
      // The isolation holds: TURN over UDP could not answer bob, so no UDP allocation.
      assert.doesNotMatch(logs, /turn: allocation.*transport=udp user=bob/, 'server log: no UDP allocation for bob');
    });
  } catch (err) {
    appendToError(err, `--- server log ---\n${server.logs().split('\n').slice(-150).join('\n')}`);
    for (const m of members) appendToError(err, `--- ${m.user} page log ---\n${m.logs()}`);
    try {
      appendToError(err, `--- namespace setup log ---\n${readFileSync(`${wrapper}.log`, 'utf8')}`);
    } catch {}
    throw err;
  }
});
