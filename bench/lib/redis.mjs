// A throwaway redis-server for the store and cluster comparisons (from PATH, no persistence), and
// one-shot commands to it over RESP (no client library: we only read INFO).
import net from 'node:net';
import { join } from 'node:path';
import { onPath, startProcess, withFreePort } from './processes.mjs';

export const redisAvailable = () => onPath('redis-server');

/** Starts `redis-server --port <free> --save '' --appendonly no`; returns { url, port, pid, stop }. */
export function startRedis({ cpu, logDir, logName = 'redis-server.log' }) {
  return withFreePort(async (port) => {
    const proc = await startProcess({
      name: 'redis-server',
      argv: ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
      cpu, logFile: join(logDir, logName), ready: /Ready to accept connections/, timeoutMs: 10_000,
    });
    return { url: `redis://127.0.0.1:${port}`, port, pid: proc.pid, stop: proc.stop };
  });
}

/** Sends one command and resolves with its reply as text (bulk string or status line). */
export function redisCommand(port, ...args) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error('redis: no reply in 5 s')); }, 5000);
    s.on('connect', () => s.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    s.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      if (buf[0] === '$') {
        const len = Number(buf.slice(1, nl));
        if (Buffer.byteLength(buf) < nl + 2 + len) return;
        finish(buf.slice(nl + 2, nl + 2 + len));
      } else if (buf[0] === '-') fail(new Error(`redis: ${buf.slice(1, nl)}`));
      else finish(buf.slice(1, nl));
    });
    s.on('error', (e) => fail(e));
    const finish = (v) => { clearTimeout(timer); s.end(); resolve(v); };
    const fail = (e) => { clearTimeout(timer); s.destroy(); reject(e); };
  });
}

/** INFO fields as numbers where they are numbers. */
export async function redisInfo(port) {
  const text = await redisCommand(port, 'INFO');
  const out = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) { const v = line.slice(i + 1); out[line.slice(0, i)] = /^\d+$/.test(v) ? Number(v) : v; }
  }
  return out;
}
