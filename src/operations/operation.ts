// One tool call in flight. It is also the handler's `ctx`: signal, progress, log and checkpoint.
// The AbortController is created only when someone asks for the signal or aborts the call, so the
// common short call (echo) allocates none.
import type { LoggingLevel, ProgressToken, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { ProgressUpdate, ToolContext } from '../tools/define.js';
import type { RegisteredTool } from '../tools/registry.js';
import type { Session } from '../sessions/session.js';
import type { Principal } from '../sessions/principal.js';
import { ProgressRate, formatEta, formatRate } from './progress-rate.js';

/** How long a handler may run before `checkpoint()` gives the event loop a turn. */
const YIELD_SLICE_MS = 2;
/** Above this many bytes queued for the client, `checkpoint()` waits for the buffer to drain. */
const HIGH_WATER_BYTES = 1024 * 1024;

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

export type OperationState = 'running' | 'done';

export class Operation implements ToolContext {
  readonly session: Session;
  readonly requestId: RequestId;
  readonly tool: RegisteredTool;
  readonly progressToken: ProgressToken | undefined;
  readonly startedAt = performance.now();
  state: OperationState = 'running';
  /** When true, no response is sent (client cancelled with notifications/cancelled, per spec). */
  silent = false;
  /** Notifications sent for this call so far. */
  progressSent = 0;
  lastProgress: number | undefined;
  lastTotal: number | undefined;

  private controller: AbortController | undefined;
  private rate: ProgressRate | undefined;
  private lastYield = this.startedAt;
  private readonly relatedRequest: { relatedRequestId: RequestId };

  constructor(session: Session, requestId: RequestId, tool: RegisteredTool, progressToken: ProgressToken | undefined) {
    this.session = session;
    this.requestId = requestId;
    this.tool = tool;
    this.progressToken = progressToken;
    this.relatedRequest = { relatedRequestId: requestId };
  }

  get sessionId(): string {
    return this.session.id;
  }

  get principal(): Principal | undefined {
    return this.session.principal;
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

  abort(kind: AbortKind, message: string): void {
    if (this.state === 'done' || this.aborted) return;
    (this.controller ??= new AbortController()).abort(new OperationAbort(kind, message));
  }

  progress(update: ProgressUpdate): void {
    const token = this.progressToken;
    if (token === undefined || this.state === 'done' || this.aborted) return;
    const { progress, total, message } = update;
    if (typeof progress !== 'number' || !Number.isFinite(progress)) return;
    if (this.lastProgress !== undefined && progress <= this.lastProgress) return; // MCP: progress MUST increase
    this.lastProgress = progress;
    this.lastTotal = total;
    const now = performance.now();
    const snap = (this.rate ??= new ProgressRate(this.startedAt)).update(progress, total, now);
    let text = message ?? (total !== undefined ? `${progress}/${total}` : `${progress}`);
    if (snap.rate !== undefined) text += ` · ${formatRate(snap.rate)}`;
    if (snap.etaMs !== undefined) text += ` · ${formatEta(snap.etaMs)}`;
    const meta: Record<string, number> = { elapsedMs: Math.round(snap.elapsedMs) };
    if (snap.rate !== undefined) meta.rate = Math.round(snap.rate * 100) / 100;
    if (snap.etaMs !== undefined) meta.etaMs = snap.etaMs;
    const params: Record<string, unknown> = { progressToken: token, progress };
    if (total !== undefined) params.total = total;
    params.message = text;
    params._meta = meta;
    this.progressSent++;
    this.session.send({ jsonrpc: '2.0', method: 'notifications/progress', params } as never, this.relatedRequest);
  }

  log(level: LoggingLevel, data: unknown, logger?: string): void {
    if (this.state === 'done' || !this.session.wantsLog(level)) return;
    const params: Record<string, unknown> = { level, data };
    if (logger !== undefined) params.logger = logger;
    this.session.send({ jsonrpc: '2.0', method: 'notifications/message', params } as never, this.relatedRequest);
  }

  checkpoint(): Promise<void> | undefined {
    if (this.aborted) return Promise.reject(this.controller!.signal.reason);
    const now = performance.now();
    const congested = this.session.bufferedAmount > HIGH_WATER_BYTES;
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
    while (this.session.bufferedAmount > HIGH_WATER_BYTES && !this.aborted && this.session.connected) {
      await Promise.race([this.session.whenDrained(), abortPromise(this.signal)]);
    }
  }
}

function abortPromise(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
