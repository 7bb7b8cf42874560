// The server side of MCP over WebSocket, as an SDK `Transport`: one JSON-RPC message per text frame.
// It frames and parses; protocol errors in the framing itself (bad JSON, not JSON-RPC) are answered
// here. Frames written in one event-loop turn leave in one `writev` (corked until the next tick): one
// syscall per frame was 58% of a raw ws server's CPU (shared/notes/performance-anchors.md).
import type { Socket } from 'node:net';
import type { WebSocket, RawData } from 'ws';
import type { TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { CloseCode, RpcCode } from '../errors.js';
import { errorResponse, parseMessage } from '../jsonrpc.js';
import type { MessageRateLimiter, MessageVerdict } from '../limits/message-rate-limiter.js';
import type { SessionTransport } from '../sessions/session.js';

const OPEN = 1;
const RESOLVED = Promise.resolve();

export interface WebSocketTransportOptions {
  sessionId: string;
  /** Passed to every onmessage as `extra` (auth info, request headers). */
  extra?: MessageExtraInfo;
  /** Per-session message budget (HTTP rate limits cannot see frames); none = unlimited. */
  messageLimit?: MessageRateLimiter;
}

export class WebSocketServerTransport implements SessionTransport {
  readonly sessionId: string;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;

  private readonly ws: WebSocket;
  private readonly extra: MessageExtraInfo | undefined;
  private readonly messageLimit: MessageRateLimiter | undefined;
  private corked = false;
  private closed = false;
  private readonly uncork = () => {
    this.corked = false;
    this.socket?.uncork();
  };

  constructor(ws: WebSocket, options: WebSocketTransportOptions) {
    this.ws = ws;
    this.sessionId = options.sessionId;
    this.extra = options.extra;
    this.messageLimit = options.messageLimit;
  }

  /** The TCP socket under the WebSocket (ws keeps it private; we need it for cork and drain). */
  private get socket(): Socket | undefined {
    return (this.ws as unknown as { _socket?: Socket })._socket;
  }

  async start(): Promise<void> {
    this.ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    this.ws.on('close', () => this.handleClose());
    this.ws.on('error', (err) => this.onerror?.(err));
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.ws.close(CloseCode.UNSUPPORTED_DATA, 'binary frames are not supported: send JSON-RPC as text');
      return;
    }
    const verdict = this.messageLimit?.check();
    if (verdict !== undefined && !verdict.allowed) return this.refuseOverLimit(data, verdict);
    const parsed = parseMessage(data.toString());
    if (!parsed.ok) {
      this.write(JSON.stringify(parsed.response));
      return;
    }
    this.onmessage?.(parsed.message as JSONRPCMessage, this.extra);
  }

  /** Over the message budget: answer requests with -32029 (others are dropped); persistent abuse → 1008. */
  private refuseOverLimit(data: RawData, verdict: Extract<MessageVerdict, { allowed: false }>): void {
    if (verdict.close) {
      this.ws.close(CloseCode.POLICY_VIOLATION, 'message rate limit exceeded repeatedly');
      return;
    }
    const parsed = parseMessage(data.toString());
    if (parsed.ok && 'method' in parsed.message && 'id' in parsed.message) {
      const { retryAfterMs } = verdict;
      this.write(JSON.stringify(errorResponse(parsed.message.id, RpcCode.RATE_LIMITED, `Rate limited: too many messages on this connection; retry in ${retryAfterMs} ms`, { retryAfterMs })));
    }
  }

  send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    this.write(JSON.stringify(message));
    return RESOLVED;
  }

  /** Send an already serialized message. */
  write(text: string): void {
    if (this.ws.readyState !== OPEN) return;
    if (!this.corked) {
      const socket = this.socket;
      if (socket) {
        this.corked = true;
        socket.cork();
        process.nextTick(this.uncork);
      }
    }
    this.ws.send(text);
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount + (this.socket?.writableLength ?? 0);
  }

  whenDrained(): Promise<void> {
    const socket = this.socket;
    if (!socket || this.closed || !socket.writableNeedDrain) return RESOLVED;
    return new Promise((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  /** Close with 1000, or the given code and reason. */
  async close(code: number = CloseCode.NORMAL, reason = ''): Promise<void> {
    if (this.ws.readyState === OPEN) this.ws.close(code, reason);
    else if (this.ws.readyState !== 3) this.ws.terminate();
  }

  shutdown(reason: string): Promise<void> {
    return this.close(CloseCode.GOING_AWAY, reason);
  }

  /** Drop the connection without a close handshake (dead peer). */
  terminate(): void {
    this.ws.terminate();
  }

  private handleClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }
}
