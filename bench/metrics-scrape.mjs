#!/usr/bin/env node
// How long GET /metrics takes with many open sessions (issue: under 10 ms of server time with 5,000).
// Starts the built server (npm run build first), opens N WebSocket sessions (initialize each), then runs
// real curl M times and reports time to first byte (curl's time_starttransfer: the server's time to
// build the answer plus a loopback round trip) and total time.
//   node bench/metrics-scrape.mjs [--sessions 5000] [--scrapes 50]
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SESSIONS = arg('sessions', 5000);
const SCRAPES = arg('scrapes', 50);

const server = spawn(process.execPath, ['dist/plugins/server.js'], {
  cwd: root,
  env: { ...process.env, PORT: '0', HOST: '127.0.0.1', AUTH_MODE: 'none', LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '0', WS_MESSAGES_PER_SECOND: '0', MAX_SESSIONS: String(SESSIONS + 100) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
  server.on('exit', () => reject(new Error('server exited')));
});

const open = (i) => new Promise((resolve, reject) => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/mcp/ws`, 'mcp');
  ws.on('error', reject);
  ws.on('open', () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: `s${i}`, version: '1' } } })));
  ws.once('message', () => resolve(ws));
});
const sockets = [];
for (let i = 0; i < SESSIONS; i += 64) sockets.push(...(await Promise.all(Array.from({ length: Math.min(64, SESSIONS - i) }, (_, k) => open(i + k)))));

const ttfb = [];
const total = [];
let sample = '';
for (let i = 0; i < SCRAPES; i++) {
  const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{time_starttransfer} %{time_total}', `http://127.0.0.1:${port}/metrics`], { encoding: 'utf8' });
  const [a, b] = r.stdout.split(' ').map((x) => Number(x) * 1000);
  ttfb.push(a);
  total.push(b);
}
sample = spawnSync('curl', ['-s', `http://127.0.0.1:${port}/metrics`], { encoding: 'utf8' }).stdout;
const pct = (xs, p) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const line = (name, xs) => `${name}: median ${pct(xs, 50).toFixed(2)} ms, p95 ${pct(xs, 95).toFixed(2)} ms, max ${Math.max(...xs).toFixed(2)} ms`;
console.log(`${sockets.length} open WebSocket sessions (${/realtime_mcp_sessions\{transport="ws"\} (\d+)/.exec(sample)?.[1]} per /metrics), ${SCRAPES} scrapes with curl`);
console.log(line('time to first byte', ttfb));
console.log(line('total', total));
for (const ws of sockets) ws.terminate();
server.kill('SIGTERM');
