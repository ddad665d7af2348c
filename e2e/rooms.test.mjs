// Rooms end-to-end: real Chromium members (fake camera + mic) against the real
// openroom server, all inside the private network namespace (scripts/netns-run.sh).
//
// Demo contract (web/): /r/{room}?user={userID} joins at once with camera+mic;
// window.openroom is the SDK Room; #state is connecting|connected|reconnecting|
// disconnected; each remote member has a tile [data-user="{userID}"] with a
// <video>; #members li[data-user] lists members (self included); #banner shows
// kick reasons / errors; buttons #leave #mute-audio #mute-video #copy-link.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  requireNetns,
  buildServer,
  setup,
  uniqueRoom,
  assertMediaFlows,
  waitFor,
  waitForState,
  tileCount,
  memberList,
  stateOf,
  remoteStats,
  killBrowser,
  freezeBrowser,
  newMemberPage,
  memberURL,
  median,
  withDeadline,
  waitForTiles,
} from './harness.mjs';

before(async () => {
  requireNetns();
  await buildServer(); // first build can take a while on 2 cores; not part of any test's deadline
}, { timeout: 600_000 });

test('two members: each sees and hears the other', { timeout: 90_000 }, async (t) => {
  const s = await setup(t);
  await s.run(() =>
    withDeadline(85_000, 'two members', async () => {
      const room = uniqueRoom('two');
      const alice = await s.member(room, 'alice');
      const bob = await s.member(room, 'bob');
      await waitForTiles(alice.page, ['bob']);
      await waitForTiles(bob.page, ['alice']);
      await assertMediaFlows(alice.page, ['bob'], { label: 'alice receiving' });
      await assertMediaFlows(bob.page, ['alice'], { label: 'bob receiving' });
      const list = (await memberList(alice.page)).sort();
      assert.deepEqual(list, ['alice', 'bob'], `alice's #members list`);
    }),
  );
});

test('four members: each sees all three others', { timeout: 150_000 }, async (t) => {
  const s = await setup(t);
  await s.run(() =>
    withDeadline(145_000, 'four members', async () => {
      const room = uniqueRoom('four');
      const users = ['alice', 'bob', 'carol', 'dave'];
      const members = [];
      for (const u of users) members.push(await s.member(room, u));
      // Each page is checked on its own; side by side they take one check's time, not four.
      const others = (m) => users.filter((u) => u !== m.user);
      await Promise.all(members.map((m) => waitForTiles(m.page, others(m), 20_000)));
      await Promise.all(members.map((m) => assertMediaFlows(m.page, others(m), { label: `${m.user} receiving`, timeout: 20_000 })));
    }),
  );
});

test('clean leave: the tile disappears from the others within 2 s', { timeout: 90_000 }, async (t) => {
  const s = await setup(t);
  await s.run(() =>
    withDeadline(85_000, 'clean leave', async () => {
      const room = uniqueRoom('leave');
      const alice = await s.member(room, 'alice');
      const bob = await s.member(room, 'bob');
      const carol = await s.member(room, 'carol');
      for (const m of [alice, bob]) await waitForTiles(m.page, ['carol']);
      await assertMediaFlows(alice.page, ['carol'], { label: 'alice receiving carol' });

      // Playwright's actionability checks (visible, stable, enabled, not covered)
      // first, with a trial click; then the click itself, timed without them
      // (they took up to ~0.8 s on a busy 2-core machine).
      await carol.page.locator('#leave').click({ trial: true, timeout: 5000 });
      const t0 = performance.now();
      await carol.page.locator('#leave').evaluate((b) => b.click());
      for (const m of [alice, bob]) {
        await waitFor(async () => (await tileCount(m.page, 'carol')) === 0, {
          timeout: Math.max(100, 2000 - (performance.now() - t0)),
          interval: 50,
          message: `carol's tile to disappear from ${m.user}'s page within 2 s of #leave`,
        });
      }
      const ms = Math.round(performance.now() - t0);
      console.log(`clean leave: tile gone from both others after ${ms} ms`);
      for (const m of [alice, bob]) {
        await waitFor(async () => !(await memberList(m.page)).includes('carol'), {
          timeout: 2000,
          interval: 50,
          message: `carol to leave ${m.user}'s #members list`,
        });
      }
      // The two who stayed still see each other.
      await assertMediaFlows(alice.page, ['bob'], { label: 'alice receiving bob after carol left' });
    }),
  );
});

// Both wait out the member timeout with nothing else to do, each with its own server and
// browsers: they run side by side. 10 s, half the default (20 s): the mechanism is the same,
// and the suite's 20-minute budget is tight.
describe('a member that vanishes', { concurrency: 2 }, () => {
  test('killed tab: its tile disappears from the others within 15 s', { timeout: 120_000 }, async (t) => {
    const s = await setup(t, { serverArgs: ['--member-timeout', '10s'] });
    await s.run(() =>
      withDeadline(115_000, 'killed tab', async () => {
        const room = uniqueRoom('kill');
        const alice = await s.member(room, 'alice');
        const bob = await s.member(room, 'bob');
        // dave runs in a Chromium process of his own, so it can be SIGKILLed.
        const daveBrowser = await s.extraBrowser();
        await s.member(room, 'dave', { browser: daveBrowser });
        for (const m of [alice, bob]) await waitForTiles(m.page, ['dave']);
        // A precondition, not the bound under test: with the frozen-tab test's browsers
        // beside it on 2 cores, dave once took 7 s to publish after joining.
        await assertMediaFlows(alice.page, ['dave'], { label: 'alice receiving dave', timeout: 30_000 });

        const t0 = performance.now();
        killBrowser(daveBrowser);
        for (const m of [alice, bob]) {
          await waitFor(async () => (await tileCount(m.page, 'dave')) === 0, {
            timeout: Math.max(100, 15_000 - (performance.now() - t0)),
            interval: 100,
            message: `dave's tile to disappear from ${m.user}'s page within 15 s of SIGKILL`,
          });
        }
        const ms = Math.round(performance.now() - t0);
        const why = s.server.logs().split('\n').find((l) => /member left/.test(l) && /dave/.test(l)) ?? '(no log line)';
        console.log(`killed tab: tile gone from both others after ${ms} ms; server: ${why}`);
        assert.equal(await stateOf(alice.page), 'connected');
        await assertMediaFlows(alice.page, ['bob'], { label: 'alice receiving bob after dave was killed' });
      }),
    );
  });

  test('frozen tab (no socket close, no pongs): removed by the member timeout within 15 s', { timeout: 120_000 }, async (t) => {
    // No TURN: the killed-tab test's server, beside it, has the default TURN port.
    const s = await setup(t, { serverArgs: ['--member-timeout', '10s', '--turn', ''] });
    await s.run(() =>
      withDeadline(115_000, 'frozen tab', async () => {
        const room = uniqueRoom('freeze');
        const alice = await s.member(room, 'alice');
        const eveBrowser = await s.extraBrowser();
        await s.member(room, 'eve', { browser: eveBrowser });
        await waitForTiles(alice.page, ['eve']);
        await assertMediaFlows(alice.page, ['eve'], { label: 'alice receiving eve' });

        const t0 = performance.now();
        freezeBrowser(eveBrowser);
        try {
          await waitFor(async () => (await tileCount(alice.page, 'eve')) === 0, {
            timeout: 15_000,
            interval: 200,
            message: "eve's tile to disappear from alice's page within 15 s of SIGSTOP (member timeout 10 s)",
          });
        } finally {
          killBrowser(eveBrowser);
        }
        const ms = Math.round(performance.now() - t0);
        const why = s.server.logs().split('\n').find((l) => /member left/.test(l) && /eve/.test(l)) ?? '(no log line)';
        console.log(`frozen tab: tile gone after ${ms} ms (member timeout 10 s); server: ${why}`);
        assert.equal(await stateOf(alice.page), 'connected');
      }),
    );
  });
});

test('duplicate login kicks the first tab', { timeout: 90_000 }, async (t) => {
  const s = await setup(t);
  await s.run(() =>
    withDeadline(85_000, 'duplicate login', async () => {
      const room = uniqueRoom('dup');
      const first = await s.member(room, 'alice');
      const second = await s.member(room, 'alice');
      await waitForState(first.page, 'disconnected', { timeout: 10_000 });
      await waitFor(
        async () =>
          /logged in elsewhere/i.test(
            (await first.page.evaluate(() => document.querySelector('#banner')?.textContent ?? '')) || '',
          ),
        { timeout: 5000, message: "first tab's #banner to contain 'logged in elsewhere'" },
      );
      assert.equal(await stateOf(second.page), 'connected');
      // It stays kicked (no auto-reconnect that would kick the second tab back).
      await sleep(3000);
      assert.equal(await stateOf(first.page), 'disconnected', 'first tab reconnected after being kicked');
      assert.equal(await stateOf(second.page), 'connected', 'second tab lost its connection');
    }),
  );
});

// One run in the test suite; OPENROOM_E2E_MEASURE=1 makes it the 5-run measurement of
// docs/benchmarks.md.
const FIRST_FRAME_RUNS = process.env.OPENROOM_E2E_MEASURE === '1' ? 5 : 1;

test(`time to first remote frame (${FIRST_FRAME_RUNS} run${FIRST_FRAME_RUNS > 1 ? 's' : ''})`, { timeout: 240_000 }, async (t) => {
  const s = await setup(t);
  await s.run(() =>
    withDeadline(235_000, 'first frame', async () => {
      const values = [];
      for (let i = 0; i < FIRST_FRAME_RUNS; i++) {
        const room = uniqueRoom(`ttff${i}`);
        const host = await s.member(room, 'host');
        // Give the host's publisher a moment to be up before the joiner arrives.
        await sleep(1000);
        const joiner = await newMemberPage(s.browser, 'joiner');
        s.members.push(joiner);
        const t0 = performance.now();
        await joiner.page.goto(memberURL(s.server.url, room, 'joiner'), { waitUntil: 'commit', timeout: 15_000 });
        let ms;
        await waitFor(
          async () => {
            const st = await remoteStats(joiner.page);
            if ((st?.host?.video?.framesDecoded ?? 0) > 0) {
              ms = Math.round(performance.now() - t0);
              return true;
            }
            return false;
          },
          { timeout: 15_000, interval: 50, message: `run ${i + 1}: joiner's first decoded frame from host` },
        );
        assert.ok(ms < 15_000, `run ${i + 1}: first frame after ${ms} ms`);
        values.push(ms);
        await joiner.close();
        await host.close();
      }
      console.log(`first-frame-ms median=${median(values)} runs=[${values.join(',')}]`);
    }),
  );
});
