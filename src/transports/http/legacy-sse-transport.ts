// The legacy HTTP+SSE transport (MCP 2024-11-05) for one session: everything the server sends goes down
// one GET text/event-stream; the client POSTs each of its messages to the endpoint announced in the
// first event. The session outlives its stream: while none is open it waits detached (messages go to
// the event log), and a reconnect with `Last-Event-ID` (EventSource sends it by itself) replays what was
// missed. With no stream and no request for the idle timeout, the session ends.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { formatEventId, SESSION_STREAM } from '../../outbox/event-log.js';
import type { IncomingMessage } from '../../jsonrpc.js';
import type { Session, SessionBinding } from '../../sessions/session.js';
import type { SessionHost } from '../websocket/session-transport.js';
import { IdleTimer } from './idle-timer.js';
import { SseSink } from './sse-sink.js';
import { SseStream, type SseKeepalive } from './sse-stream.js';

export interface HttpSessionOptions {
  /** End the session after this long with no open stream and no request (SESSION_IDLE_TIMEOUT_MS). */
  idleTimeoutMs: number;
  keepalive?: SseKeepalive;
}

export class LegacySseTransport implements SessionBinding {
  readonly session: Session;
  private readonly host: SessionHost;
  private sink: SseSink | undefined;
  private readonly idle: IdleTimer;
  private readonly keepalive: SseKeepalive | undefined;
  private ended = false;

  constructor(session: Session, host: SessionHost, options: HttpSessionOptions) {
    this.session = session;
    this.host = host;
    this.keepalive = options.keepalive;
    this.idle = new IdleTimer(options.idleTimeoutMs, () => this.end('idle: no stream and no request'));
    session.binding = this;
  }

  get closed(): boolean {
    return this.ended;
  }

  /**
   * Make `res` the session's stream. A fresh stream starts with the `endpoint` event; a resumed one
   * (`resumeAfter`: the number in the client's Last-Event-ID) gets every later event first.
   */
  attachStream(res: ServerResponse, endpoint: string, headers: OutgoingHttpHeaders, resumeAfter?: number): void {
    if (this.ended) {
      res.writeHead(404).end();
      return;
    }
    const stream = new SseStream(res, this.keepalive);
    const sink = new SseSink(stream, this.session.id, true);
    this.sink = sink;
    this.idle.clear();
    this.session.detached = false;
    stream.onclose = () => {
      this.session.outbox.detach(sink);
      if (this.sink !== sink || this.ended) return;
      this.sink = undefined;
      this.session.detached = true;
      this.idle.arm();
    };
    // On a resumed stream the endpoint event carries no id, so the client's Last-Event-ID stays the one
    // it sent until a replayed event moves it on.
    stream.open(headers, resumeAfter === undefined
      ? `event: endpoint\nid: ${formatEventId(this.session.id, SESSION_STREAM, this.session.outbox.lastSeq(SESSION_STREAM))}\ndata: ${endpoint}\n\n`
      : `event: endpoint\ndata: ${endpoint}\n\n`);
    this.session.outbox.attach(SESSION_STREAM, sink, resumeAfter);
  }

  /** A message the client POSTed. */
  receive(message: IncomingMessage): void {
    if (this.ended) return;
    if (this.sink === undefined) this.idle.arm(); // a POST during a reconnect restarts the idle clock
    this.host.receive(this.session, message);
  }

  async close(reason: string): Promise<void> {
    this.end(reason);
  }

  shutdown(reason: string): Promise<void> {
    return this.close(reason);
  }

  /** Another node holds the session's stream now: end ours without ending the session. */
  async handOver(): Promise<void> {
    this.idle.clear();
    this.session.detached = false;
    const sink = this.sink;
    this.sink = undefined;
    if (sink === undefined) return;
    this.session.outbox.detach(sink);
    sink.end();
  }

  private end(why: string): void {
    if (this.ended) return;
    this.ended = true;
    this.idle.clear();
    const sink = this.sink;
    this.sink = undefined;
    this.session.detached = false;
    if (sink !== undefined) {
      this.session.outbox.detach(sink);
      sink.end();
    }
    this.host.endSession(this.session, why);
  }
}
