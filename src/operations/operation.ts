// One tool call in flight (queued or running). It is also the handler's `ctx`: signal, progress, log,
// stream and checkpoint. The AbortController is created only when someone asks for the signal or
// aborts the call, so the common short call (echo) allocates none.
import type { ClientCapabilities, LoggingLevel, ProgressToken, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { ContentBlock, ProgressUpdate, ToolContext } from '../tools/define.js';
import type { RegisteredTool } from '../tools/registry.js';
import type { Session } from '../sessions/session.js';
import type { Principal } from '../sessions/principal.js';
import { logMessage, notificationMessage, progressMessage } from '../outbox/messages.js';
import { ProgressRate, formatCount, formatEta, formatRate } from './progress-rate.js';

/** How long a handler may run before `checkpoint()` gives the event loop a turn. */
const YIELD_SLICE_MS = 2;

/**
 * Method of the notification carrying `ctx.stream()` content. The name and `content` field match
 * FastMCP-TS's `streamContent` extension, so clients written for it work unchanged; `requestId` (and
 * `progressToken` when the call has one) says which call the content belongs to.
 */
export const STREAM_CONTENT_METHOD = 'notifications/tool/streamContent';

/** Why an operation was aborted; `signal.reason` is an Error of this kind with `kind` set. */
export type AbortKind = 'cancelled' | 'disconnected' | 'timeout' | 'shutdown';

export class OperationAbort extends Error {
  readonly kind: AbortKind;
  constructor(kind: AbortKind, message: string) {
    super(message);
    this.name = 'AbortError';
    this.kind = kind;
  }
}

/** `queued`: waiting for a concurrency slot (see FairQueue); the handler has not started. */
export type OperationState = 'queued' | 'running' | 'done';

/**
 * How a call ended: `ok` (a result), `tool_error` (an isError result), `error` (a JSON-RPC error), or the
 * abort kind that ended it.
 */
export type OperationOutcome = 'ok' | 'tool_error' | 'error' | AbortKind;

export class Operation implements ToolContext {
  readonly session: Session;
  readonly requestId: RequestId;
  readonly tool: RegisteredTool;
  readonly progressToken: ProgressToken | undefined;
  /** When the call was admitted (performance.now()). */
  readonly admittedAt = performance.now();
  /** When the handler started (reset when a queued call starts: time spent queued is not counted). */
  startedAt = this.admittedAt;
  state: OperationState = 'running';
  /** When true, no response is sent (client cancelled with notifications/cancelled, per spec). */
  silent = false;
  /** Set by the runner when the call ends. */
  outcome: OperationOutcome | undefined;
  /** performance.now() when the call ended. */
  endedAt: number | undefined;
  /** Progress and stream notifications sent for this call so far. */
  progressSent = 0;
  /** The last progress the handler reported (recorded with or without a progress token). */
  lastProgress: number | undefined;
  lastTotal: number | undefined;
  /** The progress last written to the shared store (scale-out), to write only changes. */
  recordedProgress: number | undefined;
  /** Its record was handed to the shared store (scale-out): its end must be written there too. */
  recordedInStore = false;
  /** Content sent with `stream()`, to be put before the handler's own content in the result. */
  streamed: ContentBlock[] | undefined;
  /** The timeout timer, only for calls that have a timeout. */
  timer: NodeJS.Timeout | undefined;
  /** Set by the runner while the call is queued: takes it out of the queue when it is aborted. */
  onAbortWhileQueued: ((op: Operation) => void) | undefined;

  private controller: AbortController | undefined;
  private rate: ProgressRate | undefined;
  private lastYield = this.startedAt;
  /** Progress must exceed this to be sent (MCP: progress increases); 0 after the queue notice. */
  private progressFloor = -Infinity;

  constructor(session: Session, requestId: RequestId, tool: RegisteredTool, progressToken: ProgressToken | undefined) {
    this.session = session;
    this.requestId = requestId;
    this.tool = tool;
    this.progressToken = progressToken;
  }

  /** Ended with a JSON-RPC error or an isError result (a timeout and a shutdown included). */
  get failed(): boolean {
    return this.outcome !== undefined && this.outcome !== 'ok';
  }

  get sessionId(): string {
    return this.session.id;
  }

  get principal(): Principal | undefined {
    return this.session.principal;
  }

  get clientCapabilities(): ClientCapabilities | undefined {
    return this.session.clientCapabilities;
  }

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  get aborted(): boolean {
    return this.controller?.signal.aborted ?? false;
  }

  get abortReason(): OperationAbort | undefined {
    return this.aborted ? (this.controller!.signal.reason as OperationAbort) : undefined;
  }

  /** Abort the call (the runner does; see OperationRunner.cancel/fail). */
  abort(kind: AbortKind, message: string): void {
    if (this.state === 'done' || this.aborted) return;
    (this.controller ??= new AbortController()).abort(new OperationAbort(kind, message));
    if (this.state === 'queued') this.onAbortWhileQueued?.(this);
  }

  /** A queued call gets its slot: the clocks (rate, ETA, timeout) start now. */
  begin(): void {
    this.state = 'running';
    this.onAbortWhileQueued = undefined;
    this.startedAt = this.lastYield = performance.now();
  }

  /**
   * Tell the client (when it sent a progress token) that the call waits in the queue: one
   * `notifications/progress` with progress 0 and the position in the message. Sent once, as progress
   * must increase; the handler's own progress then has to be above 0 to be sent.
   */
  notifyQueued(position: number, queuedCalls: number): void {
    const token = this.progressToken;
    if (token === undefined) return;
    this.progressFloor = 0;
    this.progressSent++;
    this.session.send(progressMessage(this.requestId, { progressToken: token, progress: 0, message: `queued: position ${position}`, _meta: { queuePosition: position, queuedCalls } }));
  }

  progress(update: ProgressUpdate): void {
    if (this.state === 'done' || this.aborted) return;
    const { progress, total, message, unit } = update;
    if (typeof progress !== 'number' || !(progress > this.progressFloor) || progress === Infinity) return; // MCP: progress MUST increase
    this.progressFloor = progress;
    this.lastProgress = progress;
    this.lastTotal = total;
    const token = this.progressToken;
    if (token === undefined) return;
    const snap = (this.rate ??= new ProgressRate(this.startedAt)).update(progress, total, performance.now());
    // `4,200/10,000 · batch 42 · 350 images/s · ETA 16 s`: the count first, so a client that shows only the message still shows it.
    let text = total !== undefined ? `${formatCount(progress)}/${formatCount(total)}` : formatCount(progress);
    if (message !== undefined && message !== '') text += ` · ${message}`;
    const meta: Record<string, unknown> = { elapsedMs: Math.round(snap.elapsedMs) };
    if (snap.rate !== undefined) {
      text += ` · ${formatRate(snap.rate, unit)}`;
      meta.rate = Math.round(snap.rate * 100) / 100;
    }
    if (snap.etaMs !== undefined) {
      text += ` · ${formatEta(snap.etaMs)}`;
      meta.etaMs = snap.etaMs;
    }
    if (unit !== undefined) meta.unit = unit;
    // The first notification should not wait for the rest of the slice: the next checkpoint yields.
    if (++this.progressSent === 1) this.lastYield = -Infinity;
    this.session.send(progressMessage(this.requestId, total !== undefined
      ? { progressToken: token, progress, total, message: text, _meta: meta }
      : { progressToken: token, progress, message: text, _meta: meta }));
  }

  log(level: LoggingLevel, data: unknown, logger?: string): void {
    if (this.state === 'done' || !this.session.wantsLog(level)) return;
    this.session.send(logMessage(logger === undefined ? { level, data } : { level, logger, data }, this.requestId));
  }

  stream(content: ContentBlock | ContentBlock[]): void {
    if (this.state === 'done' || this.aborted) return;
    const blocks = Array.isArray(content) ? content : [content];
    if (blocks.length === 0) return;
    if (this.streamed === undefined) this.streamed = [...blocks];
    else this.streamed.push(...blocks);
    const params: Record<string, unknown> = { requestId: this.requestId, toolName: this.tool.definition.name, content: blocks };
    if (this.progressToken !== undefined) params.progressToken = this.progressToken;
    this.progressSent++;
    this.session.send(notificationMessage(STREAM_CONTENT_METHOD, params, this.requestId));
  }

  request(method: string, params?: Record<string, unknown>, options?: { key?: string }): Promise<unknown> {
    return this.session.request(method, params, { relatedRequestId: this.requestId, signal: this.signal, key: options?.key });
  }

  checkpoint(): Promise<void> | undefined {
    if (this.aborted) return Promise.reject(this.controller!.signal.reason);
    const now = performance.now();
    const congested = this.session.congested;
    if (!congested && now - this.lastYield < YIELD_SLICE_MS) return undefined;
    this.lastYield = now;
    return this.yieldTurn(congested);
  }

  private async yieldTurn(congested: boolean): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (congested) await this.waitUntilDrained();
    this.lastYield = performance.now();
    if (this.aborted) throw this.controller!.signal.reason;
  }

  private async waitUntilDrained(): Promise<void> {
    const signal = this.signal;
    let onAbort!: () => void;
    const aborted = new Promise<void>((resolve) => (onAbort = resolve));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (this.session.congested && !signal.aborted && this.session.connected) {
        await Promise.race([this.session.whenDrained(), aborted]);
        // A drain that resolves while the session still counts as congested must not turn this loop into
        // a microtask spin that starves the event loop: give it a real turn each time round.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      signal.removeEventListener('abort', onAbort); // one listener per wait, not one per congested checkpoint
    }
  }
}
