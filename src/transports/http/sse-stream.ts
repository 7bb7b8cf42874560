// One text/event-stream response on a node `ServerResponse`, written the way proxies and clients need:
// proxy-safe headers, headers and a first byte sent at once (HTTP/2 proxies and ALBs hold a stream that
// has sent nothing), an `id` on every event, every event written in one event-loop turn leaving in one
// chunk (one syscall instead of one per event), and flow control the tool runner can wait on.
import { whenDrained } from '../drain.js';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Headers on every SSE response (shared/notes/peers.md: nginx buffering, no-transform for compressing proxies). */
export const SSE_HEADERS: Readonly<OutgoingHttpHeaders> = Object.freeze({
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
});

const RESOLVED = Promise.resolve();

export class SseStream {
  readonly res: ServerResponse;
  /** Set once the response is finished or its connection is gone; nothing is written after that. */
  closed = false;
  /** Called once when the client goes away before `end()`. */
  onclose?: () => void;

  private pending = '';
  private flushScheduled = false;
  private ending = false;
  private readonly keepalive: SseKeepalive | undefined;
  private readonly flush = () => {
    this.flushScheduled = false;
    if (this.closed || this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.res.write(text);
    if (this.ending) this.finish();
  };

  constructor(res: ServerResponse, keepalive?: SseKeepalive) {
    this.res = res;
    this.keepalive = keepalive;
    res.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      this.keepalive?.delete(this);
      this.onclose?.();
    });
  }

  /**
   * Send the status line and headers, plus `first` (an event or a comment) so a byte goes out at once.
   * `headers` are added to (and may not override) the SSE headers.
   */
  open(headers: OutgoingHttpHeaders, first: string): void {
    this.res.writeHead(200, { ...headers, ...SSE_HEADERS });
    this.write(first);
    this.keepalive?.add(this);
  }

  /** One `message` event (or `type`) with an id; `data` must be a single line (JSON.stringify output is). */
  event(id: string, data: string, type?: string): void {
    this.write(type === undefined ? `id: ${id}\ndata: ${data}\n\n` : `event: ${type}\nid: ${id}\ndata: ${data}\n\n`);
  }

  /** An SSE comment line: ignored by clients, keeps proxies from timing out an idle stream. */
  comment(text: string): void {
    this.write(`: ${text}\n\n`);
  }

  /** Queue raw SSE text; everything queued in this turn is written together on the next tick. */
  write(text: string): void {
    if (this.closed) return;
    this.pending += text;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flush);
    }
  }

  /** End the response after whatever is queued has been written. */
  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    if (!this.flushScheduled) this.finish();
  }

  private finish(): void {
    this.closed = true;
    this.keepalive?.delete(this);
    this.res.end();
  }

  /** Drop the connection now, whatever is queued (a client that stopped reading). */
  destroy(): void {
    if (this.closed) return;
    this.pending = '';
    this.res.destroy();
  }

  /** Bytes queued here and in the socket, not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.closed ? 0 : this.pending.length + this.res.writableLength;
  }

  /** Resolves once the socket's buffer drained (or the stream closed). */
  whenDrained(): Promise<void> {
    return this.closed ? RESOLVED : whenDrained(this.res);
  }

}

/**
 * One timer for every open SSE stream: each tick writes a `: keepalive` comment on every stream, so no
 * proxy or load balancer ever sees one idle for longer than the interval (a comment is 14 bytes; on a
 * busy stream it rides along with the events of that turn).
 */
export class SseKeepalive {
  readonly intervalMs: number;
  private readonly streams = new Set<SseStream>();
  private timer: NodeJS.Timeout | undefined;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  get size(): number {
    return this.streams.size;
  }

  add(stream: SseStream): void {
    this.streams.add(stream);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
  }

  delete(stream: SseStream): void {
    this.streams.delete(stream);
    if (this.streams.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    for (const s of this.streams) s.comment('keepalive');
  }
}
