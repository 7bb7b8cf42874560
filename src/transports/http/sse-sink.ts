// An SSE response stream as an outbox sink: each message is one `message` event whose id names the
// session, the stream and the event's number on it (outbox/event-log.ts), so a client that loses the
// stream can come back with Last-Event-ID.
import { formatEventId } from '../../outbox/event-log.js';
import type { OutMessage } from '../../outbox/messages.js';
import type { OutboxSink } from '../../outbox/sink.js';
import type { SseStream } from './sse-stream.js';

export class SseSink implements OutboxSink {
  constructor(
    readonly stream: SseStream,
    private readonly sessionId: string,
    /** Legacy SSE clients (the SDK's EventSource) handle events of one read in one go: results wait for the barrier. */
    readonly needsOrderingBarrier: boolean,
  ) {}

  write(stream: string, seq: number, text: string, _message: OutMessage | undefined): void {
    this.stream.event(formatEventId(this.sessionId, stream, seq), text);
  }

  get bufferedAmount(): number {
    return this.stream.bufferedAmount;
  }

  whenDrained(): Promise<void> {
    return this.stream.whenDrained();
  }

  end(): void {
    this.stream.end();
  }

  /** Ending the response frees its buffers; the client reconnects with Last-Event-ID. */
  dropSlowClient(): void {
    this.stream.destroy();
  }
}
