// MCP over WebSocket for the CLI and the bridge, as an SDK `Transport`, with session resume.
//
// The server numbers the frames it sends on a session 1, 2, 3, … and keeps the last ones. When the
// connection drops without a close frame (network gone, proxy cut, heartbeat timeout) the session and
// its calls live on for RESUME_WINDOW_MS. We reconnect with exponential backoff and jitter, sending
// `Mcp-Session-Id` (from the first 101) and `Last-Event-ID` = how many frames we received; the server
// replays every frame after that exactly once, in order, then continues live. Messages we send while
// disconnected wait in an outbox and leave on the resumed socket. A 404 on resume means the session is
// gone: that is final (kind `session-lost`). Frames are handed to the SDK in order (OrderedDelivery).
import { WebSocket, type RawData } from 'ws';
import type { IncomingMessage } from 'node:http';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionError, errorMessage } from '../errors.js';
import { ClientTransportBase } from './base.js';
import { connectWithRetries, reconnectWithBackoff } from './reconnecting.js';
import { httpFailure, networkReason } from './http-failure.js';
import { authHeaders, type ClientTransportOptions } from './options.js';

export class ResumableWebSocketTransport extends ClientTransportBase implements Transport {
  /**
   * The server's session id (from the 101 / the endpoint event). Deliberately not the SDK's
   * `Transport.sessionId`: the SDK Client skips initialize on a transport that already has one.
   */
  serverSessionId: string | undefined;

  private readonly url: string;
  private ws: WebSocket | undefined;
  /** Frames received on this session, over all its connections: the Last-Event-ID of a resume. */
  private received = 0;
  private outbox: string[] = [];
  private alive = true;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(url: string | URL, options: ClientTransportOptions = {}) {
    super(options, 'idle');
    this.url = String(url);
  }

  /** Frames received so far (what a resume would send as Last-Event-ID). */
  get framesReceived(): number {
    return this.received;
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error('ResumableWebSocketTransport already started');
    this.state = 'connecting';
    try {
      await connectWithRetries(() => this.open(undefined), this.o, this.stopped.signal);
    } catch (err) {
      this.state = 'closed';
      this.fatalError = err as ConnectionError;
      throw err;
    }
  }

  /**
   * One connection attempt. The socket is adopted synchronously in its 'open' event: a resumed
   * session's replay can arrive in the same read as the 101, before any promise continuation runs.
   */
  private open(resume: { sessionId: string; after: number } | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const headers = authHeaders(this.o);
      if (resume) {
        headers['Mcp-Session-Id'] = resume.sessionId;
        headers['Last-Event-ID'] = String(resume.after);
      }
      let ws: WebSocket;
      try {
        ws = new WebSocket(this.url, 'mcp', { headers, handshakeTimeout: 15_000, perMessageDeflate: false });
      } catch (err) {
        // ws refuses the URL (e.g. a #fragment) or a header value: no retry can fix that.
        reject(new ConnectionError(errorMessage(err), { kind: 'network', cause: err }));
        return;
      }
      let settled = false;
      let upgradeSession: string | undefined;
      const fail = (e: ConnectionError) => {
        if (settled) return;
        settled = true;
        ws.removeAllListeners('open');
        ws.terminate();
        reject(e);
      };
      ws.on('upgrade', (res: IncomingMessage) => {
        const id = res.headers['mcp-session-id'];
        upgradeSession = typeof id === 'string' ? id : undefined;
      });
      ws.on('unexpected-response', (req, res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          const body = Buffer.concat(chunks).toString('utf8');
          req.destroy();
          fail(httpFailure(
            { status: res.statusCode ?? 0, header: (n) => headerOf(res, n), body },
            { url: this.url, hadToken: this.o.token !== undefined, resumingSession: resume?.sessionId },
          ));
        };
        res.on('data', (c: Buffer) => {
          if (size < 8192) chunks.push(c);
          size += c.length;
        });
        res.on('end', done);
        res.on('error', done);
        setTimeout(done, 2000).unref();
      });
      ws.on('error', (err) => {
        if (!settled) {
          fail(new ConnectionError(`cannot connect to ${this.url}: ${networkReason(err)}`, { kind: 'network', retryable: true, cause: err }));
        } else {
          this.o.log.debug(`websocket error: ${networkReason(err)}`);
        }
      });
      ws.on('open', () => {
        if (settled) return;
        if (resume && upgradeSession !== undefined && upgradeSession !== resume.sessionId) {
          fail(new ConnectionError(`the server answered the resume of session ${resume.sessionId.slice(0, 8)}… with another session`, { kind: 'session-lost' }));
          return;
        }
        settled = true;
        if (!resume) this.serverSessionId = upgradeSession;
        this.adopt(ws);
        resolve();
      });
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (this.ws === ws) this.onFrame(data, isBinary);
      });
      ws.on('pong', () => {
        if (this.ws === ws) this.alive = true;
      });
      ws.on('close', (code: number, reason: Buffer) => {
        if (!settled) {
          fail(new ConnectionError(`connection to ${this.url} closed during the handshake (${code})`, { kind: 'network', retryable: true }));
          return;
        }
        if (this.ws === ws) this.onSocketClosed(code, reason.toString('utf8'));
      });
    });
  }

  private adopt(ws: WebSocket): void {
    this.ws = ws;
    this.state = 'open';
    this.alive = true;
    this.startHeartbeat(ws);
    const queued = this.outbox;
    this.outbox = [];
    for (const text of queued) ws.send(text);
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    this.received++;
    this.alive = true;
    if (isBinary) {
      this.onerror?.(new Error('ignored a binary WebSocket frame (MCP uses text frames)'));
      return;
    }
    const message = this.parse(data.toString(), 'ignored a WebSocket frame that is not JSON');
    if (message !== undefined) this.delivery.push(message);
  }

  private startHeartbeat(ws: WebSocket): void {
    this.stopHeartbeat();
    if (this.o.heartbeatMs <= 0) return;
    this.heartbeat = setInterval(() => {
      if (this.ws !== ws) return;
      if (!this.alive) {
        this.o.log.warn(`no answer from the server for ${(this.o.heartbeatMs / 1000).toFixed(0)} s: reconnecting`);
        ws.terminate(); // close code 1006: resumed like any other drop
        return;
      }
      this.alive = false;
      ws.ping();
    }, this.o.heartbeatMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private onSocketClosed(code: number, reason: string): void {
    this.ws = undefined;
    this.stopHeartbeat();
    if (this.ended) return;
    if (code === 1006) {
      void this.reconnect('connection dropped');
      return;
    }
    // A close frame: the server ended the session on purpose (shutdown 1001, policy 1008, …).
    this.fail(new ConnectionError(`the server closed the connection (${code}${reason ? ` ${reason}` : ''})`, { kind: 'closed' }));
  }

  private async reconnect(why: string): Promise<void> {
    this.state = 'reconnecting';
    const sessionId = this.serverSessionId;
    if (sessionId === undefined) {
      this.fail(new ConnectionError(`${why}, and the server gave no Mcp-Session-Id to resume with`, { kind: 'network' }));
      return;
    }
    // open() adopts the socket (state 'open') as soon as it is up.
    const outcome = await reconnectWithBackoff(() => this.open({ sessionId, after: this.received }), why, this.o, this.stopped.signal);
    if (outcome.type === 'failed') this.fail(outcome.error);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.ended) throw this.closedError();
    const text = JSON.stringify(message);
    const ws = this.ws;
    if (this.state === 'open' && ws !== undefined && ws.readyState === WebSocket.OPEN) ws.send(text);
    else this.outbox.push(text); // leaves on the resumed socket
  }

  /** Close with 1000: the server ends the session (and aborts its calls). */
  async close(): Promise<void> {
    if (this.ended) return;
    this.state = 'closing';
    this.stopped.abort();
    this.stopHeartbeat();
    this.delivery.stop();
    const ws = this.ws;
    this.ws = undefined;
    if (ws !== undefined && ws.readyState === WebSocket.OPEN) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        ws.close(1000, 'client closed');
      });
    } else {
      ws?.terminate();
    }
    this.state = 'closed';
    this.onclose?.();
  }

  protected override teardown(): void {
    this.stopHeartbeat();
    this.ws?.terminate();
    this.ws = undefined;
  }
}

function headerOf(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
