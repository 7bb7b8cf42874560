// How a tool is declared: a name, a description, a TypeBox input schema and an async handler.
// `defineTool` only exists to infer the handler's argument type from the schema.
import type { Static, TSchema } from 'typebox';
import type { CallToolResult, ClientCapabilities, ContentBlock, LoggingLevel, RequestId, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../sessions/principal.js';

export interface ProgressUpdate {
  /** Items done so far. Must increase from one call to the next; a value that does not is dropped. */
  progress: number;
  /** Items in all, when known (enables the ETA). */
  total?: number;
  /** Short human text, e.g. `batch 42`; the server puts the count before it and rate and ETA after it. */
  message?: string;
  /** What is counted, plural (`images`): the rate then reads `350 images/s`. */
  unit?: string;
}

export type { ContentBlock };

/** What a handler gets besides its arguments. */
export interface ToolContext {
  /** Aborts on client cancel, disconnect (after any resume window), timeout or shutdown; `reason` says which. */
  readonly signal: AbortSignal;
  readonly sessionId: string;
  readonly requestId: RequestId;
  /** The authenticated caller, when auth is on. */
  readonly principal: Principal | undefined;
  /** What the client can be asked (its `initialize` capabilities, or this request's `_meta` on 2026-07-28). */
  readonly clientCapabilities: ClientCapabilities | undefined;
  /** Report progress; a no-op when the caller sent no progressToken. */
  progress(update: ProgressUpdate): void;
  /** Send `notifications/message` to this session if `level` passes its log level. */
  log(level: LoggingLevel, data: unknown, logger?: string): void;
  /**
   * Send partial content now (`notifications/tool/streamContent`, see the README); the same blocks
   * also open the final result's `content`, before what the handler returns.
   */
  stream(content: ContentBlock | ContentBlock[]): void;
  /**
   * Ask the client something during the call (e.g. `sampling/createMessage`, `elicitation/create`) and
   * wait for its answer; on HTTP transports the request travels on this call's stream. Rejects with the
   * client's error, or when the call is aborted or the session ends.
   *
   * On a 2026-07-28 (stateless) request the question goes back as an input-required result instead
   * (README "Input-required results"): the call ends there, and the client's retry runs the handler again
   * from the start, where this call resolves with the answer. Handlers must therefore ask the same
   * questions in the same order on every run (or name them with `key`), and do nothing before a question
   * that must not be repeated.
   */
  request(method: string, params?: Record<string, unknown>, options?: { key?: string }): Promise<unknown>;
  /**
   * Call this in loops. It gives the event loop a turn every few milliseconds (so pings, other clients
   * and progress frames get through), waits while this client's outgoing buffer is full, and rejects
   * with the abort reason once the call is cancelled. Usually returns undefined (nothing to wait for).
   */
  checkpoint(): Promise<void> | undefined;
}

/** A handler may return a full result or, as shorthand, the text of a single text content. */
export type ToolResult = CallToolResult | string;

export interface ToolDefinition<S extends TSchema = TSchema> {
  /** 1–128 characters of A–Z a–z 0–9 _ - . (MCP 2025-11-25 tool naming guidance). */
  name: string;
  title?: string;
  description: string;
  inputSchema: S;
  outputSchema?: TSchema;
  annotations?: ToolAnnotations;
  /** Scopes the caller's token must carry to see and call this tool. */
  scopes?: string[];
  /**
   * Abort the call after this long (reason `timeout`; the client gets error -32001 with the last
   * progress). Falls back to the server default `TOOL_TIMEOUT_MS`; 0 = no timeout. Time queued is not counted.
   */
  timeoutMs?: number;
  handler(args: Static<S>, ctx: ToolContext): Promise<ToolResult> | ToolResult;
}

/** Declare a tool; the handler's `args` type is inferred from `inputSchema`. */
export function defineTool<S extends TSchema>(definition: ToolDefinition<S>): ToolDefinition<S> {
  return definition;
}
