// The response to one MCP 2026-07-28 POST as an outbox sink (the stateless wire): like RequestSink it
// answers `application/json` when the answer is the first thing written, and turns into a
// `text/event-stream` when something comes first (progress, a log) or when told to (a tools/call still
// running at the end of its turn, a subscription). Unlike it: no event ids, no priming event, no
// session header (resumability is gone in 2026-07-28), and the JSON answer's HTTP status follows the
// error (400 for a missing client capability).
import type { ServerResponse } from 'node:http';
import { isResponse, type OutMessage } from '../../outbox/messages.js';
import type { OutboxSink } from '../../outbox/sink.js';
import { SseStream, type SseKeepalive } from './sse-stream.js';

const RESOLVED = Promise.resolve();

export class ModernResponseSink implements OutboxSink {
  /** The SDK clients read a response stream event by event: progress is handled before the result. */
  readonly needsOrderingBarrier = false;
  private res: ServerResponse | undefined;
  private sse: SseStream | undefined;
  /** True once the answer was written. */
  done = false;
  /** Called once the answer was written (the request context can go). */
  onDone: (() => void) | undefined;

  constructor(
    res: ServerResponse,
    private readonly keepalive: SseKeepalive | undefined,
    /** HTTP status of a JSON answer. */
    private readonly statusOf: (message: OutMessage) => number,
  ) {
    this.res = res;
  }

  write(_stream: string, _seq: number, text: string, message: OutMessage | undefined): void {
    const final = message !== undefined && isResponse(message);
    const res = this.res;
    if (res !== undefined && final) {
      this.res = undefined;
      if (!res.destroyed) {
        res.writeHead(this.statusOf(message), { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      }
      return this.finish();
    }
    if (this.sse === undefined && !this.openSse('')) return;
    this.sse!.write(`event: message\ndata: ${text}\n\n`);
    if (final) {
      this.sse!.end();
      this.finish();
    }
  }

  /** Stream from now on (a call still running, a subscription); a comment goes out so proxies see a byte. */
  streamIfUndecided(): void {
    if (this.res !== undefined && this.sse === undefined) this.openSse(': stream\n\n');
  }

  private openSse(first: string): boolean {
    const res = this.res;
    if (res === undefined || res.destroyed) return false;
    this.res = undefined;
    this.sse = new SseStream(res, this.keepalive);
    this.sse.open({}, first);
    return true;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.onDone?.();
  }

  get bufferedAmount(): number {
    return this.sse?.bufferedAmount ?? 0;
  }

  whenDrained(): Promise<void> {
    return this.sse?.whenDrained() ?? RESOLVED;
  }

  end(): void {
    this.sse?.end();
  }

  dropSlowClient(): void {
    this.sse?.destroy();
  }
}
