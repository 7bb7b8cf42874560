// MCP Streamable HTTP (2025-11-25) for one session. A session has several HTTP responses open at once:
// one per POST that carries a request (its own stream in the outbox: progress, logs and server→client
// requests about that request go there, and its response ends it) plus the optional GET stream (the
// session stream: everything else). Each message goes on exactly one stream, as the spec requires.
//
// JSON or SSE per POST (request-sink.ts): an answer ready in the turn that received the request is
// answered `application/json`; anything sent first, or a tools/call still running at the end of the
// turn, makes it an SSE stream. Every SSE event has an id; a client that lost a stream resumes it with
// GET + Last-Event-ID and gets what it missed on that stream only, then the rest live.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Errors } from '../../errors.js';
import { errorResponse, type IncomingMessage, type IncomingRequest } from '../../jsonrpc.js';
import { formatEventId, parseEventId, SESSION_STREAM } from '../../outbox/event-log.js';
import type { Session, SessionBinding } from '../../sessions/session.js';
import type { SessionHost } from '../websocket/session-transport.js';
import { IdleTimer } from './idle-timer.js';
import type { HttpSessionOptions } from './legacy-sse-transport.js';
import { RequestSink } from './request-sink.js';
import { SseSink } from './sse-sink.js';
import { SseStream } from './sse-stream.js';

/** Clients of this revision and later understand the priming event (an id with empty data). */
const PRIMING_SINCE = '2025-11-25';

export class StreamableTransport implements SessionBinding {
  readonly session: Session;
  private readonly host: SessionHost;
  private readonly options: HttpSessionOptions;
  private readonly headers: OutgoingHttpHeaders;
  /** Open responses (POSTs and GET streams): the idle clock runs only while there is none. */
  private readonly live = new Set<ServerResponse>();
  private readonly idle: IdleTimer;
  private ended = false;
  /** The open GET stream of the session stream, if any. */
  private sessionStream: SseStream | undefined;

  constructor(session: Session, host: SessionHost, options: HttpSessionOptions) {
    this.session = session;
    this.host = host;
    this.options = options;
    this.headers = { 'mcp-session-id': session.id };
    this.idle = new IdleTimer(options.idleTimeoutMs, () => this.end('idle: no stream and no request'));
    session.binding = this;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** A notification or response POSTed by the client (answered 202 by the route). */
  receive(message: IncomingMessage): void {
    if (this.ended) return;
    if (this.live.size === 0) this.idle.arm();
    this.host.receive(this.session, message);
  }

  /**
   * A POSTed request: `res` stays open until its response. `streamNow` makes it an SSE stream at the end
   * of the turn if no answer came by then (tools/call: progress may follow much later).
   */
  receiveRequest(message: IncomingRequest, res: ServerResponse, streamNow: boolean): void {
    if (this.ended) {
      res.writeHead(404).end();
      return;
    }
    const outbox = this.session.outbox;
    if (outbox.hasRequestStream(message.id)) {
      // Another request with this id is still open: answering this one on its stream would orphan that one.
      const body = JSON.stringify(errorResponse(message.id, Errors.INVALID_REQUEST.rpc, `Invalid Request: request id ${JSON.stringify(message.id)} is already in flight`));
      res.writeHead(400, { ...this.headers, 'content-type': 'application/json' }).end(body);
      return;
    }
    const stream = outbox.openRequestStream(message.id);
    const sink = new RequestSink(res, this.session.id, stream, this.headers, () => this.primer(stream), this.options.keepalive);
    this.track(res);
    // The client dropped the POST before its answer: keep logging for a GET resume (not a cancel, per spec).
    res.on('close', () => outbox.detach(sink));
    outbox.attach(stream, sink);
    this.host.receive(this.session, message);
    if (streamNow) setImmediate(() => sink.streamIfUndecided());
  }

  /**
   * GET: the session stream, or (with a Last-Event-ID of this session) the resumption of the stream that
   * id belongs to. An id that is not this session's opens a plain session stream.
   */
  openStream(res: ServerResponse, lastEventId: string | undefined): void {
    if (this.ended) {
      res.writeHead(404).end();
      return;
    }
    const parsed = lastEventId === undefined ? undefined : parseEventId(lastEventId);
    // A stream this node has not written (another node's request stream) has no number here to check against.
    const known = parsed === undefined ? 0 : this.session.outbox.lastSeq(parsed.stream);
    const knownPosition = parsed === undefined ? false : parsed.stream === SESSION_STREAM ? this.session.outbox.acceptsPosition(SESSION_STREAM, parsed.seq) : known === 0 || parsed.seq <= known;
    const resume = parsed !== undefined && parsed.sessionId === this.session.id && knownPosition ? parsed : undefined;
    const stream = resume?.stream ?? SESSION_STREAM;
    const sse = new SseStream(res, this.options.keepalive);
    const sink = new SseSink(sse, this.session.id, false);
    this.track(res);
    if (stream === SESSION_STREAM) this.sessionStream = sse;
    sse.onclose = () => this.session.outbox.detach(sink);
    sse.open(this.headers, resume !== undefined ? ': resumed\n\n' : this.primer(stream));
    this.session.outbox.attach(stream, sink, resume?.seq);
  }

  async close(reason: string): Promise<void> {
    this.end(reason);
  }

  shutdown(reason: string): Promise<void> {
    return this.close(reason);
  }

  /** Another node holds the session's GET stream now: end ours (requests in flight here finish here). */
  async handOver(): Promise<void> {
    this.sessionStream?.end();
    this.sessionStream = undefined;
  }

  /** The first bytes of a stream: a priming event (an id, no data) for clients that resume with it. */
  private primer(stream: string): string {
    const version = this.session.protocolVersion;
    if (version === undefined || version < PRIMING_SINCE) return ': stream\n\n';
    return `id: ${formatEventId(this.session.id, stream, this.session.outbox.lastSeq(stream))}\ndata: \n\n`;
  }

  /** Count an open response; the idle clock runs only while none is open. */
  private track(res: ServerResponse): void {
    this.live.add(res);
    this.idle.clear();
    res.on('close', () => {
      this.live.delete(res);
      if (this.live.size === 0 && !this.ended) this.idle.arm();
    });
  }

  /** End every open response and the session (DELETE, idle timeout, shutdown). */
  private end(why: string): void {
    if (this.ended) return;
    this.ended = true;
    this.idle.clear();
    for (const res of this.live) {
      if (!res.headersSent) res.writeHead(404, this.headers).end();
      else res.end();
    }
    this.live.clear();
    this.host.endSession(this.session, why);
  }
}
