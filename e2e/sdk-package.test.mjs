// The SDK as an npm package (web/sdk/package.json): `npm pack` makes the tarball, a
// fresh project installs it offline, tsc --strict type-checks a TypeScript sample
// (e2e/testdata/sdk-sample) and the README's quickstart against the package's types
// and rejects a deliberately wrong file, and the compiled sample, served with the
// installed files and an import map (no bundler), joins a real openroom server from
// two Chromium pages that then receive each other's media. Also: the SDK's own
// JavaScript type-checks against its declarations (npm run typecheck:sdk).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import {
  REPO_ROOT,
  requireNetns,
  buildServer,
  setup,
  newMemberPage,
  assertMediaFlows,
  uniqueRoom,
  waitFor,
  withDeadline,
  serveSite,
} from './harness.mjs';

const SDK_DIR = path.join(REPO_ROOT, 'web/sdk');
const SAMPLE_DIR = path.join(REPO_ROOT, 'e2e/testdata/sdk-sample');
const TSC = path.join(REPO_ROOT, 'node_modules/.bin/tsc');
const PKG = JSON.parse(readFileSync(path.join(SDK_DIR, 'package.json'), 'utf8'));
/** The SDK's modules: every .js in web/sdk but the legacy shim, which is not part of the package. */
const MODULES = readdirSync(SDK_DIR).filter((f) => f.endsWith('.js') && f !== 'WebRTCAPI.min.js');

let work; // temporary directory: the tarball, the npm cache, the project
let tarball; // path of the packed .tgz
let project; // the fresh project the tarball is installed into

before(async () => {
  requireNetns();
  await buildServer();
  work = mkdtempSync(path.join(os.tmpdir(), 'openroom-sdk-'));
}, { timeout: 600_000 });

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/**
 * The environment for npm and tsc: without the npm_* variables of an enclosing
 * `npm run` (npm_config_local_prefix would point a nested npm at this repository),
 * and with a cache and user config of our own, so the install can only use what it
 * is given.
 */
function toolEnv() {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
  const npmrc = path.join(work, 'npmrc');
  writeFileSync(npmrc, '');
  return { ...env, npm_config_userconfig: npmrc, npm_config_cache: path.join(work, 'npm-cache'), npm_config_update_notifier: 'false' };
}

/** Runs a command to its end: {code, stdout, output} (output: stdout and stderr). */
function run(cmd, args, cwd) {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: toolEnv(), timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : String(err.code ?? err.signal)) : 0;
      resolve({ code, stdout, output: `${stdout}${stderr}` });
    });
  });
}

/** The specifiers of a module's static imports and re-exports: from './x.js'. */
function relativeImports(source) {
  return [...source.matchAll(/\bfrom '(\.\/[^']+)'/g)].map((m) => m[1]);
}

test('npm pack: the tarball holds every SDK module, the types, README and LICENSE, and not the legacy shim', { timeout: 120_000 }, async () => {
  const packDir = path.join(work, 'pack');
  mkdirSync(packDir);
  const { code, stdout, output } = await run('npm', ['pack', '--json', '--pack-destination', packDir], SDK_DIR);
  assert.equal(code, 0, `npm pack failed:\n${output}`);
  const [info] = JSON.parse(stdout);
  tarball = path.join(packDir, info.filename);
  assert.equal(info.name, PKG.name);
  assert.equal(info.version, PKG.version);

  const files = info.files.map((f) => f.path).sort();
  for (const want of [...MODULES, 'openroom.d.ts', 'README.md', 'LICENSE', 'package.json']) {
    assert.ok(files.includes(want), `the tarball has ${want} (it has ${files.join(', ')})`);
  }
  assert.ok(!files.includes('WebRTCAPI.min.js'), 'the legacy shim is not packed');
  for (const f of files.filter((f) => f.endsWith('.js'))) {
    for (const spec of relativeImports(readFileSync(path.join(SDK_DIR, f), 'utf8'))) {
      assert.ok(files.includes(path.posix.join(path.posix.dirname(f), spec)), `${f} imports ${spec}, which is packed`);
    }
  }
  for (const [field, want] of [['type', 'module'], ['types', './openroom.d.ts'], ['license', 'MIT']]) {
    assert.equal(PKG[field], want, `package.json ${field}`);
  }
  assert.deepEqual(PKG.exports['.'], { types: './openroom.d.ts', default: './openroom.js' }, 'package.json exports "."');
});

test('the SDK\'s JavaScript type-checks against openroom.d.ts (npm run typecheck:sdk)', { timeout: 120_000 }, async () => {
  const { code, output } = await run('npm', ['run', '--silent', 'typecheck:sdk'], REPO_ROOT);
  assert.equal(code, 0, `tsc --checkJs reported errors:\n${output}`);
});

test('a fresh project installs the tarball offline; tsc --strict accepts the sample and the README quickstart, and rejects wrong calls', { timeout: 180_000 }, async () => {
  assert.ok(tarball, 'the npm pack test made a tarball');
  project = path.join(work, 'project');
  cpSync(SAMPLE_DIR, project, { recursive: true });
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'sdk-sample', private: true, type: 'module' }, null, 2));
  // Inside the test namespace no registry is reachable: the package has no dependencies,
  // so the tarball is all npm needs.
  const install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], project);
  assert.equal(install.code, 0, `npm install of the tarball failed:\n${install.output}`);
  const installed = JSON.parse(readFileSync(path.join(project, 'node_modules', PKG.name, 'package.json'), 'utf8'));
  assert.equal(installed.version, PKG.version, 'the installed package is the packed one');
  assert.ok(JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8')).dependencies?.[PKG.name], 'npm recorded the dependency');

  // No @types from anywhere around the temporary directory: only the package's own types.
  const compilerOptions = { strict: true, target: 'es2022', module: 'es2022', moduleResolution: 'bundler', lib: ['es2022', 'dom', 'dom.iterable'], types: [], noEmitOnError: true };
  writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['sample.ts'] }, null, 2));
  writeFileSync(path.join(project, 'tsconfig.wrong.json'), JSON.stringify({ extends: './tsconfig.json', files: ['wrong-types.ts'] }, null, 2));

  const emit = await run(TSC, ['-p', 'tsconfig.json', '--strict'], project);
  assert.equal(emit.code, 0, `tsc --strict rejected the sample:\n${emit.output}`);
  assert.ok(statSync(path.join(project, 'sample.js')).size > 0, 'tsc wrote sample.js');
  // Node's own resolution (package.json "exports" with the "types" condition) finds them too.
  const node16 = await run(TSC, ['-p', 'tsconfig.json', '--strict', '--noEmit', '--module', 'node16', '--moduleResolution', 'node16'], project);
  assert.equal(node16.code, 0, `tsc --strict --moduleResolution node16 rejected the sample:\n${node16.output}`);

  // The package README's quickstart is code that compiles too.
  const readme = readFileSync(path.join(project, 'node_modules', PKG.name, 'README.md'), 'utf8');
  const quickstart = readme.match(/```js\n([\s\S]*?)```/)?.[1];
  assert.ok(quickstart?.includes(`from '${PKG.name}'`), 'the README has a quickstart that imports the package');
  writeFileSync(path.join(project, 'quickstart.ts'), quickstart);
  writeFileSync(path.join(project, 'tsconfig.quickstart.json'), JSON.stringify({ extends: './tsconfig.json', files: ['quickstart.ts'] }, null, 2));
  const qs = await run(TSC, ['-p', 'tsconfig.quickstart.json', '--strict', '--noEmit'], project);
  assert.equal(qs.code, 0, `tsc --strict rejected the README's quickstart:\n${qs.output}`);

  const wrong = await run(TSC, ['-p', 'tsconfig.wrong.json', '--strict', '--noEmit'], project);
  assert.notEqual(wrong.code, 0, `tsc --strict accepted wrong-types.ts:\n${wrong.output}`);
  const want = readFileSync(path.join(project, 'wrong-types.ts'), 'utf8')
    .split('\n')
    .flatMap((line, i) => (line.includes('// expect error') ? [i + 1] : []));
  const got = [...new Set([...wrong.output.matchAll(/^wrong-types\.ts\((\d+),\d+\): error TS\d+/gm)].map((m) => Number(m[1])))];
  assert.ok(want.length >= 3, 'wrong-types.ts marks its errors');
  assert.deepEqual(got, want, `tsc reports an error on exactly the marked lines:\n${wrong.output}`);
});

/** Serves the project's files (the page, the compiled sample, node_modules) on 127.0.0.1. */
async function startProjectServer(t, root) {
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.json': 'application/json' };
  const requests = [];
  const site = await serveSite(t, (req, res) => {
    const pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requests.push(pathname);
    const file = path.join(root, pathname);
    const type = types[path.extname(file)];
    if (req.method !== 'GET' || !file.startsWith(root + path.sep) || !type) {
      res.writeHead(404).end();
      return;
    }
    let body;
    try {
      body = readFileSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' });
    res.end(body);
  });
  return { url: site.url, requests };
}

/** The sample's view of itself: {state, joined, error, members, videos: {userID: {width, frames}}}. */
function sampleState(page) {
  return page.evaluate(() => {
    const s = window.sample;
    if (!s) return null;
    const videos = {};
    for (const [id, v] of Object.entries(s.videos)) {
      videos[id] = { width: v.videoWidth, frames: v.getVideoPlaybackQuality?.().totalVideoFrames ?? 0, src: !!v.srcObject };
    }
    return { state: document.body.dataset.state ?? null, joined: s.joined, error: s.error, members: s.members(), videos };
  });
}

test('the compiled sample runs from node_modules in Chromium: two members connect and receive each other\'s media', { timeout: 180_000 }, async (t) => {
  assert.ok(project && statSync(path.join(project, 'sample.js')).isFile(), 'the type-check test compiled the sample');
  const s = await setup(t);
  const site = await startProjectServer(t, project);
  await s.run(() =>
    withDeadline(170_000, 'sdk sample call', async () => {
      assert.notEqual(new URL(site.url).origin, new URL(s.server.url).origin, 'the sample is served from another origin than the server');
      const room = uniqueRoom('sdk-pkg');
      const pages = {};
      const loaded = []; // every URL the pages requested
      for (const user of ['ada', 'lin']) {
        const m = await newMemberPage(s.browser, user);
        s.members.push(m); // closed, and its console shown on failure, by setup()
        m.page.on('request', (req) => loaded.push(req.url()));
        await m.page.goto(`${site.url}/index.html?${new URLSearchParams({ server: s.server.url, room, user })}`, { waitUntil: 'domcontentloaded' });
        pages[user] = m.page;
      }
      for (const [user, page] of Object.entries(pages)) {
        let last;
        await waitFor(
          async () => {
            last = await sampleState(page);
            if (last?.error) throw new Error(`join failed: ${last.error}`);
            return last?.joined && last.state === 'connected';
          },
          { timeout: 30_000, message: `${user}'s sample to join (last: ${JSON.stringify(last)})` },
        );
        assert.equal(last.joined.userID, user);
        assert.equal(last.joined.room, room);
      }

      await assertMediaFlows(pages.ada, ['lin'], { label: 'ada receiving lin', timeout: 30_000 });
      await assertMediaFlows(pages.lin, ['ada'], { label: 'lin receiving ada', timeout: 30_000 });
      // The <video> the sample attach()ed shows the other's camera.
      for (const [user, other] of [['ada', 'lin'], ['lin', 'ada']]) {
        let last;
        await waitFor(
          async () => {
            last = await sampleState(pages[user]);
            const v = last?.videos[other];
            return v && v.src && v.width > 0 && v.frames > 0;
          },
          { timeout: 15_000, message: `${user}'s <video> for ${other} to play (last: ${JSON.stringify(last)})` },
        );
        assert.deepEqual(last.members, [`${other} (${other})`], `${user} sees ${other} in room.members`);
      }

      // The SDK came from the installed package, every module of it, and not from the server.
      const served = new Set(site.requests);
      for (const f of MODULES) assert.ok(served.has(`/node_modules/${PKG.name}/${f}`), `the page loaded ${f} from node_modules`);
      const fromServer = loaded.filter((u) => u.startsWith(`${s.server.url}/sdk/`));
      assert.deepEqual(fromServer, [], 'nothing was loaded from the server\'s /sdk/');
    }),
  );
});
