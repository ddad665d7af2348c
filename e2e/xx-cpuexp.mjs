import { startServer, launchBrowser, openMember, closeBrowser, uniqueRoom } from './harness.mjs';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
function chromeCPU() {
  let t = 0; const by = {};
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      if (!/chrom/.test(comm)) continue;
      const f = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ');
      const v = Number(f[11]) + Number(f[12]); t += v;
      const cl = readFileSync(`/proc/${d}/cmdline`, 'utf8'); const m = /--type=([a-z-]+)/.exec(cl); const sub = /--utility-sub-type=([a-zA-Z.]+)/.exec(cl);
      const k = (m ? m[1] : 'browser') + (sub ? ':' + sub[1] : ''); by[k] = (by[k] || 0) + v;
    } catch {}
  }
  globalThis.BY = by; return t / 100;
}
const args = process.env.XX_ARGS ? process.env.XX_ARGS.split(' ') : [];
const server = await startServer({});
const b = await launchBrowser({ args, dropArgs: process.env.XX_DROP ? [process.env.XX_DROP] : [] });
const room = uniqueRoom('cpu');
const ms = [];
for (const u of ['alice', 'bob', 'carol']) ms.push(await openMember(b, server.url, room, u, process.env.XX_SCALE ? { deviceScaleFactor: Number(process.env.XX_SCALE) } : {}));
await sleep(8000);
const c0 = chromeCPU(); const b0 = BY; const t0 = Date.now();
await sleep(10000);
const c1 = chromeCPU(); for (const k of Object.keys(BY)) console.log(k, ((BY[k] - (b0[k]||0))/10).toFixed(0), '%');
const info = await ms[0].page.evaluate(async () => { const out=[]; (await window.openroom.publisher.getStats()).forEach(r=>{ if(r.type==='outbound-rtp'&&r.kind==='video') out.push(`${r.rid}:${r.frameWidth}x${r.frameHeight}@${r.framesPerSecond}`)}); return out.join(' '); });
console.log(`chromium CPU ${((c1 - c0) / ((Date.now() - t0) / 1000) * 100).toFixed(0)} % of a core; alice sends ${info}; args ${args.join(' ')} drop ${process.env.XX_DROP||''}`);
for (const m of ms) await m.close();
await closeBrowser(b);
await server.stop();
process.exit(0);
