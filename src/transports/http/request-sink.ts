// The response to one POSTed request (Streamable HTTP) as an outbox sink. It starts undecided: if the
// request's answer is the first thing written, it goes out as one `application/json` body with a
// Content-Length (one write; initialize, ping, tools/list, a quick tool such as echo). Anything else
// first (progress, a log, a server→client request), or `streamIfUndecided()` at the end of the turn
// for a tools/call, turns it into an SSE stream whose headers and first byte leave at once.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { formatEventId } from '../../outbox/event-log.js';
import { isResponse, type OutMessage } from '../../outbox/messages.js';
import type { OutboxSink } from '../../outbox/sink.js';
import { SseStream, type SseKeepalive } from './sse-stream.js';

const RESOLVED = Promise.resolve();

/** Nothing has been written to `res` yet and it can still take an answer. */
const unanswered = (res: ServerResponse): boolean => !res.destroyed && !res.headersSent && !res.writableEnded;

export class RequestSink implements OutboxSink {
  /** The SDK client reads a response stream event by event (an await each), so progress is handled before the result. */
  readonly needsOrderingBarrier = false;
  /** The POST's response while it is open and still undecided (JSON or SSE). */
  private res: ServerResponse | undefined;
  private sse: SseStream | undefined;

  constructor(
    res: ServerResponse,
    private readonly sessionId: string,
    private readonly stream: string,
    private readonly headers: OutgoingHttpHeaders,
    private readonly primer: () => string,
    private readonly keepalive: SseKeepalive | undefined,
  ) {
    this.res = res;
  }

  write(stream: string, seq: number, text: string, message: OutMessage | undefined): void {
    const res = this.res;
    if (res !== undefined && message !== undefined && isResponse(message)) {
      // Still undecided: the whole answer in one JSON body.
      this.res = undefined;
      if (!unanswered(res)) return;
      res.writeHead(200, { ...this.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if (this.sse === undefined && !this.openSse()) return;
    this.sse!.event(formatEventId(this.sessionId, stream, seq), text);
  }

  /** Undecided and still open: a response now leaves as one JSON body, without an event id. */
  writesWhole(message: OutMessage): boolean {
    const res = this.res;
    return res !== undefined && isResponse(message) && unanswered(res);
  }

  /** A tools/call still running at the end of its turn: stream from now on, so progress flows as it happens. */
  streamIfUndecided(): void {
    if (this.res !== undefined && this.sse === undefined) this.openSse();
  }

  private openSse(): boolean {
    const res = this.res;
    // Answered elsewhere already (the session ended and its transport closed every open response).
    if (res === undefined || !unanswered(res)) return false;
    this.res = undefined;
    this.sse = new SseStream(res, this.keepalive);
    this.sse.open(this.headers, this.primer());
    return true;
  }

  get bufferedAmount(): number {
    return this.sse?.bufferedAmount ?? 0;
  }

  whenDrained(): Promise<void> {
    return this.sse?.whenDrained() ?? RESOLVED;
  }

  /** The stream is complete; one that never decided (a call cancelled before anything was sent) ends as an empty event stream. */
  end(): void {
    if (this.sse === undefined && this.res !== undefined) this.openSse();
    this.sse?.end();
  }

  dropSlowClient(): void {
    this.sse?.destroy();
  }

  /** The stream this sink writes (for logs and tests). */
  get name(): string {
    return this.stream;
  }
}
