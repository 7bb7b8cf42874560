// A small MCP client over one WebSocket at a time, for tests that count frames: every frame received
// (over every connection of the session, in order) is kept in `frames`, so a resume can send the exact
// `Last-Event-ID` (the number of frames received) and a test can check that the frames it gets after a
// resume continue the ones before it, each once.
import { WebSocket } from 'ws';

export interface Frame {
  jsonrpc: '2.0';
  id?: string | number;
  method?: string;
  params?: any;
  result?: any;
  error?: { code: number; message: string; data?: any };
}

export class McpSocket {
  /** Every frame received, over every connection, in order. */
  readonly frames: Frame[] = [];
  sessionId = '';
  ws!: WebSocket;
  /** The connection whose frames count (none after terminate()). */
  private current: WebSocket | undefined;
  /** Resolves with the close code of the current connection. */
  closed!: Promise<number>;
  private nextId = 1;
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly headers: Record<string, string>) {}

  /** Connect a new session (`url`: ws://…/mcp/ws) and initialize it. */
  static async connect(url: string, headers: Record<string, string>): Promise<McpSocket> {
    const socket = await McpSocket.open(url, headers);
    const init = await socket.request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'cluster-test', version: '1.0.0' } });
    if (init.error) throw new Error(`initialize failed: ${init.error.message}`);
    socket.notify('notifications/initialized');
    return socket;
  }

  /** Connect a new session without sending anything. */
  static async open(url: string, headers: Record<string, string>): Promise<McpSocket> {
    const socket = new McpSocket(headers);
    await socket.connectTo(url, {});
    return socket;
  }

  /**
   * Resume the session over a new connection: Mcp-Session-Id + Last-Event-ID = the frames received so far,
   * or `after` (fewer: the frames after it are forgotten here, and the server sends them again).
   */
  async resume(url: string, after = this.frames.length): Promise<void> {
    this.frames.length = Math.min(after, this.frames.length);
    await this.connectTo(url, { 'mcp-session-id': this.sessionId, 'last-event-id': String(after) });
  }

  /** Send a request; resolves with its response frame (result or error). */
  async request(method: string, params?: unknown, timeoutMs = 10_000): Promise<Frame> {
    const id = `c${this.nextId++}`;
    this.send({ jsonrpc: '2.0', id, method, ...(params !== undefined && { params }) });
    return this.waitFor((f) => f.id === id && f.method === undefined, 0, timeoutMs, `the answer to ${method}`);
  }

  /** Send a request without waiting; returns its id. */
  start(method: string, params?: unknown): string {
    const id = `c${this.nextId++}`;
    this.send({ jsonrpc: '2.0', id, method, ...(params !== undefined && { params }) });
    return id;
  }

  notify(method: string, params?: unknown): void {
    this.send({ jsonrpc: '2.0', method, ...(params !== undefined && { params }) });
  }

  /** The text of a resource, read over this session (resources/read), parsed as JSON. */
  async read(uri: string): Promise<any> {
    const answer = await this.request('resources/read', { uri });
    if (answer.error) throw new Error(`resources/read ${uri}: ${answer.error.message}`);
    return JSON.parse(answer.result.contents[0].text);
  }

  /** The first frame at index ≥ `from` matching `predicate` (already received, or the next to arrive). */
  waitFor(predicate: (f: Frame) => boolean, from = 0, timeoutMs = 10_000, what = 'a frame'): Promise<Frame> {
    return new Promise((resolve, reject) => {
      let checked = from;
      const check = () => {
        for (; checked < this.frames.length; checked++) {
          if (predicate(this.frames[checked]!)) {
            done();
            resolve(this.frames[checked]!);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; frames: ${JSON.stringify(this.frames.slice(-5))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Drop the connection without a close frame, as a dead network would (the session may be resumed). */
  terminate(): void {
    this.current = undefined; // what that connection still had buffered was never received
    this.ws.terminate();
  }

  /** Close for good (1000: the session ends). */
  close(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
  }

  private send(frame: Frame): void {
    this.ws.send(JSON.stringify(frame));
  }

  private connectTo(url: string, extra: Record<string, string>): Promise<void> {
    const ws = new WebSocket(url, ['mcp'], { headers: { ...this.headers, ...extra } });
    this.ws = ws;
    this.current = ws;
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('message', (data) => {
      if (this.current !== ws) return;
      this.frames.push(JSON.parse(data.toString()) as Frame);
      for (const waiter of [...this.waiters]) waiter();
    });
    return new Promise((resolve, reject) => {
      ws.once('upgrade', (res) => {
        const id = res.headers['mcp-session-id'];
        if (typeof id === 'string') this.sessionId = id;
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
      ws.once('open', () => resolve());
    });
  }
}
