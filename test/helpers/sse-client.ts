// A bare HTTP client for SSE-level tests: open a GET or POST with node:http, see the status, headers,
// every event (id, type, data) and every comment as they arrive, and drop the connection at will.
import { request as httpRequest, type IncomingMessage, type IncomingHttpHeaders } from 'node:http';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export interface SseConnection {
  status: number;
  headers: IncomingHttpHeaders;
  /** Events in arrival order (ones without a data line are kept too, e.g. priming events). */
  events: SseEvent[];
  /** Comment lines (without the leading colon and space), e.g. "keepalive". */
  comments: string[];
  /** The body so far, exactly as received. */
  raw: string;
  /** Resolves with the first event (in `events`, past or future) matching the predicate. */
  waitFor(predicate: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Resolves once `check()` holds, re-checked on every chunk. */
  until(check: () => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ends the response (or the connection breaks). */
  ended: Promise<void>;
  /** Drop the connection as a client whose network died would. */
  destroy(): void;
}

export function openSse(url: string, options: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false });
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      const listeners = new Set<() => void>();
      let buffer = '';
      let endedResolve!: () => void;
      const conn: SseConnection = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        comments: [],
        raw: '',
        ended: new Promise<void>((r) => (endedResolve = r)),
        waitFor(predicate, timeoutMs = 5000) {
          return new Promise((res2, rej2) => {
            const check = () => {
              const found = conn.events.find(predicate);
              if (found) {
                listeners.delete(check);
                clearTimeout(timer);
                res2(found);
              }
            };
            const timer = setTimeout(() => {
              listeners.delete(check);
              rej2(new Error(`timed out waiting for an event; got ${conn.events.length}: ${conn.raw.slice(-300)}`));
            }, timeoutMs);
            listeners.add(check);
            check();
          });
        },
        until(check, timeoutMs = 5000) {
          return new Promise((res2, rej2) => {
            const probe = () => {
              if (check()) {
                listeners.delete(probe);
                clearTimeout(timer);
                res2();
              }
            };
            const timer = setTimeout(() => {
              listeners.delete(probe);
              rej2(new Error(`condition not met; received: ${conn.raw.slice(-300)}`));
            }, timeoutMs);
            listeners.add(probe);
            probe();
          });
        },
        destroy() {
          req.destroy();
          res.destroy();
        },
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        conn.raw += chunk;
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          parseBlock(block, conn);
        }
        for (const l of [...listeners]) l();
      });
      const finish = () => {
        endedResolve();
        for (const l of [...listeners]) l();
      };
      res.on('end', finish);
      res.on('close', finish);
      resolve(conn);
    });
    req.end(options.body);
  });
}

function parseBlock(block: string, conn: SseConnection): void {
  let id: string | undefined;
  let event = 'message';
  let data: string | undefined;
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) conn.comments.push(line.slice(1).trim());
    else if (line.startsWith('id:')) id = line.slice(3).trim();
    else if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data = (data === undefined ? '' : data + '\n') + line.slice(5).replace(/^ /, '');
  }
  if (id !== undefined || data !== undefined) conn.events.push({ id, event, data: data ?? '' });
}

/** The JSON-RPC message of a `message` event, or undefined for other events and empty (priming) ones. */
export function messageOf(e: SseEvent): any {
  return e.event !== 'message' || e.data === '' ? undefined : JSON.parse(e.data);
}
