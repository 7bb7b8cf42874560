// The in-memory event log: one ring per session, bounded by count and by bytes. Slots are parallel
// arrays allocated on first use and grown as events come, so an idle session that sent a handful of
// events pays for a handful, not for the capacity. Sequence numbers are per stream.
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { DEFAULTS } from '../defaults.js';
import type { EventLog, EventLogFactory, ReplayResult } from './event-log.js';

/**
 * Slots of the first allocation of each ring array. `[]` grows to 17 slots at the first store, four
 * times over, for a session that may only ever log its initialize result: ~450 B per idle session.
 */
const FIRST_SLOTS = 4;

export interface MemoryEventLogOptions {
  /** Most events kept (EVENT_BUFFER_EVENTS); 0 keeps none (numbers still count). */
  maxEvents?: number;
  /** Most bytes of kept events (EVENT_BUFFER_BYTES, counted as UTF-16 code units); the newest event is always kept. */
  maxBytes?: number;
}

interface LostResponse {
  stream: string;
  seq: number;
  id: RequestId;
}

export class MemoryEventLog implements EventLog {
  readonly maxEvents: number;
  readonly maxBytes: number;
  private streams: string[] | undefined;
  private seqs: number[] | undefined;
  private texts: Array<string | undefined> | undefined;
  private pending: Array<RequestId | undefined> | undefined;
  /** Slot of the oldest kept event. */
  private head = 0;
  private size = 0;
  private bytes = 0;
  private readonly seqByStream = new Map<string, number>();
  /** Undelivered responses pushed out of the ring, until a replay reports them (bounded by maxEvents). */
  private lost: LostResponse[] = [];

  constructor(options: MemoryEventLogOptions = {}) {
    this.maxEvents = options.maxEvents ?? DEFAULTS.EVENT_BUFFER_EVENTS;
    this.maxBytes = options.maxBytes ?? DEFAULTS.EVENT_BUFFER_BYTES;
  }

  append(stream: string, text: string, undeliveredResponse?: RequestId): number {
    const seq = (this.seqByStream.get(stream) ?? 0) + 1;
    this.seqByStream.set(stream, seq);
    const capacity = this.maxEvents;
    if (capacity === 0) {
      if (undeliveredResponse !== undefined) this.remember({ stream, seq, id: undeliveredResponse });
      return seq;
    }
    if (this.size === capacity) this.evictOldest();
    const slot = (this.head + this.size) % capacity;
    (this.streams ??= new Array(FIRST_SLOTS))[slot] = stream;
    (this.seqs ??= new Array(FIRST_SLOTS))[slot] = seq;
    (this.texts ??= new Array(FIRST_SLOTS))[slot] = text;
    (this.pending ??= new Array(FIRST_SLOTS))[slot] = undeliveredResponse;
    this.size++;
    this.bytes += text.length;
    while (this.bytes > this.maxBytes && this.size > 1) this.evictOldest();
    return seq;
  }

  lastSeq(stream: string): number {
    return this.seqByStream.get(stream) ?? 0;
  }

  /**
   * Forget the stream's number: nothing more is appended to it, and a replay finds its events in the ring
   * by name. Kept while its response waits undelivered, since a resume may still report that one lost
   * (and the report is numbered after it).
   */
  complete(stream: string): void {
    if (this.size > 0) {
      const newest = (this.head + this.size - 1) % this.maxEvents;
      if (this.streams![newest] === stream && this.pending![newest] !== undefined) return;
    }
    if (this.lost.some((l) => l.stream === stream)) return;
    this.seqByStream.delete(stream);
  }

  replay(stream: string, afterSeq: number): ReplayResult {
    const events: ReplayResult['events'] = [];
    const capacity = this.maxEvents;
    for (let i = 0; i < this.size; i++) {
      const slot = (this.head + i) % capacity;
      if (this.streams![slot] !== stream) continue;
      const seq = this.seqs![slot]!;
      if (seq > afterSeq) events.push({ seq, text: this.texts![slot]! });
    }
    const lostResponses: RequestId[] = [];
    if (this.lost.length > 0) {
      const kept: LostResponse[] = [];
      for (const l of this.lost) {
        if (l.stream === stream && l.seq > afterSeq) lostResponses.push(l.id);
        else if (l.stream !== stream) kept.push(l);
      }
      this.lost = kept;
    }
    return { events, lostResponses };
  }

  close(): void {
    this.streams = this.seqs = this.texts = this.pending = undefined;
    this.head = this.size = this.bytes = 0;
    this.lost = [];
  }

  private evictOldest(): void {
    const slot = this.head;
    this.bytes -= this.texts![slot]!.length;
    this.texts![slot] = undefined; // let the text go now, not when the slot is reused
    const id = this.pending![slot];
    if (id !== undefined) {
      this.pending![slot] = undefined;
      this.remember({ stream: this.streams![slot]!, seq: this.seqs![slot]!, id });
    }
    this.head = (this.head + 1) % this.maxEvents;
    this.size--;
  }

  private remember(lost: LostResponse): void {
    this.lost.push(lost);
    if (this.lost.length > Math.max(this.maxEvents, 1)) this.lost.shift();
  }
}

export class MemoryEventLogFactory implements EventLogFactory {
  constructor(private readonly options: MemoryEventLogOptions = {}) {}

  create(_sessionId: string): MemoryEventLog {
    return new MemoryEventLog(this.options);
  }
}
