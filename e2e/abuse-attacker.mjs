// An anonymous attacker for e2e/abuse.test.mjs, in a process of its own (it
// needs more file descriptors than the test runner may have):
//
//   node e2e/abuse-attacker.mjs '{"host":"10.99.0.1","port":8080,"ips":["127.0.0.2"],
//     "idle":1000,"drip":300,"ws":500,"flv":60,"flvPath":"/live/r/u.flv"}'
//
// It holds that many connections of each kind, opening a new one whenever the
// server closes one (so the pressure lasts), until stdin closes. Every second it
// prints one JSON line: {open: {kind: n}, opened: {kind: n}, closedByServer:
// {kind: n}, refused: {status: n}, errors: n}.
//   idle  TCP connections that never send a byte
//   drip  POST requests whose body comes one byte every 2 s
//   ws    WebSockets that answer pings but never join
//   flv   HTTP-FLV viewers that never read
import net from 'node:net';
import crypto from 'node:crypto';

const cfg = JSON.parse(process.argv[2]);
const stats = { open: {}, opened: {}, closedByServer: {}, refused: {}, errors: 0 };
let stopping = false;
let ipIndex = 0;
const sockets = new Set();

const inc = (o, k, n = 1) => (o[k] = (o[k] ?? 0) + n);

/** Opens one connection of `kind` from the next source address; reopens it when the server closes it. */
function open(kind, start) {
  if (stopping) return;
  const localAddress = cfg.ips[ipIndex++ % cfg.ips.length];
  const sock = net.connect({ host: cfg.host, port: cfg.port, localAddress });
  sockets.add(sock);
  let counted = false;
  let head = '';
  sock.on('connect', () => {
    counted = true;
    inc(stats.open, kind);
    inc(stats.opened, kind);
    start(sock);
  });
  sock.on('data', (d) => {
    // A refusal by the connection caps (429/503) comes before anything else.
    if (head.length < 64) {
      head += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m && (m[1] === '429' || m[1] === '503')) inc(stats.refused, m[1]);
    }
  });
  sock.on('error', () => stats.errors++);
  sock.on('close', () => {
    sockets.delete(sock);
    if (counted) {
      inc(stats.open, kind, -1);
      if (!stopping) inc(stats.closedByServer, kind);
    }
    // Keep the pressure on, a little later (no busy loop when refused at once).
    if (!stopping) setTimeout(() => open(kind, start), counted ? 50 : 500);
  });
}

const starters = {
  idle() {},
  drip(sock) {
    sock.write(`POST /weapp/webrtc_room/get_room_list HTTP/1.1\r\nHost: ${cfg.host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
    const t = setInterval(() => (sock.writable ? sock.write(' ') : clearInterval(t)), 2000);
    sock.on('close', () => clearInterval(t));
  },
  ws(sock) {
    const key = crypto.randomBytes(16).toString('base64');
    sock.write(
      `GET /ws HTTP/1.1\r\nHost: ${cfg.host}:${cfg.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    let buf = Buffer.alloc(0);
    let upgraded = false;
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        upgraded = true;
        buf = buf.subarray(end + 4);
      }
      // Server frames are unmasked; answer each ping with a (masked) pong.
      while (buf.length >= 2) {
        const op = buf[0] & 0x0f;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) return;
        const payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        if (op === 0x9) {
          const mask = crypto.randomBytes(4);
          const out = Buffer.alloc(6 + payload.length);
          out[0] = 0x8a;
          out[1] = 0x80 | payload.length;
          mask.copy(out, 2);
          for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i] ^ mask[i % 4];
          sock.write(out);
        }
      }
    });
  },
  flv(sock) {
    sock.write(`GET ${cfg.flvPath} HTTP/1.1\r\nHost: ${cfg.host}\r\n\r\n`);
    // Read the response head, then never again: the server's writes pile up.
    sock.once('data', () => sock.pause());
  },
};

for (const [kind, start] of Object.entries(starters)) {
  for (let i = 0; i < (cfg[kind] ?? 0); i++) setTimeout(() => open(kind, start), Math.floor(i / 50) * 20);
}

const report = setInterval(() => process.stdout.write(JSON.stringify(stats) + '\n'), 1000);
process.stdin.resume();
process.stdin.on('end', () => {
  stopping = true;
  clearInterval(report);
  for (const s of sockets) s.destroy();
  process.stdout.write(JSON.stringify(stats) + '\n');
  setTimeout(() => process.exit(0), 100);
});
