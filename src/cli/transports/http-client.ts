// A small HTTP client for the SSE transports, on node:http(s) with a keep-alive agent of our own.
// Why not fetch: when one stream is found dead (a network that vanished without a reset), the pooled
// idle connections to the same server are almost certainly dead too, and fetch gives no way to drop
// them: the next request would be written into a black hole and wait forever. Here `reset()` destroys
// the pool, and every request has a deadline for its response headers.
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';

export interface HttpResponse {
  status: number;
  header(name: string): string | undefined;
  body: IncomingMessage;
  /** The whole body as text (at most 1 MiB). */
  text(): Promise<string>;
  /** Discard the body and let the connection go back to the pool. */
  discard(): void;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'DELETE';
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** Give up when the response headers have not come within this (0 = no limit). */
  headerTimeoutMs?: number;
}

export class HeaderTimeoutError extends Error {
  readonly code = 'ETIMEDOUT_HEADERS';
  constructor(ms: number) {
    super(`no response within ${(ms / 1000).toFixed(1)} s`);
  }
}

export class HttpClient {
  private agent: http.Agent;
  private readonly secure: boolean;

  constructor(url: URL) {
    this.secure = url.protocol === 'https:';
    this.agent = this.newAgent();
  }

  private newAgent(): http.Agent {
    return this.secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  /** Drop every pooled connection (they are suspected dead); later requests open new ones. */
  reset(): void {
    const old = this.agent;
    this.agent = this.newAgent();
    old.destroy();
  }

  close(): void {
    this.agent.destroy();
  }

  request(url: URL, o: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...o.headers };
      if (o.body !== undefined) headers['Content-Length'] = Buffer.byteLength(o.body);
      const req = (this.secure ? https : http).request(url, { method: o.method, headers, agent: this.agent, signal: o.signal });
      let timer: NodeJS.Timeout | undefined;
      if (o.headerTimeoutMs) {
        timer = setTimeout(() => req.destroy(new HeaderTimeoutError(o.headerTimeoutMs!)), o.headerTimeoutMs);
      }
      req.on('error', (err) => {
        if (timer) clearTimeout(timer);
        reject(err);
      });
      req.on('response', (res: IncomingMessage) => {
        if (timer) clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          header: (name) => headerOf(res.headers, name),
          body: res,
          text: () => readText(res),
          discard: () => void res.resume(),
        });
      });
      req.end(o.body);
    });
  }
}

function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    if (size < 1 << 20) chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return Buffer.concat(chunks).toString('utf8');
}
