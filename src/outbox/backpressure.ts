// Backpressure for one sink. Over the high-water mark the client is "slow": the newest progress per call
// is kept instead of queueing every intermediate value, log messages are counted instead of sent, and
// results, errors and requests still go out. When the sink drains, what was coalesced goes out (then a
// warning naming how many log messages were dropped). A client that stays slow for the slow-client
// timeout is disconnected, which frees its buffers; the session may resume.
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { OutMessage } from './messages.js';
import type { OutboxSink } from './sink.js';
import type { TransportCounters } from '../metrics/telemetry.js';

export interface BackpressureOptions {
  /** Queued bytes above which the client counts as slow. */
  highWaterBytes: number;
  /** How long a client may stay slow before it is disconnected. */
  slowClientTimeoutMs: number;
}

export class SinkPressure {
  /** performance.now() when the client became slow; undefined while it keeps up. */
  private congestedSince: number | undefined;
  private slowTimer: NodeJS.Timeout | undefined;
  /** The newest progress per call, waiting for the client to catch up. */
  private readonly pending = new Map<RequestId, OutMessage>();
  private droppedLogs = 0;
  private stopped = false;

  constructor(
    private readonly sink: OutboxSink,
    private readonly options: BackpressureOptions,
    /** Called when the client caught up, to send what was held back. */
    private readonly onCaughtUp: (pressure: SinkPressure) => void,
    private readonly counters?: TransportCounters,
  ) {}

  get congested(): boolean {
    return this.congestedSince !== undefined;
  }

  /** Keep only the newest progress of its call (re-inserted: flush order follows the newest update). */
  coalesce(message: OutMessage): void {
    if (this.pending.delete(message.requestId!) && this.counters !== undefined) this.counters.progressCoalesced++;
    this.pending.set(message.requestId!, message);
  }

  countDroppedLog(): void {
    this.droppedLogs++;
  }

  /** The coalesced progress of one call (it goes right before that call's result). */
  take(requestId: RequestId): OutMessage | undefined {
    const message = this.pending.get(requestId);
    if (message !== undefined) this.pending.delete(requestId);
    return message;
  }

  /** The next coalesced progress to send, oldest update first. */
  next(): OutMessage | undefined {
    for (const [id, message] of this.pending) {
      this.pending.delete(id);
      return message;
    }
    return undefined;
  }

  /** How many log messages were dropped since the last call (and reset the count). */
  takeDroppedLogs(): number {
    const n = this.droppedLogs;
    this.droppedLogs = 0;
    return n;
  }

  /** After each write: a client over the mark becomes slow. */
  afterWrite(): void {
    if (this.congestedSince !== undefined || this.sink.bufferedAmount <= this.options.highWaterBytes) return;
    this.congestedSince = performance.now();
    if (this.counters !== undefined) this.counters.backpressureEpisodes++;
    this.slowTimer = setTimeout(() => {
      this.slowTimer = undefined;
      if (this.stopped || this.congestedSince === undefined) return;
      if (this.counters !== undefined) this.counters.slowClientDisconnects++;
      this.sink.dropSlowClient();
    }, this.options.slowClientTimeoutMs);
    this.slowTimer.unref();
    void this.sink.whenDrained().then(() => {
      if (this.stopped) return;
      this.clearCongestion();
      this.onCaughtUp(this);
    });
  }

  /** Stop timers (the sink went away). */
  stop(): void {
    this.stopped = true;
    this.clearCongestion();
  }

  private clearCongestion(): void {
    this.congestedSince = undefined;
    if (this.slowTimer !== undefined) clearTimeout(this.slowTimer);
    this.slowTimer = undefined;
  }
}
