// One MCP session, independent of how its client is connected: identity, negotiated protocol state, the
// calls in flight, requests the server sent to the client, and the outbox every outgoing message goes
// through. The transport that serves it registers how to close it (`binding`).
import type { ClientCapabilities, Implementation, LoggingLevel, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from './principal.js';
import type { Operation } from '../operations/operation.js';
import type { Outbox } from '../outbox/outbox.js';
import { requestMessage, type OutMessage } from '../outbox/messages.js';

export type TransportKind = 'ws' | 'sse' | 'streamable' | 'stdio';
export const TRANSPORT_KINDS: readonly TransportKind[] = ['ws', 'sse', 'streamable', 'stdio'];

/** How the session's transport ends it (close its connections, and the session with them). */
export interface SessionBinding {
  /** End the session's connections; the transport then ends the session. */
  close(reason: string): Promise<void>;
  /** Close because the server is going away (WebSocket: 1001; HTTP streams: end them). */
  shutdown(reason: string): Promise<void>;
  /**
   * Another node takes the session's stream over (scale-out): let go of the connection or stream
   * without ending the session, and stop this node's timers for it.
   */
  handOver?(): Promise<void>;
}

/** Open sessions by transport and how many wait detached, maintained as sessions come and go. */
export interface SessionCounts {
  byTransport: Record<TransportKind, number>;
  detached: number;
}

interface PendingRequest {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

export interface SessionRequestOptions {
  relatedRequestId?: RequestId;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** The key of this question in an input-required result (2026-07-28 requests; ignored on sessions). */
  key?: string;
}

/** MCP log levels in increasing severity (RFC 5424 order). */
export const LOG_LEVELS: readonly LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

export class Session {
  readonly id: string;
  readonly transportKind: TransportKind;
  readonly principal: Principal | undefined;
  readonly createdAt = Date.now();
  readonly outbox: Outbox;
  binding: SessionBinding | undefined;
  /** Resolves once the session's record is stored (other nodes can serve it). */
  registered: Promise<void> = Promise.resolve();

  /** Set by `initialize`. */
  protocolVersion: string | undefined;
  clientInfo: Implementation | undefined;
  clientCapabilities: ClientCapabilities | undefined;
  /** True once the client sent `notifications/initialized`. */
  initialized = false;
  /** Minimum level for `notifications/message`; unset = everything (as the SDK server does). */
  logLevel: LoggingLevel | undefined;
  closed = false;
  /** The counts of the registry holding this session (kept up to date without a pass over sessions). */
  counts: SessionCounts | undefined;
  private isDetached = false;
  /**
   * True for a 2026-07-28 per-request context (protocol/modern/request-session.ts): not a session of the
   * SessionManager, and one request long. The dispatcher reports tool argument errors as results there.
   */
  readonly modern: boolean = false;

  /** Calls in flight, by request id. */
  readonly operations = new Map<RequestId, Operation>();
  /** Requests this server sent to the client (sampling, elicitation, ping), by id. */
  private readonly pending = new Map<RequestId, PendingRequest>();
  private nextRequestId = 0;
  /**
   * Start of the ids of requests sent to the client (`<prefix>s1`, …). With several nodes it names this
   * node, so that a client's answer POSTed to another node finds its way back (see requestNode()).
   */
  requestIdPrefix = '';

  constructor(id: string, transportKind: TransportKind, principal: Principal | undefined, outbox: (session: Session) => Outbox) {
    this.id = id;
    this.transportKind = transportKind;
    this.principal = principal;
    this.outbox = outbox(this);
  }

  /**
   * True while the session's connection is gone and it waits for its client to resume it (a dropped
   * WebSocket within its resume window, a legacy SSE session between streams).
   */
  get detached(): boolean {
    return this.isDetached;
  }

  set detached(value: boolean) {
    if (value === this.isDetached) return;
    this.isDetached = value;
    if (this.counts !== undefined) this.counts.detached += value ? 1 : -1;
  }

  /** Hand a message to the client (see outbox.ts for what happens to it). */
  send(message: OutMessage): void {
    this.outbox.push(message);
  }

  /** True while a connection of this session is open. */
  get connected(): boolean {
    return this.outbox.connected;
  }

  /** The client is not keeping up: tools should wait (ctx.checkpoint does). */
  get congested(): boolean {
    return this.outbox.congested;
  }

  whenDrained(): Promise<void> {
    return this.outbox.whenDrained();
  }

  /** True when a message at `level` should reach this session. */
  wantsLog(level: LoggingLevel): boolean {
    return this.logLevel === undefined || LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(this.logLevel);
  }

  /**
   * Send a request to the client and wait for its answer (e.g. `sampling/createMessage` during a call).
   * Rejects with the client's JSON-RPC error, when the session closes, `signal` aborts or `timeoutMs` passes.
   */
  request(
    method: string,
    params: Record<string, unknown> | undefined,
    options: SessionRequestOptions = {},
  ): Promise<unknown> {
    const id = `${this.requestIdPrefix}s${++this.nextRequestId}`;
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('session closed'));
      const { signal, timeoutMs } = options;
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        this.pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
        if (timer !== undefined) clearTimeout(timer);
      };
      const onAbort = () => {
        done();
        reject(signal!.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          done();
          reject(new Error(`no answer to ${method} within ${timeoutMs} ms`));
        }, timeoutMs);
        timer.unref();
      }
      this.pending.set(id, {
        resolve: (v) => {
          done();
          resolve(v);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      this.send(requestMessage(id, method, params, options.relatedRequestId));
    });
  }

  /** Route a response from the client to the request it answers; false when nothing was waiting for it. */
  settleRequest(id: RequestId, result: unknown, error: { code: number; message: string; data?: unknown } | undefined): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    if (error) p.reject(Object.assign(new Error(error.message), { code: error.code, data: error.data }));
    else p.resolve(result);
    return true;
  }

  /** Reject every request still waiting for the client. */
  rejectPending(reason: Error): void {
    for (const p of [...this.pending.values()]) p.reject(reason);
  }
}
