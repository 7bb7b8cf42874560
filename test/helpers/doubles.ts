// Test doubles for unit tests of the core: a session whose outbox only records what it is handed, a
// sink whose buffer and drain the test controls, an asynchronous EventLog (our own interface, as a
// shared store would implement it), and gates for handlers that finish when the test says so.
// (registered-tool.ts has the tool double: it loads TypeBox, which the outbox tests do not need.)
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { Session, type TransportKind } from '../../src/sessions/session.js';
import type { Outbox } from '../../src/outbox/outbox.js';
import type { OutMessage } from '../../src/outbox/messages.js';
import type { OutboxSink } from '../../src/outbox/sink.js';
import type { EventLog, ReplayResult } from '../../src/outbox/event-log.js';
import { MemoryEventLog } from '../../src/outbox/memory-event-log.js';

/** A session whose outbox records every message it is handed (the runner's and dispatcher's output). */
export interface RecordingSession {
  session: Session;
  /** Every message handed to the outbox, in order. */
  sent: OutMessage[];
  /** The JSON-RPC bodies of `sent`. */
  bodies(): any[];
  /** The bodies that answer request `id` (results and errors). */
  answers(id: RequestId): any[];
}

export function recordingSession(id = 'session-1', kind: TransportKind = 'ws'): RecordingSession {
  const sent: OutMessage[] = [];
  const outbox = {
    push: (message: OutMessage) => void sent.push(message),
    connected: true,
    congested: false,
    bufferedAmount: 0,
    whenDrained: () => Promise.resolve(),
    endRequestStream() {},
    close() {},
  };
  const session = new Session(id, kind, undefined, () => outbox as unknown as Outbox);
  const bodies = () => sent.map((m) => m.body as any);
  return {
    session,
    sent,
    bodies,
    answers: (rid) => sent.filter((m) => (m.kind === 'result' || m.kind === 'error') && m.requestId === rid).map((m) => m.body as any),
  };
}

/** A promise the test settles by hand. */
export interface Gate<T = unknown> {
  promise: Promise<T>;
  open(value: T): void;
  fail(err: unknown): void;
}

export function gate<T = unknown>(): Gate<T> {
  let open!: (value: T) => void;
  let fail!: (err: unknown) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/** Let every pending promise reaction run (several rounds: chains of then). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** A sink that records writes; the test sets `bufferedAmount` and decides when it drains. */
export class FakeSink implements OutboxSink {
  readonly writes: Array<{ stream: string; seq: number; text: string; message: OutMessage | undefined }> = [];
  bufferedAmount = 0;
  needsOrderingBarrier: boolean;
  ended = 0;
  droppedSlow = 0;
  barrierPing?: () => Promise<void>;
  private drainWaiters: Array<() => void> = [];

  constructor(options: { needsOrderingBarrier?: boolean; barrierPing?: () => Promise<void> } = {}) {
    this.needsOrderingBarrier = options.needsOrderingBarrier ?? false;
    if (options.barrierPing) this.barrierPing = options.barrierPing;
  }

  write(stream: string, seq: number, text: string, message: OutMessage | undefined): void {
    this.writes.push({ stream, seq, text, message });
  }

  whenDrained(): Promise<void> {
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** The client read everything: the buffer empties and waiters resolve. */
  drain(): void {
    this.bufferedAmount = 0;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  end(): void {
    this.ended++;
  }

  dropSlowClient(): void {
    this.droppedSlow++;
  }

  /** Parsed bodies of every write, in order. */
  bodies(): any[] {
    return this.writes.map((w) => JSON.parse(w.text));
  }

  /** `stream:seq` of every write. */
  positions(): string[] {
    return this.writes.map((w) => `${w.stream}:${w.seq}`);
  }
}

/**
 * An EventLog whose replay answers asynchronously, as a shared store would: `replay` returns a promise
 * the test resolves with `finishReplay()`. With `snapshot: 'at-call'` the events are read when replay is
 * called; with `'at-resolve'` when it resolves (then events appended meanwhile are part of the answer).
 */
export class AsyncEventLog implements EventLog {
  readonly inner: MemoryEventLog;
  readonly pending: Array<{ finish(): void; fail(err: Error): void }> = [];
  closed = false;

  constructor(private readonly snapshot: 'at-call' | 'at-resolve', options: { maxEvents?: number; maxBytes?: number } = {}) {
    this.inner = new MemoryEventLog(options);
  }

  append(stream: string, text: string, undeliveredResponse?: RequestId): number {
    return this.inner.append(stream, text, undeliveredResponse);
  }

  lastSeq(stream: string): number {
    return this.inner.lastSeq(stream);
  }

  replay(stream: string, afterSeq: number): Promise<ReplayResult> {
    const early = this.snapshot === 'at-call' ? this.inner.replay(stream, afterSeq) : undefined;
    return new Promise((resolve, reject) => {
      this.pending.push({
        finish: () => resolve(early ?? this.inner.replay(stream, afterSeq)),
        fail: reject,
      });
    });
  }

  /** Resolve the oldest replay still pending. */
  finishReplay(): void {
    this.pending.shift()!.finish();
  }

  failReplay(err: Error): void {
    this.pending.shift()!.fail(err);
  }

  close(): void {
    this.closed = true;
    this.inner.close();
  }
}
