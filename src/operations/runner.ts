// Runs tool calls: admits them (at once, or into the fair queue when a concurrency limit is reached),
// starts the handler with its Operation as ctx, turns what it returns or throws into the JSON-RPC
// response, and ends calls early on cancel, disconnect, timeout or shutdown. It is the only place that
// changes an operation's state; others ask it (`cancel`, `fail`, `abortSession`). Ordering of a call's
// progress before its result is the outbox's job (outbox/ordering-barrier.ts).
import type { CallToolResult, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { Errors, RpcError } from '../errors.js';
import { errorResponse } from '../jsonrpc.js';
import { DEFAULTS } from '../defaults.js';
import { errorMessage, resultMessage, type OutMessage } from '../outbox/messages.js';
import type { Session } from '../sessions/session.js';
import type { RegisteredTool } from '../tools/registry.js';
import type { ToolResult } from '../tools/define.js';
import { Operation, type AbortKind, type OperationOutcome, type OperationState } from './operation.js';
import { FairQueue } from './fair-queue.js';
import { HookList } from '../hooks.js';

export interface RunnerLogger {
  error(obj: object, msg: string): void;
}

/** Concurrency limits and the default timeout (the settings of the same names). */
export interface RunnerLimits {
  /** Calls of one session running at once; more wait in that session's queue. */
  maxConcurrentPerSession: number;
  /** Calls running at once in the whole server. */
  maxConcurrentOperations: number;
  /** Calls one session may have waiting; one more is refused with LIMIT_REACHED. */
  maxQueuedPerSession: number;
  /** Timeout of tools that declare none; 0 = none. */
  defaultTimeoutMs: number;
}

export const DEFAULT_LIMITS: RunnerLimits = Object.freeze({
  maxConcurrentPerSession: DEFAULTS.MAX_CONCURRENT_PER_SESSION,
  maxConcurrentOperations: DEFAULTS.MAX_CONCURRENT_OPERATIONS,
  maxQueuedPerSession: DEFAULTS.MAX_QUEUED_PER_SESSION,
  defaultTimeoutMs: DEFAULTS.TOOL_TIMEOUT_MS,
});

/** What the runner tells others about calls (metrics, live resources); listeners must not throw. */
export interface RunnerHooks {
  /** A call was admitted (running or queued). */
  onCallAdmitted: (op: Operation) => void;
  /** A queued call got its slot (its queue wait is `op.queuedMs`). */
  onCallStarted: (op: Operation) => void;
  /** A call ended, however (its outcome is `op.outcome`). */
  onCallEnded: (op: Operation) => void;
}

interface QueuedCall {
  op: Operation;
  args: unknown;
}

export class OperationRunner {
  /** Every call admitted and not yet done: running and queued. */
  private readonly inflight = new Set<Operation>();
  private readonly queue = new FairQueue<QueuedCall>();
  private runningCount = 0;
  private pumping = false;
  private idleWaiters: Array<() => void> = [];
  private readonly logger: RunnerLogger | undefined;
  readonly limits: RunnerLimits;
  readonly hooks = new HookList<RunnerHooks>();

  private readonly onQueueFull: (() => void) | undefined;

  constructor(options: { logger?: RunnerLogger; limits?: Partial<RunnerLimits>; onQueueFull?: () => void } = {}) {
    this.logger = options.logger;
    this.onQueueFull = options.onQueueFull;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
  }

  /** Calls admitted and not done (running + queued). */
  get size(): number {
    return this.inflight.size;
  }

  /** Calls whose handler is running. */
  get running(): number {
    return this.runningCount;
  }

  /** Calls waiting for a slot, across sessions. */
  get queued(): number {
    return this.queue.size;
  }

  /** Sessions with at least one call waiting. */
  get queuedSessions(): number {
    return this.queue.sessions;
  }

  /**
   * Start a validated call, or queue it behind the session's earlier calls when a limit is reached;
   * its response is sent when it settles. Returns undefined when the session's queue is full (the
   * client has been answered with LIMIT_REACHED).
   */
  start(session: Session, requestId: RequestId, tool: RegisteredTool, args: unknown, progressToken: Operation['progressToken']): Operation | undefined {
    // Fast path: nothing queued anywhere, room in the server and in this session.
    if (this.queue.size === 0 && this.runningCount < this.limits.maxConcurrentOperations && session.operations.size < this.limits.maxConcurrentPerSession) {
      const op = new Operation(session, requestId, tool, progressToken);
      session.operations.set(requestId, op);
      this.inflight.add(op);
      if (this.hooks.any) this.hooks.call('onCallAdmitted', op);
      this.run(op, args);
      return op;
    }
    return this.admitSlow(session, requestId, tool, args, progressToken);
  }

  private admitSlow(session: Session, requestId: RequestId, tool: RegisteredTool, args: unknown, progressToken: Operation['progressToken']): Operation | undefined {
    const waiting = this.queue.lengthFor(session);
    // With nothing of its own waiting, session.operations holds only this session's running calls.
    const canRunNow = waiting === 0 && this.runningCount < this.limits.maxConcurrentOperations && session.operations.size < this.limits.maxConcurrentPerSession;
    if (!canRunNow && waiting >= this.limits.maxQueuedPerSession) {
      this.onQueueFull?.();
      const { maxQueuedPerSession, maxConcurrentPerSession } = this.limits;
      session.send(errorMessage(errorResponse(requestId, Errors.LIMIT_REACHED.rpc,
        `Too many calls queued: this session already has ${waiting} calls waiting (limit ${maxQueuedPerSession}) behind ${maxConcurrentPerSession} running; wait for some to finish`,
        { queued: waiting, maxQueuedPerSession })));
      return undefined;
    }
    const op = new Operation(session, requestId, tool, progressToken);
    session.operations.set(requestId, op);
    this.inflight.add(op);
    if (canRunNow) {
      if (this.hooks.any) this.hooks.call('onCallAdmitted', op);
      this.run(op, args);
      return op;
    }
    op.state = 'queued';
    if (this.hooks.any) this.hooks.call('onCallAdmitted', op);
    op.onAbortWhileQueued = this.dequeueAborted;
    const position = this.queue.push(session, { op, args });
    op.notifyQueued(position, this.queue.size);
    return op;
  }

  /** Start the handler now; arms the timeout when the call has one. */
  private run(op: Operation, args: unknown): void {
    this.runningCount++;
    const timeoutMs = op.tool.definition.timeoutMs ?? this.limits.defaultTimeoutMs;
    if (timeoutMs > 0) op.timer = setTimeout(this.onTimeout, timeoutMs, op, timeoutMs);
    let out: ToolResult | Promise<ToolResult>;
    try {
      out = op.tool.definition.handler(args as never, op);
    } catch (err) {
      this.settle(op, this.errorFor(op, err), endsAsPlanned(err));
      return;
    }
    // A synchronous handler (echo) settles in this turn: no promise, no microtask, its slot is free at once.
    if (out instanceof Promise || isThenable(out)) {
      Promise.resolve(out).then((r) => this.settle(op, this.resultFor(op, r)), (err) => this.settle(op, this.errorFor(op, err), endsAsPlanned(err)));
    } else {
      this.settle(op, this.resultFor(op, out));
    }
  }

  private settle(op: Operation, response: OutMessage, asPlanned = false): void {
    if (op.state === 'done') return;
    const aborted = op.abortReason?.kind;
    // A result is serialized here, once: one that JSON cannot encode (a BigInt, a cycle) is answered -32603 and counted as an error.
    if (response.kind === 'result' && !op.silent) response = serialized(response);
    op.outcome = aborted ?? (response.kind === 'error' ? (asPlanned ? 'ok' : 'error') : (response.body as { result?: { isError?: boolean } }).result?.isError === true ? 'tool_error' : 'ok');
    this.finish(op, op.silent ? undefined : response);
  }

  /** Start queued calls while there are free slots, round-robin across sessions. */
  private pump(): void {
    if (this.pumping) return; // a synchronous handler finishing inside run() lands here; the loop below goes on
    this.pumping = true;
    try {
      while (this.queue.size > 0 && this.runningCount < this.limits.maxConcurrentOperations) {
        const next = this.queue.next(this.sessionHasRoom);
        if (next === undefined) break;
        next.op.begin();
        if (this.hooks.any) this.hooks.call('onCallStarted', next.op);
        this.run(next.op, next.args);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** A session's queued calls are in session.operations too, so running = size - waiting. */
  private readonly sessionHasRoom = (session: Session, waiting: number): boolean =>
    !session.closed && session.operations.size - waiting < this.limits.maxConcurrentPerSession;

  /** A queued call was cancelled, timed out or its session ended: out of the queue, answered unless silent. */
  private readonly dequeueAborted = (op: Operation): void => {
    this.queue.remove(op.session, (call) => call.op === op);
    this.settle(op, this.errorFor(op, op.abortReason));
  };

  private readonly onTimeout = (op: Operation, timeoutMs: number): void => {
    op.timer = undefined;
    this.fail(op, 'timeout', Errors.REQUEST_TIMEOUT.rpc, `Tool ${op.tool.definition.name} timed out after ${timeoutMs} ms`, {
      timeoutMs,
      lastProgress: op.lastProgress ?? null,
      total: op.lastTotal ?? null,
    });
  };

  /**
   * The call is over: free its slot, then send its answer (`answer`), and only then start queued calls
   * in the freed slot, so a call is answered before the calls that start after it.
   */
  private finish(op: Operation, answer?: OutMessage): void {
    if (op.state === 'done') return;
    const wasRunning = op.state === 'running';
    op.state = 'done';
    op.endedAt = performance.now();
    if (op.timer !== undefined) {
      clearTimeout(op.timer);
      op.timer = undefined;
    }
    if (op.session.operations.get(op.requestId) === op) op.session.operations.delete(op.requestId);
    this.inflight.delete(op);
    if (answer !== undefined && !op.session.closed) op.session.send(answer);
    else if (op.silent) op.session.outbox.endRequestStream(op.requestId); // its POST ends without a response
    if (wasRunning) {
      this.runningCount--;
      if (this.queue.size > 0) this.pump();
    }
    if (this.hooks.any) this.hooks.call('onCallEnded', op);
    if (this.inflight.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private resultFor(op: Operation, out: ToolResult): OutMessage {
    if (typeof out === 'string') return resultMessage(op.requestId, { content: withStreamed(op, [{ type: 'text', text: out }]) });
    if (out === null || typeof out !== 'object' || !Array.isArray((out as CallToolResult).content)) {
      return errorMessage(errorResponse(op.requestId, Errors.INTERNAL_ERROR.rpc, `Tool ${op.tool.definition.name} returned an invalid result (expected { content: [...] } or a string)`));
    }
    if (op.streamed !== undefined) out = { ...out, content: withStreamed(op, out.content) };
    return resultMessage(op.requestId, out);
  }

  private errorFor(op: Operation, err: unknown): OutMessage {
    const reason = op.abortReason;
    if (reason?.kind === 'cancelled') {
      return resultMessage(op.requestId, { content: withStreamed(op, [{ type: 'text', text: `Cancelled: ${reason.message}` }]), isError: true });
    }
    if (reason) return errorMessage(errorResponse(op.requestId, Errors.CANCELLED.rpc, reason.message));
    if (err instanceof RpcError) return errorMessage(errorResponse(op.requestId, err.code, err.message, err.data));
    // Any other failure is a tool execution error: reported in the result so the model can see it (MCP spec).
    const message = err instanceof Error ? err.message : String(err);
    if (!(err instanceof Error)) this.logger?.error({ tool: op.tool.definition.name, err }, 'tool threw a non-Error value');
    return resultMessage(op.requestId, { content: withStreamed(op, [{ type: 'text', text: message }]), isError: true });
  }

  /**
   * Cancel a call at the client's request. `silent`: the client cancelled with notifications/cancelled,
   * so (per spec) no response is sent; otherwise the call answers "Cancelled: <reason>".
   */
  cancel(op: Operation, reason: string, options: { silent: boolean }): void {
    if (op.state === 'done') return;
    if (options.silent) op.silent = true;
    op.abort('cancelled', reason);
  }

  /**
   * End a call now with a JSON-RPC error, whatever its handler does later (its eventual output is
   * dropped). Used for timeouts and shutdown, where the client must hear back at a known time.
   */
  fail(op: Operation, kind: AbortKind, code: number, message: string, data?: unknown): void {
    if (op.state === 'done') return;
    op.silent = true; // before abort: a queued call is then dequeued without an answer of its own
    op.abort(kind, message);
    op.outcome = kind;
    const answer = errorMessage(errorResponse(op.requestId, code, message, data));
    // A queued call is over already (the abort took it out of the queue): only its answer is left to send.
    if ((op.state as OperationState) === 'done') {
      if (!op.session.closed) op.session.send(answer);
      return;
    }
    this.finish(op, answer);
  }

  /** Abort every call of a session without responding (its client is gone). */
  abortSession(session: Session, kind: AbortKind, message: string): void {
    const ops = [...session.operations.values()];
    // Queued calls first, so a slot freed by a running one is not handed to a call of this session.
    for (const queuedFirst of [true, false]) {
      for (const op of ops) {
        if ((op.state === 'queued') !== queuedFirst) continue;
        op.silent = true;
        op.abort(kind, message);
        op.outcome = kind;
        this.finish(op);
      }
    }
  }

  /** Resolves when no call is in flight, or after `timeoutMs`; returns whether it went idle. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.inflight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Every call admitted, across sessions: queued ones first (shutdown fails them before running ones). */
  all(): Operation[] {
    const ops = [...this.inflight];
    return [...ops.filter((op) => op.state === 'queued'), ...ops.filter((op) => op.state !== 'queued')];
  }
}

function isThenable(value: unknown): value is PromiseLike<ToolResult> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** The result with its JSON text made now (OutMessage.text), or a -32603 answer when JSON cannot encode it. */
function serialized(response: OutMessage): OutMessage {
  try {
    response.text = JSON.stringify(response.body); // the message is this call's own: no copy needed
    return response;
  } catch (err) {
    const why = `Internal error: the result could not be serialized as JSON (${(err as Error).message})`;
    return errorMessage(errorResponse(response.requestId!, Errors.INTERNAL_ERROR.rpc, why));
  }
}

/** Content streamed with ctx.stream() goes before the result's own content. */
function withStreamed(op: Operation, content: CallToolResult['content']): CallToolResult['content'] {
  return op.streamed === undefined ? content : [...op.streamed, ...content];
}

/** An error that ends a call as planned (RpcError.endsAsPlanned) leaves its outcome 'ok'. */
function endsAsPlanned(err: unknown): boolean {
  return err instanceof RpcError && err.endsAsPlanned;
}
