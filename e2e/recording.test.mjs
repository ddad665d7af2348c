// Recording: an operator presses Record on /admin while two browser members
// talk, stops it ~10 s later with the operator API, and gets one fragmented
// MP4 per member that ffprobe reads as H.264 + Opus with the call's duration,
// and that Chromium plays. Then the server is killed (SIGKILL) mid-recording
// and the file it was writing still reads.
//
// Run alone: scripts/netns-run.sh node --test --test-concurrency=1 e2e/recording.test.mjs
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { requireNetns, buildServer, setup, uniqueRoom, waitFor, assertMediaFlows, openAdmin, killGroup, newMemberPage } from './harness.mjs';

const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  requireNetns();
  await buildServer();
}, { timeout: 600_000 });

/** ffprobe's view of a file: {format: {duration}, streams: [{codec_name, codec_type, start_time, duration, nb_read_frames}]}. */
async function probe(file) {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries',
    'format=duration:stream=codec_name,codec_type,start_time,duration,nb_read_frames,width,height', '-of', 'json', file], { timeout: 60_000 });
  return JSON.parse(stdout);
}

test('record two members: admin Record, operator API stop, ffprobe, Chromium plays, kill -9 leaves a readable file', { timeout: 240_000 }, async (t) => {
  const secret = randomBytes(24).toString('hex');
  const adminToken = randomBytes(16).toString('hex');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'openroom-rec-'));
  const s = await setup(t, { serverArgs: ['--secret', secret, '--admin-token', adminToken, '--record-dir', dir] });
  const base = s.server.url;
  const operator = (method, p, body) =>
    fetch(`${base}${p}`, { method, headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });

  await s.run(async () => {
    const room = uniqueRoom('rec');
    const a1 = await s.member(room, 'a1');
    const b1 = await s.member(room, 'b1');
    await assertMediaFlows(a1.page, ['b1'], { label: 'a1 receives b1' });
    await assertMediaFlows(b1.page, ['a1'], { label: 'b1 receives a1' });

    // The operator presses Record on the admin page.
    const admin = await openAdmin(s.browser, base, adminToken);
    s.members.push(admin);
    const button = admin.page.locator(`[data-room="${room}"] .record-room`);
    await button.waitFor({ state: 'visible', timeout: 15_000 });
    const started = Date.now(); // before the click: the call recorded is at most stopped - started
    await button.click();
    await admin.page.locator(`[data-room="${room}"] .rec-badge`).waitFor({ state: 'visible', timeout: 10_000 });
    const listed = await (await operator('GET', `/api/rooms/${room}/recordings`)).json();
    assert.equal(listed.recording, true, `the operator API says the room records: ${JSON.stringify(listed)}`);

    await sleep(10_000); // they talk
    const res = await operator('POST', `/api/rooms/${room}/recording`, { action: 'stop' });
    const stopped = Date.now();
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await res.json()).recording, false);
    const callSeconds = (stopped - started) / 1000;

    // One complete file per member, H.264 + Opus, the call's duration.
    let files = [];
    await waitFor(async () => {
      files = (await (await operator('GET', `/api/rooms/${room}/recordings`)).json()).recordings ?? [];
      return files.length === 2 && files.every((f) => f.complete);
    }, { timeout: 10_000, message: `two complete recordings (got ${JSON.stringify(files)})` });
    assert.deepEqual(files.map((f) => f.userID).sort(), ['a1', 'b1']);
    for (const f of files) {
      const file = path.join(dir, room, f.name);
      const p = await probe(file);
      const video = p.streams.find((x) => x.codec_type === 'video');
      const audio = p.streams.find((x) => x.codec_type === 'audio');
      assert.equal(video?.codec_name, 'h264', `${f.name}: ${JSON.stringify(p)}`);
      assert.equal(audio?.codec_name, 'opus', `${f.name}: ${JSON.stringify(p)}`);
      const duration = Number(p.format.duration);
      console.log(`# ${f.name}: ffprobe ${duration.toFixed(3)} s (video ${video.duration} s, ${video.nb_read_frames} frames ${video.width}x${video.height}; audio ${audio.duration} s), sidecar ${f.duration.toFixed(3)} s, call ${callSeconds.toFixed(3)} s`);
      // callSeconds starts before the click: the page's request reaches the server later,
      // by 0.1-0.5 s on a quiet machine and up to 0.8 s under the suite's load. So the file
      // may be that much shorter, never longer.
      assert.ok(duration <= callSeconds + 0.5 && duration >= callSeconds - 1.5,
        `${f.name}: duration ${duration} s; the call was recorded for ${callSeconds} s (from before the click)`);
      assert.ok(Math.abs(Number(video.start_time) - Number(audio.start_time)) <= 0.1, `${f.name}: video starts at ${video.start_time}, audio at ${audio.start_time}`);
      assert.ok(Number(video.nb_read_frames) >= callSeconds * 10, `${f.name}: ${video.nb_read_frames} video frames in ${callSeconds} s`);
    }

    // The admin page lists them, and Chromium plays its Play link.
    const row = admin.page.locator(`#recordings [data-recording="${room}/${files[0].name}"]`);
    await row.waitFor({ state: 'attached', timeout: 15_000 });
    const playURL = await row.locator('a.play').getAttribute('href');
    const viewer = await newMemberPage(s.browser, 'player');
    s.members.push(viewer);
    await viewer.page.goto(`${base}/healthz`);
    const played = await viewer.page.evaluate(async (src) => {
      const v = document.createElement('video');
      v.muted = true;
      document.body.append(v);
      v.src = src;
      await new Promise((ok, fail) => { v.onloadedmetadata = ok; v.onerror = () => fail(new Error(`video error ${v.error?.code} ${v.error?.message}`)); });
      const duration = v.duration;
      await v.play();
      await new Promise((ok) => setTimeout(ok, 2000));
      return { duration, currentTime: v.currentTime, width: v.videoWidth, height: v.videoHeight, frames: v.getVideoPlaybackQuality().totalVideoFrames };
    }, new URL(playURL, base).href);
    console.log(`# Chromium plays ${files[0].name}: ${JSON.stringify(played)}`);
    // As for ffprobe above: the call's time starts before the click.
    assert.ok(played.duration <= callSeconds + 0.5 && played.duration >= callSeconds - 1.5,
      `Chromium's duration ${played.duration} s; the call ${callSeconds} s (from before the click)`);
    assert.ok(played.currentTime > 1 && played.width > 0 && played.frames > 10, `Chromium played it: ${JSON.stringify(played)}`);

    // kill -9 while recording: the file being written still reads.
    const res2 = await operator('POST', `/api/rooms/${room}/recording`, { action: 'start' });
    assert.equal(res2.status, 200, await res2.clone().text());
    await sleep(5_000);
    killGroup(s.server.proc.pid, 'SIGKILL');
    await sleep(500);
    const names = readdirSync(path.join(dir, room)).filter((n) => n.endsWith('.mp4') && !files.some((f) => f.name === n));
    assert.equal(names.length, 2, `two files from the second recording: ${names}`);
    for (const n of names) {
      const file = path.join(dir, room, n);
      const p = await probe(file);
      const video = p.streams.find((x) => x.codec_type === 'video');
      const audio = p.streams.find((x) => x.codec_type === 'audio');
      console.log(`# after kill -9: ${n} ${statSync(file).size} bytes, video ${video?.duration} s ${video?.nb_read_frames} frames, audio ${audio?.duration} s`);
      assert.ok(video && Number(video.nb_read_frames) > 30, `${n} has video after kill -9: ${JSON.stringify(p)}`);
      assert.ok(audio && Number(audio.nb_read_frames) > 50, `${n} has audio after kill -9: ${JSON.stringify(p)}`);
    }
  });
});

test('a full disk stops the recording with an error and a metric; the call goes on', { timeout: 180_000 }, async (t) => {
  const secret = randomBytes(24).toString('hex');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'openroom-full-'));
  // A 600 kB disk: two members fill it within a few seconds.
  const s = await setup(t, { serverArgs: ['--secret', secret, '--record-dir', dir], serverOptions: { tmpfs: { dir, size: '600k' } } });
  const base = s.server.url;
  const operator = (method, p, body) =>
    fetch(`${base}${p}`, { method, headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
  const metric = async (name) => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
    return m ? Number(m[1]) : NaN;
  };
  await s.run(async () => {
    const room = uniqueRoom('full');
    const a1 = await s.member(room, 'a1');
    const b1 = await s.member(room, 'b1');
    await assertMediaFlows(a1.page, ['b1'], { label: 'a1 receives b1' });
    const res = await operator('POST', `/api/rooms/${room}/recording`, { action: 'start' });
    assert.equal(res.status, 200, await res.clone().text());
    await waitFor(async () => (await metric('openroom_recording_write_errors_total')) >= 1,
      { timeout: 30_000, message: 'openroom_recording_write_errors_total counts the full disk' });
    assert.equal(await metric('openroom_recording_rooms'), 0, 'the room no longer records');
    const listed = await (await operator('GET', `/api/rooms/${room}/recordings`)).json();
    assert.equal(listed.recording, false, JSON.stringify(listed));
    assert.ok(listed.recordings.some((f) => /disk/i.test(f.error ?? '')), `a recording says why it stopped: ${JSON.stringify(listed.recordings)}`);
    assert.match(s.server.logs(), /recording stopped by an error/);
    // The call goes on, both ways.
    await assertMediaFlows(a1.page, ['b1'], { label: 'a1 receives b1 after the disk filled' });
    await assertMediaFlows(b1.page, ['a1'], { label: 'b1 receives a1 after the disk filled' });
    // What was written up to the last whole fragment reads.
    const inside = `/proc/${s.server.proc.pid}/root${dir}/${room}`;
    const file = readdirSync(inside).find((n) => n.endsWith('.mp4') && statSync(path.join(inside, n)).size > 0);
    assert.ok(file, `a file was written before the disk filled: ${readdirSync(inside)}`);
    const p = await probe(path.join(inside, file));
    console.log(`# disk full: ${file} ${statSync(path.join(inside, file)).size} bytes, ${JSON.stringify(p.streams.map((x) => [x.codec_name, x.duration, x.nb_read_frames]))}`);
    assert.ok(p.streams.some((x) => x.codec_type === 'video' && Number(x.nb_read_frames) > 0), JSON.stringify(p));
  });
});
