// Runs tool calls: starts the handler with its Operation as ctx, turns what it returns or throws into
// the JSON-RPC response, and ends calls early on cancel, disconnect, timeout or shutdown.
import type { CallToolResult, JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { RpcCode, RpcError } from '../errors.js';
import { errorResponse, resultResponse } from '../jsonrpc.js';
import type { Session } from '../sessions/session.js';
import type { RegisteredTool } from '../tools/registry.js';
import type { ToolResult } from '../tools/define.js';
import { Operation, type AbortKind } from './operation.js';

/**
 * When a call reported progress, its result leaves this long after the last progress frame. The SDK
 * client handles notifications a microtask late but responses at once, so a final progress that
 * arrives in the same socket read as the result is dropped by the client (shared/notes/tips.md).
 */
const FINAL_PROGRESS_GAP_MS = 2;

export interface RunnerLogger {
  error(obj: object, msg: string): void;
}

export class OperationRunner {
  private readonly inflight = new Set<Operation>();
  private idleWaiters: Array<() => void> = [];
  private readonly logger: RunnerLogger | undefined;

  constructor(options: { logger?: RunnerLogger } = {}) {
    this.logger = options.logger;
  }

  get size(): number {
    return this.inflight.size;
  }

  /** Start a validated call; its response is sent when it settles. */
  start(session: Session, requestId: RequestId, tool: RegisteredTool, args: unknown, progressToken: Operation['progressToken']): Operation {
    const op = new Operation(session, requestId, tool, progressToken);
    session.operations.set(requestId, op);
    this.inflight.add(op);
    void this.execute(op, args);
    return op;
  }

  private async execute(op: Operation, args: unknown): Promise<void> {
    let response: JSONRPCMessage;
    try {
      const out = await op.tool.definition.handler(args as never, op);
      response = this.resultFor(op, out);
    } catch (err) {
      response = this.errorFor(op, err);
    }
    this.finish(op);
    if (op.silent || op.session.closed) return;
    if (op.progressSent > 0) await delay(FINAL_PROGRESS_GAP_MS);
    op.session.send(response);
  }

  private finish(op: Operation): void {
    if (op.state === 'done') return;
    op.state = 'done';
    if (op.session.operations.get(op.requestId) === op) op.session.operations.delete(op.requestId);
    this.inflight.delete(op);
    if (this.inflight.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private resultFor(op: Operation, out: ToolResult): JSONRPCMessage {
    if (typeof out === 'string') return resultResponse(op.requestId, { content: [{ type: 'text', text: out }] });
    if (out === null || typeof out !== 'object' || !Array.isArray((out as CallToolResult).content)) {
      return errorResponse(op.requestId, RpcCode.INTERNAL_ERROR, `Tool ${op.tool.definition.name} returned an invalid result (expected { content: [...] } or a string)`) as JSONRPCMessage;
    }
    return resultResponse(op.requestId, out);
  }

  private errorFor(op: Operation, err: unknown): JSONRPCMessage {
    const reason = op.abortReason;
    if (reason?.kind === 'cancelled') {
      return resultResponse(op.requestId, { content: [{ type: 'text', text: `Cancelled: ${reason.message}` }], isError: true });
    }
    if (reason) return errorResponse(op.requestId, RpcCode.CANCELLED, reason.message) as JSONRPCMessage;
    if (err instanceof RpcError) return errorResponse(op.requestId, err.code, err.message, err.data) as JSONRPCMessage;
    // Any other failure is a tool execution error: reported in the result so the model can see it (MCP spec).
    const message = err instanceof Error ? err.message : String(err);
    if (!(err instanceof Error)) this.logger?.error({ tool: op.tool.definition.name, err }, 'tool threw a non-Error value');
    return resultResponse(op.requestId, { content: [{ type: 'text', text: message }], isError: true });
  }

  /**
   * End a call now with a JSON-RPC error, whatever its handler does later (its eventual output is
   * dropped). Used for timeouts and shutdown, where the client must hear back at a known time.
   */
  fail(op: Operation, kind: AbortKind, code: number, message: string, data?: unknown): void {
    if (op.state === 'done') return;
    op.abort(kind, message);
    op.silent = true;
    this.finish(op);
    if (!op.session.closed) op.session.send(errorResponse(op.requestId, code, message, data) as JSONRPCMessage);
  }

  /** Abort every call of a session without responding (its client is gone). */
  abortSession(session: Session, kind: AbortKind, message: string): void {
    for (const op of [...session.operations.values()]) {
      op.silent = true;
      op.abort(kind, message);
      this.finish(op);
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

  /** Every call in flight, across sessions. */
  all(): Operation[] {
    return [...this.inflight];
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
