#!/usr/bin/env node
// What permessage-deflate (WS_COMPRESSION) costs and saves on /mcp/ws: echo calls over one WebSocket,
// with and without compression, for a small message (under the server's 1 KiB compression threshold)
// and a ~2 KiB JSON-like one. Prints calls/s, bytes on the wire per call (the client socket's
// bytesWritten/bytesRead), and CPU per call of the server (from /proc) and of the client.
//
// The server is the standalone app from source (node --import tsx plugins/server.ts), no auth and the
// per-client limits lifted (as npm run bench does), pinned to CPU 0 with taskset when available; the
// client runs in this process (pin it yourself: taskset -c 1 node bench/compression.mjs). Rounds
// alternate the order of the two modes; medians are printed.
//
// usage: node bench/compression.mjs [--calls 20000] [--window 16] [--rounds 3] [--warmup 2000] [--no-pin]
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const CALLS = option('calls', 20_000);
const WINDOW = option('window', 16);
const ROUNDS = option('rounds', 3);
const WARMUP = option('warmup', 2_000);
const PIN = !process.argv.includes('--no-pin') && spawnSync('taskset', ['-V']).status === 0;

// Each call sends a different message (identical ones would shrink to a back-reference with context
// takeover, which flatters compression): `small` is a short line with a counter and a random number;
// `2k` is a tool-result-like JSON listing (repetitive keys and paths, as real results are) whose names,
// sizes and times differ per call.
let serial = 0;
const PAYLOADS = {
  small: () => `hello #${++serial} ${Math.random().toString(36).slice(2, 10)}`,
  '2k': () => {
    const base = ++serial * 20;
    return JSON.stringify(Array.from({ length: 20 }, (_, i) => ({
      path: `photos/2026/11/img-${String(base + i).padStart(7, '0')}.jpg`,
      size: 40_000 + Math.floor(Math.random() * 30_000),
      status: Math.random() < 0.95 ? 'ok' : 'corrupt',
      ms: Math.round(Math.random() * 5000) / 100,
    })));
  },
};

const CLOCK_TICKS = 100; // USER_HZ on Linux
function processCpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS; // utime + stime
  } catch {
    return NaN;
  }
}

async function startServer(compression) {
  const env = {
    ...process.env,
    HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', AUTH_MODE: 'none', WS_COMPRESSION: String(compression),
    RATE_LIMIT_MAX: '0', WS_MESSAGES_PER_SECOND: '0', MAX_CONNECTIONS_PER_PRINCIPAL: '0',
    MAX_CONCURRENT_PER_SESSION: '10000', MAX_CONCURRENT_OPERATIONS: '1000000',
  };
  const node = [process.execPath, '--import', 'tsx', 'plugins/server.ts'];
  const [cmd, ...args] = PIN ? ['taskset', '-c', '0', ...node] : node;
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolvePort, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolvePort(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  child.stdout.resume();
  return {
    port,
    pid: child.pid,
    stop: () => new Promise((r) => {
      child.once('exit', r);
      child.kill('SIGTERM');
    }),
  };
}

async function measure(port, makeMessage, compression) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/mcp/ws`, ['mcp'], { perMessageDeflate: true });
  let socket;
  ws.once('upgrade', (res) => (socket = res.socket));
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  if (ws.extensions.includes('permessage-deflate') !== compression) throw new Error(`negotiated "${ws.extensions}" with WS_COMPRESSION=${compression}`);
  const pending = new Map();
  ws.on('message', (data) => {
    const m = JSON.parse(data);
    const done = pending.get(m.id);
    if (done) {
      pending.delete(m.id);
      done(m);
    }
  });
  let id = 0;
  const request = (method, params) => new Promise((r) => {
    const n = ++id;
    pending.set(n, r);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: n, method, params }));
  });
  await request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'compression-bench', version: '0' } });
  ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  const run = async (count) => {
    let started = 0;
    await Promise.all(Array.from({ length: WINDOW }, async () => {
      while (started < count) {
        started++;
        const message = makeMessage();
        const m = await request('tools/call', { name: 'echo', arguments: { message } });
        if (m.result?.content?.[0]?.text !== message) throw new Error(`bad answer: ${JSON.stringify(m).slice(0, 200)}`);
      }
    }));
  };
  await run(WARMUP);
  return { ws, socket, run };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const results = [];
console.log(`echo over one WebSocket: ${CALLS} calls, ${WINDOW} in flight, ${ROUNDS} rounds${PIN ? ', server on CPU 0' : ''}; Node ${process.version}`);
for (let round = 1; round <= ROUNDS; round++) {
  const modes = round % 2 === 1 ? [false, true] : [true, false];
  for (const compression of modes) {
    const server = await startServer(compression);
    try {
      for (const [payload, makeMessage] of Object.entries(PAYLOADS)) {
        const { ws, socket, run } = await measure(server.port, makeMessage, compression);
        const read0 = socket.bytesRead;
        const written0 = socket.bytesWritten;
        const serverCpu0 = processCpuMs(server.pid);
        const clientCpu0 = process.cpuUsage();
        const t0 = performance.now();
        await run(CALLS);
        const seconds = (performance.now() - t0) / 1000;
        const clientCpu = process.cpuUsage(clientCpu0);
        const r = {
          round, compression, payload, messageBytes: Buffer.byteLength(makeMessage()),
          callsPerSecond: CALLS / seconds,
          upBytesPerCall: (socket.bytesWritten - written0) / CALLS,
          downBytesPerCall: (socket.bytesRead - read0) / CALLS,
          serverCpuUsPerCall: ((processCpuMs(server.pid) - serverCpu0) * 1000) / CALLS,
          clientCpuUsPerCall: (clientCpu.user + clientCpu.system) / CALLS,
        };
        results.push(r);
        console.log(`round ${round} ${compression ? 'deflate' : 'plain  '} ${payload.padEnd(5)} ${Math.round(r.callsPerSecond)} calls/s, ` +
          `up ${r.upBytesPerCall.toFixed(0)} B/call, down ${r.downBytesPerCall.toFixed(0)} B/call, server CPU ${r.serverCpuUsPerCall.toFixed(1)} µs/call`);
        ws.close();
      }
    } finally {
      await server.stop();
    }
  }
}

console.log('\nmedians:');
console.log(`| message | compression | calls/s | client→server B/call | server→client B/call | wire MiB (${CALLS} calls) | server CPU µs/call | client CPU µs/call |`);
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const payload of Object.keys(PAYLOADS)) {
  for (const compression of [false, true]) {
    const rs = results.filter((r) => r.payload === payload && r.compression === compression);
    const m = (k) => median(rs.map((r) => r[k]));
    const wire = ((m('upBytesPerCall') + m('downBytesPerCall')) * CALLS) / 1024 / 1024;
    console.log(`| ${payload} (${rs[0].messageBytes} B) | ${compression ? 'permessage-deflate' : 'off'} | ${Math.round(m('callsPerSecond')).toLocaleString('en-US')} | ` +
      `${m('upBytesPerCall').toFixed(0)} | ${m('downBytesPerCall').toFixed(0)} | ${wire.toFixed(1)} | ${m('serverCpuUsPerCall').toFixed(1)} | ${m('clientCpuUsPerCall').toFixed(1)} |`);
  }
}
