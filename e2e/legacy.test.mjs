// The legacy web SDK surface, served by openroom: a page written the way the old
// tutorials did (jQuery, get_login_info / create_room / enter_room over $.ajax,
// `new WebRTCAPI(...)`, createRoom in onReady, <video id="localVideo"> and
// <video id="remoteVideo">) works by pointing its <script src> at
// http://{openroom}/sdk/WebRTCAPI.min.js, from a page on ANOTHER origin
// (a small static server in this test, on another port).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireNetns, buildServer, setup, waitFor, withDeadline, newMemberPage, REPO_ROOT, serveSite } from './harness.mjs';

before(async () => {
  requireNetns();
  await buildServer();
}, { timeout: 600_000 });

const JQUERY = readFileSync(path.join(REPO_ROOT, 'node_modules/jquery/dist/jquery.min.js'));

/**
 * The legacy page. Query: ?user=ID&mode=create  or  ?user=ID&mode=enter&room=NUMBER.
 * Everything it learns goes to window.events (for the test) and the console.
 */
function legacyHTML(openroom) {
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>video call</title>
<script src="/js/jquery.min.js"></script>
<script src="${openroom}/sdk/WebRTCAPI.min.js"></script>
<style> video { width: 320px; height: 240px; background: #000; } </style>
</head>
<body>
<video id="localVideo" muted autoplay playsinline></video>
<video id="remoteVideo" muted autoplay playsinline></video>
<button id="hangup">hang up</button>
<script>
var ROOM_SERVER = '${openroom}/weapp/webrtc_room/';
var RTC, sdkAppID, accountType, userID, userSig, roomID, privateMapKey, heartbeatTimer;
var events = [];
function note(name, info) {
  events.push({ name: name, info: info || null, t: Date.now() });
  console.log('[legacy] ' + name + ' ' + JSON.stringify(info || null));
}
function query(name) {
  var m = new RegExp('[?&]' + name + '=([^&]*)').exec(location.search);
  return m ? decodeURIComponent(m[1]) : '';
}
function post(api, data, success) {
  $.ajax({
    url: ROOM_SERVER + api,
    type: 'POST',
    contentType: 'application/json',
    data: JSON.stringify(data),
    dataType: 'json',
    success: function (res) {
      if (res.code !== 0) { note('api-error', { api: api, code: res.code, message: res.message }); return; }
      success(res);
    },
    error: function (xhr, status) { note('ajax-error', { api: api, status: status }); }
  });
}

post('get_login_info', { userID: query('user') }, function (res) {
  sdkAppID = res.sdkAppID;
  accountType = res.accountType;
  userID = res.userID;
  userSig = res.userSig;
  note('login', { userID: userID, sdkAppID: sdkAppID });
  if (query('mode') === 'create') {
    post('create_room', { userID: userID, nickName: userID, roomInfo: 'legacy call' }, function (r) {
      roomID = r.roomID;
      privateMapKey = r.privateMapKey;
      window.createdRoomID = roomID;
      startHeartbeat();
      getApi();
    });
  } else {
    post('enter_room', { userID: userID, nickName: userID, roomID: Number(query('room')) }, function (r) {
      roomID = r.roomID;
      privateMapKey = r.privateMapKey;
      startHeartbeat();
      getApi();
    });
  }
});

function startHeartbeat() {
  heartbeatTimer = setInterval(function () {
    post('heartbeat', { userID: userID, roomID: roomID }, function () {});
  }, 7000);
}

function getApi() {
  RTC = new WebRTCAPI({
    sdkAppId: sdkAppID,
    openid: userID,
    userSig: userSig,
    accountType: accountType
  }, function () {
    note('ready');
    RTC.createRoom({
      roomid: roomID,
      privateMapKey: privateMapKey,
      role: 'miniwhite'
    }, function (info) {
      note('entered', info);
    }, function (err) {
      note('enter-failed', err);
    });
  }, function (error) {
    note('init-failed', error);
  });

  this.RTC.on('onLocalStreamAdd', function (info) {
    var videoElement = document.getElementById('localVideo');
    videoElement.srcObject = info.stream;
    videoElement.muted = true;
    note('onLocalStreamAdd', { tracks: info.stream.getTracks().length });
  });
  this.RTC.on('onRemoteStreamUpdate', function (info) {
    var videoElement = document.getElementById('remoteVideo');
    videoElement.srcObject = info.stream;
    videoElement.muted = false;
    note('onRemoteStreamUpdate', { userId: info.userId, videoId: info.videoId, videoType: info.videoType });
  });
  this.RTC.on('onRemoteStreamRemove', function (info) {
    note('onRemoteStreamRemove', { userId: info.userId, videoId: info.videoId });
    $('#remoteVideo').css('display', 'none');
  });
  this.RTC.on('onKickOut', function () { note('onKickOut'); });
  this.RTC.on('onKickout', function () { note('onKickout'); });
  this.RTC.on('onWebSocketClose', function () { note('onWebSocketClose'); });
  this.RTC.on('onRelayTimeout', function () { note('onRelayTimeout'); });
  this.RTC.on('onPeerConnectionAdd', function (info) { note('onPeerConnectionAdd', { type: info.type }); });
  this.RTC.on('onMuteVideo', function (info) { note('onMuteVideo', { userId: info.userId }); });
  this.RTC.on('onUnmuteVideo', function (info) { note('onUnmuteVideo', { userId: info.userId }); });
  this.RTC.on('onMuteAudio', function (info) { note('onMuteAudio', { userId: info.userId }); });
  this.RTC.on('onUnmuteAudio', function (info) { note('onUnmuteAudio', { userId: info.userId }); });
}

$('#hangup').on('click', function () {
  clearInterval(heartbeatTimer);
  RTC.quit(function () { note('quit'); }, function (err) { note('quit-failed', err); });
});
</script>
</body>
</html>
`;
}

/** A static server on 127.0.0.1 (another port = another origin): the page and jQuery. */
async function startSiteServer(t, openroomURL) {
  const html = legacyHTML(openroomURL);
  const requests = [];
  const site = await serveSite(t, (req, res) => {
    const url = new URL(req.url, 'http://x');
    requests.push(url.pathname);
    if (url.pathname === '/call.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(html);
    } else if (url.pathname === '/blank.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(`<!DOCTYPE html><html><head><meta charset="utf-8">
<script src="${openroomURL}/sdk/WebRTCAPI.min.js"></script></head>
<body><video id="remoteVideo" muted autoplay playsinline></video></body></html>`);
    } else if (url.pathname === '/js/jquery.min.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' });
      res.end(JQUERY);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  return { url: site.url, requests };
}

/** Opens the legacy page for `user` in a new browser context. */
async function openLegacy(s, site, query, user) {
  const m = await newMemberPage(s.browser, user);
  s.members.push(m); // closed, and its console shown on failure, by setup()
  await m.page.goto(`${site.url}/call.html?${new URLSearchParams({ user, ...query })}`, { waitUntil: 'domcontentloaded' });
  return m;
}

function events(page) {
  return page.evaluate(() => (window.events || []).map((e) => ({ name: e.name, info: e.info })));
}

async function waitForEvent(m, name, pred = () => true, timeout = 20_000) {
  return waitFor(
    async () => (await events(m.page)).find((e) => e.name === name && pred(e.info || {})),
    { timeout, interval: 100, message: `${m.user}'s page to note ${name}` },
  ).catch(async (err) => {
    throw new Error(`${err.message}\n${m.user}'s events: ${JSON.stringify(await events(m.page).catch(() => []))}`);
  });
}

/** #remoteVideo plays decoded frames: {src, width, height, frames before, frames after}. */
async function remoteVideoPlays(page) {
  return page.evaluate(async () => {
    const v = document.getElementById('remoteVideo');
    const frames = () => (v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0);
    const before = frames();
    await new Promise((r) => setTimeout(r, 700));
    return {
      src: !!v.srcObject,
      videoTracks: v.srcObject ? v.srcObject.getVideoTracks().length : 0,
      width: v.videoWidth,
      height: v.videoHeight,
      before,
      after: frames(),
      paused: v.paused,
    };
  });
}

async function assertRemoteVideoPlays(m) {
  let last;
  try {
    await waitFor(
      async () => {
        last = await remoteVideoPlays(m.page);
        return last.src && last.width > 0 && last.after > last.before;
      },
      { timeout: 20_000, interval: 200, message: `${m.user}'s #remoteVideo to play` },
    );
  } catch (err) {
    throw new Error(`${err.message}: ${JSON.stringify(last)}`);
  }
  return last;
}

test('legacy page on another origin: two tabs see each other, quit hides the remote video', { timeout: 120_000 }, async (t) => {
  const s = await setup(t);
  const site = await startSiteServer(t, s.server.url);
  await s.run(() =>
    withDeadline(115_000, 'legacy call', async () => {
      assert.notEqual(new URL(site.url).origin, new URL(s.server.url).origin, 'the page is on another origin');

      const alice = await openLegacy(s, site, { mode: 'create' }, 'alice');
      await waitForEvent(alice, 'entered');
      const roomID = await alice.page.evaluate(() => window.createdRoomID);
      assert.equal(typeof roomID, 'number', `create_room gave a numeric roomID (${roomID})`);
      await waitForEvent(alice, 'onLocalStreamAdd', (i) => i.tracks === 2);
      assert.equal(await alice.page.evaluate(() => !!document.getElementById('localVideo').srcObject), true, '#localVideo has the camera');

      const bob = await openLegacy(s, site, { mode: 'enter', room: String(roomID) }, 'bob');
      await waitForEvent(bob, 'entered', (i) => String(i.roomid) === String(roomID) && i.userId === 'bob');

      // Each plays the other's camera in #remoteVideo.
      await waitForEvent(alice, 'onRemoteStreamUpdate', (i) => i.userId === 'bob' && i.videoId === 'bob_main' && i.videoType === 2);
      await waitForEvent(bob, 'onRemoteStreamUpdate', (i) => i.userId === 'alice' && i.videoId === 'alice_main' && i.videoType === 2);
      const a = await assertRemoteVideoPlays(alice);
      const b = await assertRemoteVideoPlays(bob);
      console.log(`legacy: alice plays bob ${a.width}x${a.height} (+${a.after - a.before} frames), bob plays alice ${b.width}x${b.height} (+${b.after - b.before} frames)`);
      for (const m of [alice, bob]) {
        const names = (await events(m.page)).map((e) => e.name);
        assert.ok(names.includes('onPeerConnectionAdd'), `${m.user}: onPeerConnectionAdd fired`);
        for (const bad of ['init-failed', 'enter-failed', 'api-error', 'ajax-error', 'onWebSocketClose', 'onKickout']) {
          assert.ok(!names.includes(bad), `${m.user}: unexpected ${bad}: ${JSON.stringify(await events(m.page))}`);
        }
      }

      // Mute notifications reach the other side.
      await bob.page.evaluate(() => RTC.closeVideo());
      await waitForEvent(alice, 'onMuteVideo', (i) => i.userId === 'bob', 5000);
      await bob.page.evaluate(() => RTC.openVideo());
      await waitForEvent(alice, 'onUnmuteVideo', (i) => i.userId === 'bob', 5000);

      // The room API saw both members.
      const res = await fetch(`${s.server.url}/weapp/webrtc_room/get_room_members`, {
        method: 'POST',
        body: JSON.stringify({ roomID }),
      }).then((r) => r.json());
      assert.deepEqual(res.members.map((m) => m.userID).sort(), ['alice', 'bob'], JSON.stringify(res));

      // bob hangs up (RTC.quit()): alice's remove event fires and #remoteVideo is hidden.
      await bob.page.locator('#hangup').click();
      await waitForEvent(bob, 'quit', () => true, 5000);
      await waitForEvent(alice, 'onRemoteStreamRemove', (i) => i.userId === 'bob' && i.videoId === 'bob_main', 10_000);
      assert.equal(
        await alice.page.evaluate(() => getComputedStyle(document.getElementById('remoteVideo')).display),
        'none',
        "alice's #remoteVideo is hidden",
      );
      assert.equal(
        await bob.page.evaluate(() => document.getElementById('localVideo').srcObject.getTracks().every((tr) => tr.readyState === 'ended')),
        true,
        "quit() stopped bob's camera and microphone",
      );
      await waitFor(
        async () => {
          const r = await fetch(`${s.server.url}/weapp/webrtc_room/get_room_members`, {
            method: 'POST',
            body: JSON.stringify({ roomID }),
          }).then((x) => x.json());
          return r.code === 0 && r.members.length === 1 && r.members[0].userID === 'alice';
        },
        { timeout: 5000, message: 'bob to be gone from get_room_members' },
      );
      assert.ok(!(await events(bob.page)).some((e) => e.name === 'onWebSocketClose'), 'quit() is not a WebSocket loss');
      assert.ok(site.requests.includes('/js/jquery.min.js'), 'the page loaded jQuery from its own site');
    }),
  );
});

test('legacy page: a member sharing its screen arrives as the aux stream (videoType 7)', { timeout: 120_000 }, async (t) => {
  const s = await setup(t);
  const site = await startSiteServer(t, s.server.url);
  await s.run(() =>
    withDeadline(115_000, 'legacy aux stream', async () => {
      const alice = await openLegacy(s, site, { mode: 'create' }, 'alice');
      await waitForEvent(alice, 'entered');
      const roomID = await alice.page.evaluate(() => window.createdRoomID);
      const bob = await s.member(String(roomID), 'bob');
      await waitForEvent(alice, 'onRemoteStreamUpdate', (i) => i.userId === 'bob' && i.videoType === 2 && i.videoId === 'bob_main');
      await bob.page.locator('#share-screen').click();
      await waitForEvent(alice, 'onRemoteStreamUpdate', (i) => i.userId === 'bob' && i.videoType === 7 && i.videoId === 'bob_aux');
      await assertRemoteVideoPlays(alice); // the page shows the last stream it was given: the screen
      await bob.page.locator('#share-screen').click();
      await waitForEvent(alice, 'onRemoteStreamRemove', (i) => i.userId === 'bob' && i.videoId === 'bob_aux');
    }),
  );
});

test('legacy page: a second login with the same user fires onKickout / onKickOut', { timeout: 90_000 }, async (t) => {
  const s = await setup(t);
  const site = await startSiteServer(t, s.server.url);
  await s.run(() =>
    withDeadline(85_000, 'legacy kickout', async () => {
      const first = await openLegacy(s, site, { mode: 'create' }, 'carol');
      await waitForEvent(first, 'entered');
      const roomID = await first.page.evaluate(() => window.createdRoomID);
      const second = await openLegacy(s, site, { mode: 'enter', room: String(roomID) }, 'carol');
      await waitForEvent(second, 'entered');
      await waitForEvent(first, 'onKickout', () => true, 10_000);
      await waitForEvent(first, 'onKickOut', () => true, 1000);
      await sleep(500);
      const names = (await events(first.page)).map((e) => e.name);
      assert.ok(!names.includes('onWebSocketClose'), `a kick-out is reported as such, not as onWebSocketClose: ${names.join(', ')}`);
      assert.ok(!(await events(second.page)).some((e) => e.name === 'onKickout'), 'the second login stays in');
    }),
  );
});

/**
 * In a /blank.html page: new WebRTCAPI(options) and createRoom(room); records
 * events in window.events and plays remote streams in #remoteVideo.
 */
async function blankMember(s, site, user, room, options = {}) {
  const m = await newMemberPage(s.browser, user);
  s.members.push(m);
  await m.page.goto(`${site.url}/blank.html`, { waitUntil: 'load' });
  const res = await m.page.evaluate(
    ({ user, room, options }) =>
      new Promise((resolve) => {
        window.events = [];
        const note = (name, info) => window.events.push({ name, info: info || null });
        window.RTC = new WebRTCAPI(
          Object.assign({ openid: user }, options),
          () => {
            RTC.createRoom({ roomid: room, role: 'user' }, (info) => resolve({ ok: info }), (err) => resolve({ err }));
          },
          (err) => resolve({ err }),
        );
        RTC.on('onLocalStreamAdd', (i) => note('onLocalStreamAdd', { tracks: i.stream.getTracks().map((t) => t.kind).sort() }));
        RTC.on('onRemoteStreamUpdate', (i) => {
          document.getElementById('remoteVideo').srcObject = i.stream;
          note('onRemoteStreamUpdate', { userId: i.userId, videoType: i.videoType });
        });
        RTC.on('onRemoteStreamRemove', (i) => note('onRemoteStreamRemove', { userId: i.userId }));
      }),
    { user, room, options },
  );
  assert.ok(res.ok, `${user}: createRoom failed: ${JSON.stringify(res.err)}`);
  return m;
}

test('closeLocalMedia: nothing is published until getLocalStream + startRTC; devices', { timeout: 90_000 }, async (t) => {
  const s = await setup(t);
  const site = await startSiteServer(t, s.server.url);
  await s.run(() =>
    withDeadline(85_000, 'legacy startRTC', async () => {
      const room = `legacy${Date.now() % 1e6}`;
      const erin = await blankMember(s, site, 'erin', room);
      const dave = await blankMember(s, site, 'dave', room, { closeLocalMedia: true });
      await waitForEvent(dave, 'onRemoteStreamUpdate', (i) => i.userId === 'erin' && i.videoType === 2);
      await sleep(1500);
      assert.ok(!(await events(dave.page)).some((e) => e.name === 'onLocalStreamAdd'), 'closeLocalMedia: no local stream yet');
      assert.ok(!(await events(erin.page)).some((e) => e.name === 'onRemoteStreamUpdate'), 'closeLocalMedia: dave publishes nothing yet');

      const cams = await dave.page.evaluate(() => new Promise((r) => RTC.getVideoDevices(r)));
      const mics = await dave.page.evaluate(() => new Promise((r) => RTC.getAudioDevices(r)));
      assert.ok(cams.length >= 1 && cams.every((d) => d.kind === 'videoinput' && typeof d.deviceId === 'string'), JSON.stringify(cams));
      assert.ok(mics.length >= 1 && mics.every((d) => d.kind === 'audioinput'), JSON.stringify(mics));
      const chosen = await dave.page.evaluate((cam) => new Promise((r) => RTC.chooseVideoDevice(cam, r, (e) => r(e))), cams[0]);
      assert.equal(chosen.deviceId, cams[0].deviceId);

      const started = await dave.page.evaluate(
        () =>
          new Promise((resolve) => {
            RTC.getLocalStream(
              { audio: true, video: true },
              (info) => RTC.startRTC({ stream: info.stream }, (r) => resolve({ tracks: r.stream.getTracks().length }), (e) => resolve({ err: e })),
              (e) => resolve({ err: e }),
            );
          }),
      );
      assert.equal(started.tracks, 2, `startRTC: ${JSON.stringify(started)}`);
      await waitForEvent(dave, 'onLocalStreamAdd', (i) => i.tracks.join() === 'audio,video', 5000);
      await waitForEvent(erin, 'onRemoteStreamUpdate', (i) => i.userId === 'dave' && i.videoType === 2, 10_000);
      await assertRemoteVideoPlays(erin);
      await assertRemoteVideoPlays(dave);
    }),
  );
});
