// One outbox per session: everything the server sends to a client goes through it, whatever the
// transport. It owns
//   - routing: a message about a request that has its own stream (a Streamable HTTP POST) goes there;
//     everything else goes to the session stream;
//   - numbering and replay: each message is recorded in the session's event log before it is written;
//     a sink that attaches with a last event id gets what came after it, exactly once, in order, then
//     live traffic (an async log is replayed while live messages wait behind it);
//   - backpressure (backpressure.ts) and the ordering policy (ordering-barrier.ts);
//   - results that can no longer be delivered: a resume that finds a result evicted gets an explicit
//     error for it, never silence.
// Transports only frame and write (sink.ts).
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { Errors } from '../errors.js';
import { errorResponse } from '../jsonrpc.js';
import { DEFAULTS } from '../defaults.js';
import { SinkPressure, type BackpressureOptions } from './backpressure.js';
import { SESSION_STREAM, type EventLog, type ReplayResult } from './event-log.js';
import { errorMessage, isResponse, logMessage, type OutMessage } from './messages.js';
import { OrderingBarrier } from './ordering-barrier.js';
import type { OutboxSink } from './sink.js';
import { newCounters, type TransportCounters } from '../metrics/telemetry.js';

/** Completed request streams kept for a client that may still come back for their response. */
const MAX_COMPLETED_STREAMS = 1_000;
/** Session-stream messages held for a client resuming after its node was lost (see tookOverFromLostNode). */
const MAX_HELD_FOR_CLIENT = 1_000;

interface Attached {
  readonly sink: OutboxSink;
  readonly pressure: SinkPressure;
  /** Live messages that arrived while an asynchronous replay was running, in order. */
  waiting: Array<{ seq: number; text: string; message: OutMessage }> | undefined;
}

export interface OutboxOptions extends Partial<BackpressureOptions> {
  /** Sends a JSON-RPC ping request to the client, for the ordering barrier (when the sink has no round trip of its own). */
  ping: () => Promise<unknown>;
  /** Name given to the `notifications/message` that reports dropped log messages. */
  loggerName?: string;
  /** Prefix of request stream names (`<prefix>1`, `<prefix>2`, …): the node id when several nodes write one session's log. */
  streamPrefix?: string;
  /** Where the traffic is counted (its transport's counters; see metrics/telemetry.ts). */
  counters?: TransportCounters;
}

export class Outbox {
  private readonly log: EventLog;
  private readonly pressureOptions: BackpressureOptions;
  private readonly loggerName: string;
  private readonly sinks = new Map<string, Attached>();
  /**
   * Request streams (Streamable HTTP POSTs) by the request they carry, until its response. Made on first
   * use, like `completed`: a WebSocket or SSE session never needs either (an empty Map and Set each).
   */
  private requestStreams: Map<RequestId, string> | undefined;
  /** Request streams whose response was recorded while no sink was attached. */
  private completed: Set<string> | undefined;
  private readonly barrier: OrderingBarrier;
  /** The newest sequence number of the session stream written to a sink (a fresh one starts after it). */
  private sessionDelivered = 0;
  private nextStream = 0;
  private closed = false;
  /** Set while another node owns the session stream (scale-out): its messages go there instead. */
  private forwardSessionStream: ((message: OutMessage) => void) | undefined;
  /** Prefix of this outbox's request streams (the node id with several nodes), so names never collide. */
  private readonly streamPrefix: string;
  /**
   * Session-stream messages waiting, unnumbered, during a takeover (beginTakeover): until the log's
   * numbers are loaded, and after a lost node until the client's stream attaches (see endTakeover).
   */
  private heldForClient: OutMessage[] | undefined;
  /** Set by endTakeover(true) until the client attaches: the log may lack frames the client has. */
  private lostTail = false;
  private readonly counters: TransportCounters;

  constructor(log: EventLog, options: OutboxOptions) {
    this.log = log;
    this.pressureOptions = {
      highWaterBytes: options.highWaterBytes ?? DEFAULTS.SEND_HIGH_WATER_BYTES,
      slowClientTimeoutMs: options.slowClientTimeoutMs ?? DEFAULTS.SLOW_CLIENT_TIMEOUT_MS,
    };
    this.loggerName = options.loggerName ?? 'realtime-mcp';
    this.streamPrefix = options.streamPrefix ?? '';
    this.counters = options.counters ?? newCounters();
    // The session stream's own round trip when its sink has one (a WebSocket ping frame), else a JSON-RPC ping.
    const ping = () => this.sinks.get(SESSION_STREAM)?.sink.barrierPing?.() ?? options.ping();
    this.barrier = new OrderingBarrier(ping, (response) => this.send(response));
  }

  /** Hand one message to the client (now, later, or to the log for a resume). */
  push(message: OutMessage): void {
    if (this.closed) return;
    const stream = this.streamOf(message);
    if (stream === SESSION_STREAM && this.forwardSessionStream !== undefined) return this.forwardSessionStream(message);
    if (stream === SESSION_STREAM && this.heldForClient !== undefined) return this.holdForClient(message);
    const attached = this.sinks.get(stream);
    if (attached !== undefined && attached.pressure.congested) {
      if (message.kind === 'progress') return attached.pressure.coalesce(message);
      if (message.kind === 'log') {
        this.counters.logsDropped++;
        return attached.pressure.countDroppedLog();
      }
    }
    if (isResponse(message) && message.requestId !== undefined) {
      // The call's newest coalesced progress goes first: progress never arrives after its result.
      const coalesced = attached?.pressure.take(message.requestId);
      if (coalesced !== undefined) this.emit(stream, attached, coalesced);
      if (this.barrier.hold(message)) return;
    }
    this.emit(stream, attached, message);
  }

  /**
   * Give a request its own stream (a Streamable HTTP POST): messages about it go there until its
   * response, which completes the stream. Returns the stream's name.
   */
  openRequestStream(requestId: RequestId): string {
    const stream = `${this.streamPrefix}${++this.nextStream}`;
    (this.requestStreams ??= new Map()).set(requestId, stream);
    return stream;
  }

  /**
   * Another node owns the session stream (scale-out): hand its messages to `forward` (which sends them
   * there) instead of numbering and writing them here; `undefined` makes this outbox the writer again.
   */
  forwardTo(forward: ((message: OutMessage) => void) | undefined): void {
    this.forwardSessionStream = forward;
  }

  /**
   * Load the log's numbers before writing a session stream another node wrote so far (a claim). What that
   * node logged it also delivered (or a resume will ask for it): a fresh stream here starts after it.
   */
  async openLog(): Promise<void> {
    await this.log.open?.();
    this.sessionDelivered = Math.max(this.sessionDelivered, this.log.lastSeq(SESSION_STREAM));
  }

  /**
   * A request that ends without an answer (cancelled with notifications/cancelled: the spec sends none):
   * its stream is complete all the same, so its POST ends and its id may be used again.
   */
  endRequestStream(requestId: RequestId): void {
    const stream = this.requestStreams?.get(requestId);
    if (stream !== undefined) this.completeRequestStream(stream, requestId, this.sinks.get(stream));
  }

  /**
   * This node takes the session stream over from another node (scale-out): stop forwarding, and hold the
   * stream's messages unnumbered until endTakeover() (the log's numbers are not loaded yet: openLog).
   */
  beginTakeover(): void {
    this.forwardSessionStream = undefined;
    this.heldForClient ??= [];
  }

  /**
   * The log's numbers are loaded. When the previous writer handed the stream over, its log is complete:
   * what waited is numbered now. When it died (`previousWriterLost`), it may have written frames to the
   * client before storing them (logs written in batches, once per tick), so the client may hold frames
   * the log never got: its resume from such a position is believed (acceptsPosition), the log continues
   * after it, and what waits (the errors for the lost calls among it) keeps waiting until the client's
   * stream attaches, to be numbered after what the client has.
   */
  endTakeover(previousWriterLost: boolean): void {
    if (previousWriterLost && this.log.advance !== undefined && this.heldForClient !== undefined) {
      this.lostTail = true;
      return;
    }
    this.releaseHeld();
  }

  /**
   * Whether `seq` is a position on `stream` a client may resume from: one the log numbered, or (right
   * after a takeover from a lost node) any position on the session stream, since the lost node may have
   * sent more than it stored.
   */
  acceptsPosition(stream: string, seq: number): boolean {
    return seq <= this.log.lastSeq(stream) || (stream === SESSION_STREAM && this.lostTail);
  }

  /** What the shared log holds of `stream` (undefined for a log kept in this process only). */
  peekLog(stream: string): Promise<ReplayResult['events']> | undefined {
    return this.log.peek?.(stream);
  }

  /** Write what is queued for the log now (a handover waits for it). */
  flushLog(): Promise<void> {
    return this.log.flushed?.() ?? Promise.resolve();
  }

  /** True when `requestId` still has a stream of its own. */
  hasRequestStream(requestId: RequestId): boolean {
    return this.requestStreams?.has(requestId) ?? false;
  }

  /** The newest sequence number on `stream` (for an event id meaning "everything so far"). */
  lastSeq(stream: string): number {
    return this.log.lastSeq(stream);
  }

  /**
   * Write `stream` to `sink` from now on. With `afterSeq` (a client's last event id), first replay what
   * came after it; without, a session stream gets what no sink received yet. A sink already attached to
   * the stream is replaced (its client evidently lost it).
   */
  attach(stream: string, sink: OutboxSink, afterSeq?: number): void {
    if (this.closed) return;
    const firstAfterLoss = stream === SESSION_STREAM && this.lostTail;
    // The first client after a takeover from a lost node: the log continues after what it has.
    if (firstAfterLoss && afterSeq !== undefined && afterSeq > this.log.lastSeq(stream)) this.log.advance!(stream, afterSeq);
    this.attachSink(stream, sink, afterSeq);
    // What waited for this client, numbered after its position (and sent after the replay).
    if (firstAfterLoss) this.releaseHeld();
  }

  private attachSink(stream: string, sink: OutboxSink, afterSeq?: number): void {
    const previous = this.sinks.get(stream);
    if (previous !== undefined) {
      this.detach(previous.sink);
      previous.sink.end();
    }
    // A request stream that is neither open nor waiting for its reader: replay what is left, then end it.
    if (stream !== SESSION_STREAM && !this.completed?.has(stream) && !this.isOpenRequestStream(stream)) this.markCompleted(stream);
    const attached: Attached = {
      sink,
      pressure: new SinkPressure(sink, this.pressureOptions, (p) => this.caughtUp(stream, p), this.counters),
      waiting: undefined,
    };
    this.sinks.set(stream, attached);
    const from = afterSeq ?? (stream === SESSION_STREAM ? this.sessionDelivered : 0);
    // Nothing to replay: a new stream, or one this node knows is up to date. (A stream another node wrote
    // has no number here: its log is read.)
    const last = this.log.lastSeq(stream);
    if (from >= last && (last > 0 || from === 0) && !this.completed?.has(stream)) return;
    const replay = this.log.replay(stream, from);
    if (!(replay instanceof Promise)) return this.finishReplay(stream, attached, from, replay);
    attached.waiting = [];
    replay.then(
      (result) => this.finishReplay(stream, attached, from, result),
      () => this.finishReplay(stream, attached, from, { events: [], lostResponses: [] }),
    );
  }

  /** The sink's connection is gone. What it would have received stays in the log for a resume. */
  detach(sink: OutboxSink): void {
    for (const [stream, attached] of this.sinks) {
      if (attached.sink !== sink) continue;
      this.sinks.delete(stream);
      attached.pressure.stop();
      // Progress coalesced while the client was slow goes into the log now, in order, before anything
      // recorded while it is away: a resume never sees progress go backwards.
      for (let m = attached.pressure.next(); m !== undefined; m = attached.pressure.next()) this.emit(stream, undefined, m);
      if (stream === SESSION_STREAM) this.barrier.flush(); // held results go to the log, for the resume
    }
  }

  /** True while some sink is attached. */
  get connected(): boolean {
    return this.sinks.size > 0;
  }

  /** True while a client is not keeping up: tools should wait (ctx.checkpoint does). */
  get congested(): boolean {
    for (const attached of this.sinks.values()) if (attached.pressure.congested) return true;
    return false;
  }

  get bufferedAmount(): number {
    let bytes = 0;
    for (const attached of this.sinks.values()) bytes += attached.sink.bufferedAmount;
    return bytes;
  }

  /** Resolves once every congested sink has drained (an idle stream must not end the wait early). */
  whenDrained(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const attached of this.sinks.values()) if (attached.pressure.congested) waits.push(attached.sink.whenDrained());
    return waits.length === 0 ? Promise.resolve() : Promise.all(waits).then(() => undefined);
  }

  /** Send results waiting for an ordering barrier now (graceful shutdown). */
  flushHeld(): void {
    this.barrier.flush();
  }

  /**
   * Stop. `forget`: the session ended, its log goes too; otherwise (a replica dropped, the session lives
   * on at another node) the log keeps what it stored.
   */
  close(forget = true): void {
    if (this.closed) return;
    this.closed = true;
    for (const attached of this.sinks.values()) attached.pressure.stop();
    this.sinks.clear();
    this.requestStreams = undefined;
    this.completed = undefined;
    if (forget) this.log.close();
    else this.log.release?.();
  }

  private holdForClient(message: OutMessage): void {
    this.heldForClient!.push(message);
    // The client is not coming back soon: number what waited (a later resume from beyond the log is refused).
    if (this.heldForClient!.length >= MAX_HELD_FOR_CLIENT) this.releaseHeld();
  }

  /** Number and send what waited during a takeover, in order. */
  private releaseHeld(): void {
    const held = this.heldForClient;
    this.heldForClient = undefined;
    this.lostTail = false;
    for (const message of held ?? []) this.push(message);
  }

  private streamOf(message: OutMessage): string {
    if (message.requestId === undefined || this.requestStreams === undefined || this.requestStreams.size === 0) return SESSION_STREAM;
    return this.requestStreams.get(message.requestId) ?? SESSION_STREAM;
  }

  /** Send without the backpressure and barrier checks (a released result). */
  private send(message: OutMessage): void {
    if (this.closed) return;
    const stream = this.streamOf(message);
    this.emit(stream, this.sinks.get(stream), message);
  }

  /** Record one message and write it to the stream's sink, if one is attached and live. */
  private emit(stream: string, attached: Attached | undefined, message: OutMessage): void {
    const text = serialize(message);
    const live = attached !== undefined && attached.waiting === undefined;
    const response = isResponse(message);
    if (response && live && stream !== SESSION_STREAM && attached.sink.writesWhole?.(message) === true) {
      // Answered whole, with no event id to resume from: nothing to record.
      this.counters.messagesOut++;
      attached.sink.write(stream, 0, text, message);
      this.completeRequestStream(stream, message.requestId!, attached);
      return;
    }
    // A response that is not written now (no sink, or one still replaying) is marked undelivered in the log,
    // so that if it is evicted before anyone gets it, a resume names it (-32031) instead of leaving silence.
    const seq = this.log.append(stream, text, response && !live ? message.requestId : undefined);
    this.counters.messagesOut++;
    if (message.kind === 'progress') this.counters.progressSent++;
    if (attached !== undefined) {
      if (live) this.write(stream, attached, seq, text, message);
      else attached.waiting!.push({ seq, text, message });
    }
    if (response && stream !== SESSION_STREAM) this.completeRequestStream(stream, message.requestId!, attached);
  }

  private write(stream: string, attached: Attached, seq: number, text: string, message: OutMessage | undefined): void {
    attached.sink.write(stream, seq, text, message);
    if (stream === SESSION_STREAM) this.sessionDelivered = seq;
    if (message?.kind === 'progress' && attached.sink.needsOrderingBarrier) this.barrier.noteProgress(message.requestId!);
    attached.pressure.afterWrite();
  }

  /** A request stream's response was recorded: the stream is complete. */
  private completeRequestStream(stream: string, requestId: RequestId, attached: Attached | undefined): void {
    this.requestStreams?.delete(requestId);
    this.log.complete?.(stream);
    if (attached !== undefined && attached.waiting === undefined) {
      this.sinks.delete(stream);
      attached.pressure.stop();
      attached.sink.end();
      return;
    }
    // No sink, or one still replaying: whoever reads the stream next ends it after the response.
    this.markCompleted(stream);
  }

  private markCompleted(stream: string): void {
    const completed = (this.completed ??= new Set());
    completed.add(stream);
    if (completed.size > MAX_COMPLETED_STREAMS) completed.delete(completed.values().next().value!);
  }

  private isOpenRequestStream(stream: string): boolean {
    for (const s of this.requestStreams?.values() ?? []) if (s === stream) return true;
    return false;
  }

  private finishReplay(stream: string, attached: Attached, from: number, result: ReplayResult): void {
    if (this.sinks.get(stream) !== attached) return; // replaced or detached meanwhile
    const waiting = attached.waiting ?? [];
    attached.waiting = undefined;
    let last = from;
    for (const event of result.events) {
      this.write(stream, attached, event.seq, event.text, undefined);
      last = event.seq;
    }
    for (const w of waiting) if (w.seq > last) this.write(stream, attached, w.seq, w.text, w.message);
    // A result that can no longer be delivered is named, never left hanging.
    this.counters.resultsLost += result.lostResponses.length;
    for (const id of result.lostResponses) {
      this.emit(stream, attached, errorMessage(errorResponse(id, Errors.RESULT_LOST.rpc,
        'The result of this request was lost: more messages were sent while you were away than the server keeps (EVENT_BUFFER_EVENTS / EVENT_BUFFER_BYTES)')));
    }
    if (this.completed?.delete(stream) && this.sinks.get(stream) === attached) {
      this.sinks.delete(stream);
      attached.pressure.stop();
      attached.sink.end();
    }
  }

  /** The client caught up: send what was coalesced, then say how many log messages were dropped. */
  private caughtUp(stream: string, pressure: SinkPressure): void {
    const attached = this.sinks.get(stream);
    if (attached === undefined || attached.pressure !== pressure) return;
    for (let m = pressure.next(); m !== undefined; m = pressure.next()) {
      this.emit(stream, attached, m);
      if (pressure.congested) return; // slow again: the rest waits for the next drain
    }
    const dropped = pressure.takeDroppedLogs();
    if (dropped > 0) {
      this.emit(stream, attached, logMessage({
        level: 'warning',
        logger: this.loggerName,
        data: `${dropped} log message${dropped === 1 ? ' was' : 's were'} dropped while the connection could not keep up`,
      }));
    }
  }
}

/** JSON text of a message. A result that JSON cannot encode (a BigInt, a cycle) becomes an internal error. */
function serialize(message: OutMessage): string {
  if (message.text !== undefined) return message.text;
  try {
    return JSON.stringify(message.body);
  } catch (err) {
    if (!isResponse(message) || message.requestId === undefined) return JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'error', data: 'a message could not be serialized as JSON' } });
    const why = `Internal error: the result could not be serialized as JSON (${(err as Error).message})`;
    return JSON.stringify(errorResponse(message.requestId, Errors.INTERNAL_ERROR.rpc, why));
  }
}
