// One MCP session, independent of how its client is connected: identity, negotiated protocol state,
// the calls in flight, and the transport it currently speaks through.
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ClientCapabilities, Implementation, JSONRPCMessage, LoggingLevel, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from './principal.js';
import { RpcCode } from '../errors.js';
import type { Operation } from '../operations/operation.js';

interface PendingRequest {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

export type TransportKind = 'ws' | 'sse' | 'streamable';

/** An SDK Transport, plus what the server needs for flow control when the transport can tell. */
export interface SessionTransport extends Transport {
  /** Bytes queued for the client and not yet handed to the kernel. */
  readonly bufferedAmount?: number;
  /** Resolves once the outgoing buffer has drained (or the transport closed). */
  whenDrained?(): Promise<void>;
  /** Close because the server is going away (WebSocket: 1001; HTTP streams: end them). */
  shutdown?(reason: string): Promise<void>;
  /** True while the client is not keeping up (over the transport's high-water mark). */
  readonly congested?: boolean;
  /** Why the transport closed, once it has (used as the abort reason of calls still running). */
  readonly closeReason?: string;
  /**
   * True when the transport itself makes sure a call's last progress notification is handled by the
   * client before the call's result (WebSocket: a ping/pong barrier; Streamable HTTP: the SDK client
   * reads event by event). Otherwise the runner leaves a short gap before the result.
   */
  readonly ordersProgressBeforeResult?: boolean;
}

/** Queued bytes above which a transport that does not say otherwise counts as congested. */
const DEFAULT_HIGH_WATER_BYTES = 1024 * 1024;

/** MCP log levels in increasing severity (RFC 5424 order). */
export const LOG_LEVELS: readonly LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

export class Session {
  readonly id: string;
  readonly transportKind: TransportKind;
  readonly principal: Principal | undefined;
  readonly createdAt = Date.now();

  /** Set by `initialize`. */
  protocolVersion: string | undefined;
  clientInfo: Implementation | undefined;
  clientCapabilities: ClientCapabilities | undefined;
  /** True once the client sent `notifications/initialized`. */
  initialized = false;
  /** Minimum level for `notifications/message`; unset = everything (as the SDK server does). */
  logLevel: LoggingLevel | undefined;

  /** Calls in flight, by request id. */
  readonly operations = new Map<RequestId, Operation>();
  private transport: SessionTransport | undefined;
  closed = false;
  /** Requests this server sent to the client (sampling, elicitation, ping), by id. */
  private readonly pending = new Map<RequestId, PendingRequest>();
  private nextRequestId = 0;

  constructor(id: string, transportKind: TransportKind, principal: Principal | undefined) {
    this.id = id;
    this.transportKind = transportKind;
    this.principal = principal;
  }

  attach(transport: SessionTransport): void {
    this.transport = transport;
  }

  detach(): void {
    this.transport = undefined;
  }

  /** The transport this session speaks through, if any. */
  get currentTransport(): SessionTransport | undefined {
    return this.transport;
  }

  get connected(): boolean {
    return this.transport !== undefined;
  }

  /** Send a message to the client; silently dropped when no transport is attached. */
  send(message: JSONRPCMessage, options?: TransportSendOptions): void {
    const t = this.transport;
    if (t === undefined) return;
    let sent: Promise<void>;
    try {
      sent = t.send(message, options);
    } catch (err) {
      // JSON.stringify threw (a BigInt, a cycle in a tool's result): answer the request instead of crashing.
      const m = message as { id?: RequestId; result?: unknown; error?: unknown };
      if (m.id === undefined || !('result' in m || 'error' in m)) return;
      const why = `Internal error: the result could not be serialized as JSON (${(err as Error).message})`;
      sent = t.send({ jsonrpc: '2.0', id: m.id, error: { code: RpcCode.INTERNAL_ERROR, message: why } } as JSONRPCMessage, options);
    }
    sent.catch(() => {
      // The transport reports its own failures through onerror/onclose; nothing to do per message.
    });
  }

  get bufferedAmount(): number {
    return this.transport?.bufferedAmount ?? 0;
  }

  /** The client is not keeping up: tools should wait (ctx.checkpoint does). */
  get congested(): boolean {
    const t = this.transport;
    if (t === undefined) return false;
    return t.congested ?? (t.bufferedAmount ?? 0) > DEFAULT_HIGH_WATER_BYTES;
  }

  get ordersProgressBeforeResult(): boolean {
    return this.transport?.ordersProgressBeforeResult === true;
  }

  whenDrained(): Promise<void> {
    return this.transport?.whenDrained?.() ?? Promise.resolve();
  }

  /** True when a message at `level` should reach this session. */
  wantsLog(level: LoggingLevel): boolean {
    return this.logLevel === undefined || LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(this.logLevel);
  }

  /**
   * Send a request to the client and wait for its answer (e.g. `sampling/createMessage` during a call).
   * Rejects with the client's JSON-RPC error, or when the session closes or `signal` aborts.
   */
  request(method: string, params: Record<string, unknown> | undefined, options: { relatedRequestId?: RequestId; signal?: AbortSignal } = {}): Promise<unknown> {
    const id = `s${++this.nextRequestId}`;
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('session closed'));
      const onAbort = () => {
        this.pending.delete(id);
        reject(options.signal!.reason);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (v) => { options.signal?.removeEventListener('abort', onAbort); resolve(v); },
        reject: (e) => { options.signal?.removeEventListener('abort', onAbort); reject(e); },
      });
      const message = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
      this.send(message as JSONRPCMessage, options.relatedRequestId !== undefined ? { relatedRequestId: options.relatedRequestId } : undefined);
    });
  }

  /** Route a response from the client to the request it answers; false when nothing was waiting for it. */
  settleRequest(id: RequestId, result: unknown, error: { code: number; message: string; data?: unknown } | undefined): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    this.pending.delete(id);
    if (error) p.reject(Object.assign(new Error(error.message), { code: error.code, data: error.data }));
    else p.resolve(result);
    return true;
  }

  /** Reject every request still waiting for the client. */
  rejectPending(reason: Error): void {
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
  }

  /** Close the transport (if any) as the server goes away. */
  async closeForShutdown(reason: string): Promise<void> {
    const t = this.transport;
    if (t === undefined) return;
    await (t.shutdown ? t.shutdown(reason) : t.close());
  }
}
