// One WebSocket connection as an outbox sink: JSON-RPC messages out as text frames, text frames in.
// Frames written in one event-loop turn leave in one `writev`: the TCP socket is corked until the next
// tick (one syscall per frame was 58% of a raw ws server's CPU, shared/notes/performance-anchors.md).
// `ws` keeps its socket private, so the socket comes from the upgrade request (`request.raw.socket`),
// which is the same net.Socket, through public API.
import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { CloseCode } from '../../errors.js';
import type { OutMessage } from '../../outbox/messages.js';
import type { OutboxSink } from '../../outbox/sink.js';
import { whenDrained } from '../drain.js';
import { DEFAULTS } from '../../defaults.js';

const CONNECTING = 0;
const OPEN = 1;

export interface WebSocketConnectionEvents {
  /** A text frame arrived. */
  onText(text: string): void;
  /** The connection closed; `code` is the peer's close code (1005 none given, 1006 no close frame). */
  onClose(code: number): void;
}

export class WebSocketConnection implements OutboxSink {
  readonly needsOrderingBarrier = true;
  /** Ordering-barrier pings waiting for their pong, by payload. */
  private readonly barriers = new Map<string, () => void>();
  private barrierCount = 0;
  private readonly ws: WebSocket;
  private readonly socket: Socket;
  private corked = false;
  private events: WebSocketConnectionEvents | undefined;
  /** Why the server closed or dropped this connection, when it did. */
  closedByServer: string | undefined;

  constructor(ws: WebSocket, socket: Socket, private readonly barrierTimeoutMs: number = DEFAULTS.ORDERING_BARRIER_TIMEOUT_MS) {
    this.ws = ws;
    this.socket = socket;
    ws.on('pong', (data: Buffer) => {
      if (this.barriers.size === 0) return;
      const release = this.barriers.get(data.toString());
      if (release !== undefined) release();
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        this.close(CloseCode.UNSUPPORTED_DATA, 'binary frames are not supported: send JSON-RPC as text');
        return;
      }
      this.events?.onText(data.toString());
    });
    ws.on('close', (code: number) => {
      for (const release of this.barriers.values()) release();
      this.events?.onClose(code);
    });
    ws.on('error', () => {
      // 'close' follows every error; nothing more to do here (the error is the peer's problem, e.g. a bad frame).
    });
  }

  /** Where incoming frames and the close go (the session this connection serves; it may change on resume). */
  listen(events: WebSocketConnectionEvents | undefined): void {
    this.events = events;
  }

  /** Hand frames that arrived while no one could take them (a resume handover) to the current listener, in order. */
  redeliver(texts: string[]): void {
    for (const text of texts) {
      if (!this.open) return; // closed on the way (the message budget, a policy close): the rest is moot
      this.events?.onText(text);
    }
  }

  get open(): boolean {
    return this.ws.readyState === OPEN;
  }

  write(_stream: string, _seq: number, text: string, _message: OutMessage | undefined): void {
    if (this.ws.readyState !== OPEN) return;
    if (!this.corked) this.corkUntilNextTick();
    this.ws.send(text);
  }

  private corkUntilNextTick(): void {
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  /** Bytes not yet handed to the kernel: ws counts its own queue and the socket's buffer. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  whenDrained(): Promise<void> {
    return whenDrained(this.socket);
  }

  /** The session stream of a WebSocket never completes on its own. */
  end(): void {}

  dropSlowClient(): void {
    this.closedByServer = 'client too slow';
    this.ws.terminate();
  }

  /**
   * The ordering barrier's round trip: a ping frame behind the frames written so far; resolves on its
   * pong (every WebSocket client answers pings), rejects after the timeout.
   */
  barrierPing(): Promise<void> {
    const payload = `b${++this.barrierCount}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.barriers.delete(payload);
        reject(new Error('no pong'));
      }, this.barrierTimeoutMs);
      timer.unref();
      this.barriers.set(payload, () => {
        clearTimeout(timer);
        this.barriers.delete(payload);
        resolve();
      });
      if (this.ws.readyState === OPEN) this.ws.ping(payload);
    });
  }

  /** A ping frame (heartbeat). */
  ping(): void {
    if (this.ws.readyState === OPEN) this.ws.ping();
  }

  /** Close with a close frame; a peer that never answers is dropped after ws's closeTimeout. */
  close(code: number, reason: string): void {
    this.closedByServer ??= reason || `closed with ${code}`;
    if (this.ws.readyState === OPEN) this.ws.close(code, reason);
    else if (this.ws.readyState === CONNECTING) this.ws.terminate();
    // CLOSING: the handshake under way finishes (or ws's closeTimeout drops the peer).
  }

  /** Drop the connection without a close handshake (a dead peer). */
  terminate(reason: string): void {
    this.closedByServer ??= reason;
    this.ws.terminate();
  }

  /** The underlying `ws` socket, for the heartbeat (pong events). */
  get raw(): WebSocket {
    return this.ws;
  }
}
