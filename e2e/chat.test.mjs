// In-room chat end-to-end, through the demo room page (web/static/js/room.js)
// against the real server (docs/protocol.md, "In-room chat").
//
// Demo chat contract: #toggle-chat opens/closes the panel (body.chat-open; closed at
// first); #chat-unread counts others' messages that arrived while it was closed;
// #chat-list li[data-msg-id] one per message, data-from = sender userID, .chat-from =
// sender's name, .chat-text, class chat-private for private ones; #chat-input +
// #chat-send (or Enter) sends to #chat-to ("" = everyone, else a userID).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireNetns, buildServer, setup, uniqueRoom, waitFor, withDeadline } from './harness.mjs';

before(async () => {
  requireNetns();
  await buildServer();
}, { timeout: 600_000 });

/** The messages in #chat-list, in page order. */
function chatMessages(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('#chat-list li[data-msg-id]')].map((li) => ({
      id: Number(li.getAttribute('data-msg-id')),
      from: li.getAttribute('data-from'),
      name: li.querySelector('.chat-from')?.textContent ?? '',
      text: li.querySelector('.chat-text')?.textContent ?? '',
      private: li.classList.contains('chat-private'),
      to: li.getAttribute('data-to'),
    })),
  );
}

/** The unread badge: {shown, count}. */
function unread(page) {
  return page.evaluate(() => {
    const b = document.querySelector('#chat-unread');
    if (!b) return { shown: false, count: -1 };
    const shown = !b.hidden && getComputedStyle(b).display !== 'none';
    return { shown, count: Number(b.textContent) };
  });
}

function chatIsOpen(page) {
  return page.evaluate(() => {
    const p = document.querySelector('#chat-panel');
    return !!p && getComputedStyle(p).display !== 'none';
  });
}

async function openChat(page) {
  if (!(await chatIsOpen(page))) await page.locator('#toggle-chat').click();
  await waitFor(() => chatIsOpen(page), { timeout: 5000, message: 'the chat panel to open' });
}

async function closeChat(page) {
  if (await chatIsOpen(page)) await page.locator('#toggle-chat').click();
  await waitFor(async () => !(await chatIsOpen(page)), { timeout: 5000, message: 'the chat panel to close' });
}

/**
 * Types `text` into #chat-input and sends it by clicking #chat-send (or pressing
 * Enter), optionally to one member via #chat-to. Waits until the page shows it.
 */
async function say(member, text, { to = '', enter = false } = {}) {
  const { page } = member;
  await openChat(page);
  await page.locator('#chat-to').selectOption(to);
  await page.locator('#chat-input').fill(text);
  if (enter) await page.locator('#chat-input').press('Enter');
  else await page.locator('#chat-send').click();
  await waitFor(
    async () => (await chatMessages(page)).some((m) => m.text === text && m.from === member.user),
    { timeout: 5000, message: `${member.user}'s own message "${text}" in its #chat-list` },
  ).catch(async (err) => {
    const banner = await page.evaluate(() => document.querySelector('#banner')?.textContent?.trim() ?? '');
    throw new Error(`${err.message}; #banner: ${JSON.stringify(banner)}`);
  });
  assert.equal(await page.locator('#chat-input').inputValue(), '', `${member.user}'s #chat-input is cleared after sending`);
}

/** Waits until `member`'s #chat-list has a message `text` from `from`; returns it. */
async function waitForMessage(member, from, text, timeout = 5000) {
  return waitFor(
    async () => (await chatMessages(member.page)).find((m) => m.text === text && m.from === from),
    { timeout, message: `"${text}" from ${from} in ${member.user}'s #chat-list` },
  );
}

test('two members chat both ways through the demo UI', { timeout: 90_000 }, async (t) => {
  const s = await setup(t);
  await s.run(() =>
    withDeadline(85_000, 'chat both ways', async () => {
      const room = uniqueRoom('chat');
      const alice = await s.member(room, 'alice');
      const bob = await s.member(room, 'bob');
      await openChat(alice.page);
      await openChat(bob.page);

      await say(alice, 'hello bob, can you hear me?');
      const got = await waitForMessage(bob, 'alice', 'hello bob, can you hear me?');
      assert.equal(got.name, 'alice', "bob sees alice's name as the sender");
      assert.equal(got.private, false);

      await say(bob, 'loud and clear 👍 <b>not bold</b>', { enter: true });
      const back = await waitForMessage(alice, 'bob', 'loud and clear 👍 <b>not bold</b>');
      assert.equal(back.name, 'bob', "alice sees bob's name as the sender");
      assert.equal(
        await alice.page.evaluate(() => document.querySelectorAll('#chat-list b').length),
        0,
        'message text is shown as text, not HTML',
      );

      // Same order on both pages, ids increasing.
      for (const m of [alice, bob]) {
        const list = await chatMessages(m.page);
        assert.deepEqual(
          list.map((x) => `${x.from}: ${x.text}`),
          ['alice: hello bob, can you hear me?', 'bob: loud and clear 👍 <b>not bold</b>'],
          `${m.user}'s #chat-list`,
        );
        assert.ok(list[0].id < list[1].id, `${m.user}: ids increase (${list[0].id}, ${list[1].id})`);
      }
      // Both panels were open: no unread count anywhere.
      for (const m of [alice, bob]) assert.equal((await unread(m.page)).shown, false, `${m.user}'s #chat-unread hidden`);
    }),
  );
});

test('unread badge counts messages while the chat is closed', { timeout: 90_000 }, async (t) => {
  const s = await setup(t);
  await s.run(() =>
    withDeadline(85_000, 'unread badge', async () => {
      const room = uniqueRoom('unread');
      const alice = await s.member(room, 'alice');
      const bob = await s.member(room, 'bob');
      assert.equal(await chatIsOpen(bob.page), false, "bob's chat starts closed");
      assert.deepEqual(await unread(bob.page), { shown: false, count: 0 }, "bob's badge before any message");

      for (const text of ['one', 'two', 'three']) {
        await say(alice, text);
        await waitForMessage(bob, 'alice', text); // delivered to the (closed) list
      }
      await waitFor(async () => (await unread(bob.page)).count === 3, { timeout: 5000, message: "bob's #chat-unread to say 3" });
      assert.equal((await unread(bob.page)).shown, true, "bob's #chat-unread is visible");
      assert.equal((await unread(alice.page)).shown, false, 'own messages are not unread');

      await openChat(bob.page);
      assert.deepEqual(await unread(bob.page), { shown: false, count: 0 }, 'opening the chat clears the badge');
      const list = await chatMessages(bob.page);
      assert.deepEqual(list.map((m) => m.text), ['one', 'two', 'three']);

      // Messages while it is open do not count; after closing, they do again.
      await say(alice, 'four');
      await waitForMessage(bob, 'alice', 'four');
      assert.equal((await unread(bob.page)).shown, false, 'no badge while the chat is open');
      await closeChat(bob.page);
      await say(alice, 'five');
      await waitFor(async () => (await unread(bob.page)).count === 1, { timeout: 5000, message: "bob's #chat-unread to say 1" });
    }),
  );
});

const SECRET = 'e2e-chat-secret-0123456789';

test('a late joiner sees the history; private messages stay private and are marked', { timeout: 120_000 }, async (t) => {
  const s = await setup(t, { serverArgs: ['--secret', SECRET] });
  await s.run(() =>
    withDeadline(115_000, 'history', async () => {
      const room = uniqueRoom('history');
      const alice = await s.member(room, 'alice');
      const bob = await s.member(room, 'bob');
      await openChat(bob.page);

      await say(alice, 'first message');
      await say(bob, 'second message');
      await say(alice, 'just between us', { to: 'bob' });
      await say(alice, 'third message', { enter: true });
      // An operator's system message (POST /api/rooms/{room}/messages) is part of it too.
      const posted = await fetch(`${s.server.url}/api/rooms/${room}/messages`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${SECRET}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ text: 'the room closes at 18:00' }),
      }).then((r) => r.json());
      assert.equal(posted.code, 0, JSON.stringify(posted));
      const sys = await waitForMessage(bob, '', 'the room closes at 18:00');
      assert.equal(
        await bob.page.evaluate((id) => document.querySelector(`#chat-list li[data-msg-id="${id}"]`)?.classList.contains('chat-system'), sys.id),
        true,
        'a system message is shown as such',
      );

      const secret = await waitForMessage(bob, 'alice', 'just between us');
      assert.equal(secret.private, true, 'the private message is marked on the receiver');
      assert.equal(secret.to, 'bob');
      const mine = (await chatMessages(alice.page)).find((m) => m.text === 'just between us');
      assert.equal(mine?.private, true, 'the private message is marked on the sender');
      await waitForMessage(bob, 'alice', 'third message');

      // carol arrives after all that: the earlier public messages are in her list,
      // in order, with the right senders; the private one is not.
      const carol = await s.member(room, 'carol');
      await waitFor(async () => (await chatMessages(carol.page)).length >= 4, {
        timeout: 10_000,
        message: "the history in carol's #chat-list",
      });
      assert.deepEqual(await unread(carol.page), { shown: false, count: 0 }, 'history does not count as unread');
      await openChat(carol.page);
      const history = await chatMessages(carol.page);
      assert.deepEqual(
        history.map((m) => `${m.from}/${m.name}: ${m.text}`),
        ['alice/alice: first message', 'bob/bob: second message', 'alice/alice: third message', `/${sys.name}: the room closes at 18:00`],
        "carol's #chat-list after joining",
      );

      // And she takes part: everyone gets her message.
      await say(carol, 'hi all, sorry I am late');
      for (const m of [alice, bob]) await waitForMessage(m, 'carol', 'hi all, sorry I am late');
      // A private message to bob reaches bob, not carol.
      await say(alice, 'psst bob', { to: 'bob' });
      await waitForMessage(bob, 'alice', 'psst bob');
      await say(bob, 'after the psst');
      await waitForMessage(carol, 'bob', 'after the psst');
      assert.equal(
        (await chatMessages(carol.page)).some((m) => m.text === 'psst bob'),
        false,
        'carol never sees the private message',
      );
    }),
  );
});

test('SDK: sendMessage resolves with the echo, rejects on errors; sendData', { timeout: 90_000 }, async (t) => {
  const s = await setup(t);
  await s.run(() =>
    withDeadline(85_000, 'sdk chat', async () => {
      const room = uniqueRoom('sdkchat');
      const alice = await s.member(room, 'alice');
      const bob = await s.member(room, 'bob');
      await bob.page.evaluate(() => {
        window.got = [];
        window.openroom.on('message', (m) => window.got.push(m));
      });

      const echo = await alice.page.evaluate(() => window.openroom.sendMessage('hi', { data: { n: 1 } }));
      assert.equal(echo.from, 'alice');
      assert.equal(echo.text, 'hi');
      assert.deepEqual(echo.data, { n: 1 });
      assert.equal(echo.self, true);
      assert.equal(echo.history, false);
      assert.equal(typeof echo.id, 'number');
      assert.equal(typeof echo.time, 'number');

      const data = await alice.page.evaluate(() => window.openroom.sendData({ cursor: [3, 4] }, { to: 'bob' }));
      assert.deepEqual(data.data, { cursor: [3, 4] });
      assert.equal(data.to, 'bob');

      const seen = await waitFor(
        async () => {
          const list = await bob.page.evaluate(() => window.got);
          return list.length >= 2 ? list : null;
        },
        { timeout: 5000, message: 'bob to get both messages' },
      );
      assert.equal(seen[0].id, echo.id);
      assert.equal(seen[0].self, false);
      assert.equal(seen[0].nickName, 'alice');
      assert.deepEqual(seen[1].data, { cursor: [3, 4] });
      assert.equal(seen[1].to, 'bob');

      // Errors answer the send they belong to, and the socket stays usable.
      const err = await alice.page.evaluate(() =>
        window.openroom.sendMessage('anyone?', { to: 'nobody-here' }).then(
          () => null,
          (e) => ({ code: e.code, ref: e.ref, message: e.message }),
        ),
      );
      assert.ok(err, 'sendMessage to a member not in the room rejects');
      assert.equal(err.code, 3, `error code (${err.message})`);
      assert.equal(err.ref, 'chat');
      const tooLong = await alice.page.evaluate(() =>
        window.openroom.sendMessage('x'.repeat(5000)).then(
          () => null,
          (e) => ({ code: e.code, message: e.message }),
        ),
      );
      assert.equal(tooLong?.code, 4130, `a 5000-byte message is refused (${tooLong?.message})`);
      const after = await alice.page.evaluate(() => window.openroom.sendMessage('still here').then((m) => m.text));
      assert.equal(after, 'still here');
      assert.equal(await alice.page.evaluate(() => window.openroom.state), 'connected');
    }),
  );
});
