// A bare `ws` client for protocol-level tests: send raw frames, read raw replies, watch the close.
import { WebSocket } from 'ws';
import type { IncomingMessage } from 'node:http';

export interface RawClient {
  ws: WebSocket;
  upgrade: IncomingMessage;
  /** Resolves with the next JSON message received (parsed). */
  next(timeoutMs?: number): Promise<any>;
  /** Resolves with the first received message matching the predicate (earlier ones are skipped). */
  waitFor(predicate: (m: any) => boolean, timeoutMs?: number): Promise<any>;
  send(value: unknown): void;
  /** Every message received so far, in order (including ones already taken by next/waitFor). */
  received: any[];
  /** Send an initialize request and the initialized notification; resolves with the initialize result. */
  initialize(): Promise<any>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export function openRaw(url: string, options: { protocols?: string[]; headers?: Record<string, string>; autoPong?: boolean } = {}): Promise<RawClient> {
  const ws = new WebSocket(url, options.protocols ?? ['mcp'], { headers: options.headers, autoPong: options.autoPong ?? true });
  const queue: any[] = [];
  const received: any[] = [];
  const waiters: Array<(m: any) => void> = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    received.push(m);
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  return new Promise((resolve, reject) => {
    let upgrade: IncomingMessage;
    ws.once('upgrade', (res) => (upgrade = res));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode, response: res })));
    ws.once('error', reject);
    ws.once('open', () => {
      const next = (timeoutMs = 5000) =>
        new Promise<any>((res, rej) => {
          if (queue.length) return res(queue.shift());
          const waiter = (m: any) => {
            clearTimeout(timer);
            res(m);
          };
          // A waiter that timed out must not swallow the next message.
          const timer = setTimeout(() => {
            waiters.splice(waiters.indexOf(waiter), 1);
            rej(new Error('timed out waiting for a message'));
          }, timeoutMs);
          waiters.push(waiter);
        });
      const waitFor = async (predicate: (m: any) => boolean, timeoutMs = 5000) => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const m = await next(Math.max(1, deadline - Date.now()));
          if (predicate(m)) return m;
        }
      };
      let nextId = 1000;
      const client: RawClient = {
        ws,
        upgrade,
        next,
        waitFor,
        send: (value) => ws.send(typeof value === 'string' ? value : JSON.stringify(value)),
        received,
        async initialize() {
          const id = nextId++;
          client.send({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });
          const r = await waitFor((m) => m.id === id);
          client.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
          return r.result;
        },
        closed,
        close: () => ws.close(),
      };
      resolve(client);
    });
  });
}
