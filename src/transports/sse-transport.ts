// The server side of the legacy HTTP+SSE transport (MCP 2024-11-05), as an SDK `Transport` for one
// session: everything the server sends goes down one GET text/event-stream; the client POSTs each of
// its messages to the endpoint announced in the first event. The session outlives its stream: when the
// stream drops, messages are kept in the session's event buffer and a reconnect with `Last-Event-ID`
// (EventSource sends it by itself) replays what was missed. Without a stream and without requests for
// the idle timeout, the session ends.
import { IdleTimer } from './idle-timer.js';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import type { SessionTransport } from '../sessions/session.js';
import { EventBuffer } from '../sessions/event-buffer.js';
import { SseStream, type SseKeepalive } from './sse-stream.js';

const RESOLVED = Promise.resolve();
/** The one stream of a legacy session, in event ids. */
const STREAM = 'g';

export interface HttpTransportOptions {
  sessionId: string;
  /** Events kept for replay (EVENT_BUFFER_EVENTS). */
  bufferEvents: number;
  /** Most bytes of kept events (EVENT_BUFFER_BYTES). */
  bufferBytes?: number;
  /** End the session after this long with no open stream and no request (SESSION_IDLE_TIMEOUT_MS). */
  idleTimeoutMs: number;
  keepalive?: SseKeepalive;
}

export class SseServerTransport implements SessionTransport {
  readonly sessionId: string;
  readonly events: EventBuffer;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;

  private stream: SseStream | undefined;
  private closed = false;
  private idle: IdleTimer | undefined;
  private readonly options: HttpTransportOptions;

  constructor(options: HttpTransportOptions) {
    this.options = options;
    this.sessionId = options.sessionId;
    this.events = new EventBuffer(options.sessionId, options.bufferEvents, options.bufferBytes);
  }

  async start(): Promise<void> {}

  /**
   * Make `res` the session's stream. A fresh stream starts with the `endpoint` event; a resumed one
   * (`resumeAfter` = the sequence of the client's Last-Event-ID) replays every later event first.
   * A stream that was still open is ended: the client evidently lost it.
   */
  attachStream(res: ServerResponse, endpoint: string, headers: OutgoingHttpHeaders, resumeAfter?: number): void {
    if (this.closed) {
      res.writeHead(404).end();
      return;
    }
    this.stream?.end();
    const stream = new SseStream(res, this.options.keepalive);
    this.stream = stream;
    this.idle?.clear();
    stream.onclose = () => {
      if (this.stream === stream) {
        this.stream = undefined;
        this.armIdle();
      }
    };
    // On a resumed stream the endpoint event carries no id, so the client's Last-Event-ID stays the
    // one it sent until a replayed event moves it on.
    stream.open(headers, resumeAfter === undefined
      ? `event: endpoint\nid: ${this.events.idAt(STREAM)}\ndata: ${endpoint}\n\n`
      : `event: endpoint\ndata: ${endpoint}\n\n`);
    if (resumeAfter !== undefined) this.events.replay(STREAM, resumeAfter, (id, text) => stream.event(id, text));
  }

  /** A message the client POSTed. */
  receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (this.closed) return;
    if (this.stream === undefined) this.armIdle(); // a POST during a reconnect restarts the idle clock
    this.onmessage?.(message, extra);
  }

  send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    if (this.closed) return RESOLVED;
    const text = JSON.stringify(message);
    const id = this.events.append(STREAM, text);
    this.stream?.event(id, text);
    return RESOLVED;
  }

  get bufferedAmount(): number {
    return this.stream?.bufferedAmount ?? 0;
  }

  whenDrained(): Promise<void> {
    return this.stream?.whenDrained() ?? RESOLVED;
  }

  /** End the stream and the session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.idle?.clear();
    this.stream?.end();
    this.stream = undefined;
    this.events.clear();
    this.onclose?.();
  }

  shutdown(_reason: string): Promise<void> {
    return this.close();
  }

  /** End the session after SESSION_IDLE_TIMEOUT_MS with no open stream and no request. */
  private armIdle(): void {
    if (this.closed) return;
    (this.idle ??= new IdleTimer(this.options.idleTimeoutMs, () => void this.close())).arm();
  }
}
