// The server side of MCP Streamable HTTP (2025-11-25) for one session, as an SDK `Transport`. A session
// has several HTTP responses open at once: one per POST that carries a request, plus the optional GET
// stream. Routing (spec: each message on exactly one stream):
//   - a response goes to the POST of the request it answers, and ends that response;
//   - a message sent with `relatedRequestId` (progress, logs, sampling during a call) goes to that POST;
//   - anything else goes to the GET stream, or waits in the session's event buffer until one opens.
// JSON or SSE per POST: a request whose answer is ready within the event-loop turn that received it
// (initialize, ping, tools/list, a quick tool such as echo) is answered `application/json` — one write
// with a Content-Length. As soon as anything else must be sent first (a progress or log notification,
// a server→client request), or the turn ends without an answer, the response becomes an SSE stream
// whose headers and first byte leave at once, so progress flows as it happens.
// Every SSE event has an id; a client that lost a stream resumes with GET + Last-Event-ID and gets the
// events of that stream it missed (spec: replay only that stream), then the rest of it live.
import { IdleTimer } from './idle-timer.js';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { SessionTransport } from '../sessions/session.js';
import { RpcCode } from '../errors.js';
import { errorResponse } from '../jsonrpc.js';
import { EventBuffer } from '../sessions/event-buffer.js';
import { SseStream } from './sse-stream.js';
import type { HttpTransportOptions } from './sse-transport.js';

const RESOLVED = Promise.resolve();
/** The session's standalone (GET) stream, in event ids. */
const STANDALONE = 'g';
/** Clients of this revision and later understand the priming event (an id with empty data). */
const PRIMING_SINCE = '2025-11-25';

/** One POST that carries a request, from its arrival until its response is written or buffered. */
interface RequestStream {
  readonly key: string;
  readonly requestId: RequestId;
  /** The POST's response while it is open and still undecided (JSON or SSE). */
  res: ServerResponse | undefined;
  /** Once the POST became an SSE stream, or a GET resumed it. */
  sse: SseStream | undefined;
}

export class StreamableHttpTransport implements SessionTransport {
  /** The SDK client reads a response stream event by event (an await each), so progress is handled before the result. */
  readonly ordersProgressBeforeResult = true;
  readonly sessionId: string;
  readonly events: EventBuffer;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  /** Negotiated protocol version, for the priming decision (set by the route after initialize). */
  protocolVersion: () => string | undefined = () => undefined;

  private readonly byRequest = new Map<RequestId, RequestStream>();
  private readonly byKey = new Map<string, RequestStream>();
  private standalone: SseStream | undefined;
  /** First sequence number buffered on the standalone stream while no GET stream was open. */
  private undeliveredAfter: number | undefined;
  /** Responses written while their client was away, by stream: what a resume must deliver. */
  private readonly awaitingResume = new Map<string, { requestId: RequestId; seq: number }>();
  private readonly live = new Set<ServerResponse>();
  private nextStream = 0;
  private closed = false;
  private idle: IdleTimer | undefined;
  private readonly options: HttpTransportOptions;
  private readonly headers: OutgoingHttpHeaders;

  constructor(options: HttpTransportOptions) {
    this.options = options;
    this.sessionId = options.sessionId;
    this.events = new EventBuffer(options.sessionId, options.bufferEvents, options.bufferBytes);
    this.headers = { 'mcp-session-id': options.sessionId };
  }

  async start(): Promise<void> {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** A notification or response POSTed by the client (answered 202 by the route). */
  receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (this.closed) return;
    this.touch();
    this.onmessage?.(message, extra);
  }

  /**
   * A POSTed request: `res` stays open until its response. `streamNow` opens the SSE stream at the end
   * of this turn if no answer came by then (tools/call: progress may follow much later).
   */
  receiveRequest(message: JSONRPCMessage & { id: RequestId }, res: ServerResponse, extra: MessageExtraInfo | undefined, streamNow: boolean): void {
    if (this.closed) {
      res.writeHead(404).end();
      return;
    }
    if (this.byRequest.has(message.id)) {
      // Another request with this id is still open: answering this one on its stream would orphan that one.
      const body = JSON.stringify(errorResponse(message.id, RpcCode.INVALID_REQUEST, `Invalid Request: request id ${JSON.stringify(message.id)} is already in flight`));
      res.writeHead(400, { ...this.headers, 'content-type': 'application/json' }).end(body);
      return;
    }
    const rs: RequestStream = { key: String(++this.nextStream), requestId: message.id, res, sse: undefined };
    this.byRequest.set(rs.requestId, rs);
    this.byKey.set(rs.key, rs);
    this.track(res);
    res.on('close', () => {
      // The client dropped the POST before its answer: keep buffering for a GET resume (not a cancel, per spec).
      if (rs.res === res) rs.res = undefined;
    });
    this.onmessage?.(message, extra);
    if (streamNow && rs.res !== undefined && rs.sse === undefined) {
      setImmediate(() => {
        if (rs.res !== undefined && rs.sse === undefined && this.byRequest.get(rs.requestId) === rs) this.openSse(rs);
      });
    }
  }

  /**
   * GET: the standalone stream, or (with a Last-Event-ID of this session) the resumption of the stream
   * that id belongs to. Returns false when the id is not one of this session's (caller: plain stream).
   */
  openStream(res: ServerResponse, lastEventId: string | undefined): void {
    if (this.closed) {
      res.writeHead(404).end();
      return;
    }
    const resume = lastEventId === undefined ? undefined : this.events.parse(lastEventId);
    const sse = new SseStream(res, this.options.keepalive);
    this.track(res);
    if (resume === undefined || resume.stream === STANDALONE) {
      // A new standalone stream replaces an old one (whose client evidently lost it).
      this.standalone?.end();
      this.standalone = sse;
      sse.onclose = () => {
        if (this.standalone === sse) this.standalone = undefined;
      };
      sse.open(this.headers, this.primer(STANDALONE));
      const after = resume?.seq ?? this.undeliveredAfter;
      this.undeliveredAfter = undefined;
      if (after !== undefined) this.events.replay(STANDALONE, after, (id, text) => sse.event(id, text));
      return;
    }
    // Resuming a request's stream: replay it; if its response is still to come, this GET carries it.
    sse.open(this.headers, ': resumed\n\n');
    const pending = this.awaitingResume.get(resume.stream);
    let answered = false;
    this.events.replay(resume.stream, resume.seq, (id, text) => {
      if (pending !== undefined && id.endsWith(`.${pending.seq}`)) answered = true;
      sse.event(id, text);
    });
    const rs = this.byKey.get(resume.stream);
    if (rs === undefined) {
      if (pending !== undefined) {
        this.awaitingResume.delete(resume.stream);
        // The buffer overflowed past the response: say so plainly rather than leave the client waiting.
        if (!answered) {
          const text = JSON.stringify(errorResponse(pending.requestId, RpcCode.RESULT_LOST, 'The result of this request was lost: more events were sent while you were away than the server keeps (EVENT_BUFFER_EVENTS)'));
          sse.event(this.events.append(resume.stream, text), text);
        }
      }
      sse.end();
      return;
    }
    rs.sse?.end();
    rs.res = undefined;
    rs.sse = sse;
    sse.onclose = () => {
      if (rs.sse === sse) rs.sse = undefined;
    };
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.closed) return RESOLVED;
    const m = message as { id?: RequestId; method?: string };
    if (m.method === undefined && m.id !== undefined) {
      this.deliverResponse(m.id, message);
      return RESOLVED;
    }
    const related = options?.relatedRequestId;
    const rs = related === undefined ? undefined : this.byRequest.get(related);
    if (rs !== undefined) {
      if (rs.sse === undefined && rs.res !== undefined) this.openSse(rs);
      const text = JSON.stringify(message);
      const id = this.events.append(rs.key, text);
      rs.sse?.event(id, text);
      return RESOLVED;
    }
    const text = JSON.stringify(message);
    const seq = this.events.record(STANDALONE, text);
    if (this.standalone !== undefined) this.standalone.event(this.events.eventId(STANDALONE, seq), text);
    else if (this.undeliveredAfter === undefined) this.undeliveredAfter = seq - 1;
    return RESOLVED;
  }

  private deliverResponse(requestId: RequestId, message: JSONRPCMessage): void {
    const rs = this.byRequest.get(requestId);
    if (rs === undefined) return; // answered already, or never asked on this transport
    this.byRequest.delete(requestId);
    this.byKey.delete(rs.key);
    const text = JSON.stringify(message);
    if (rs.sse === undefined && rs.res !== undefined) {
      // Still undecided: the whole answer in one JSON body.
      rs.res.writeHead(200, { ...this.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      rs.res.end(text);
      rs.res = undefined;
      return;
    }
    const seq = this.events.record(rs.key, text);
    if (rs.sse !== undefined) {
      rs.sse.event(this.events.eventId(rs.key, seq), text);
      rs.sse.end();
    } else {
      // The client is away: the response waits in the buffer for a GET with Last-Event-ID.
      this.awaitingResume.set(rs.key, { requestId, seq });
    }
  }

  private openSse(rs: RequestStream): void {
    const sse = new SseStream(rs.res!, this.options.keepalive);
    rs.sse = sse;
    rs.res = undefined;
    sse.onclose = () => {
      if (rs.sse === sse) rs.sse = undefined;
    };
    sse.open(this.headers, this.primer(rs.key));
  }

  /** The first bytes of a stream: a priming event (an id, no data) for clients that resume with it. */
  private primer(stream: string): string {
    const version = this.protocolVersion();
    return version !== undefined && version >= PRIMING_SINCE ? `id: ${this.events.idAt(stream)}\ndata: \n\n` : ': stream\n\n';
  }

  /** Count an open response; the idle clock runs only while none is open. */
  private track(res: ServerResponse): void {
    this.live.add(res);
    this.idle?.clear();
    res.on('close', () => {
      this.live.delete(res);
      if (this.live.size === 0) this.armIdle();
    });
  }

  /** Any request from the client restarts the idle clock. */
  touch(): void {
    if (this.live.size === 0) this.armIdle();
  }

  get bufferedAmount(): number {
    let n = this.standalone?.bufferedAmount ?? 0;
    for (const rs of this.byRequest.values()) if (rs.sse !== undefined) n += rs.sse.bufferedAmount;
    return n;
  }

  /** Resolves once every stream of the session has drained (an idle stream must not end the wait early). */
  whenDrained(): Promise<void> {
    const waits: Promise<void>[] = [];
    if (this.standalone !== undefined) waits.push(this.standalone.whenDrained());
    for (const rs of this.byRequest.values()) if (rs.sse !== undefined) waits.push(rs.sse.whenDrained());
    return waits.length === 0 ? RESOLVED : Promise.all(waits).then(() => undefined);
  }

  /** End every open response and the session (DELETE, idle timeout, shutdown). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.idle?.clear();
    this.standalone?.end();
    this.standalone = undefined;
    for (const rs of this.byRequest.values()) {
      rs.sse?.end();
      if (rs.res !== undefined && !rs.res.headersSent) rs.res.writeHead(404, this.headers).end();
    }
    this.byRequest.clear();
    this.byKey.clear();
    this.awaitingResume.clear();
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
