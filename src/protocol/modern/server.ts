// MCP 2026-07-28 beside 2025-11-25: what every transport shares to serve a stateless request. The
// transport (HTTP: routes/mcp-modern.ts; WebSocket: transports/websocket/modern-socket.ts) checks its own
// framing and headers, then asks this class to check the request (`check`), answer `server/discover`,
// open a `subscriptions/listen`, or `serve` anything else: that builds a RequestSession (a one-request
// Session, see request-session.ts) whose outbox writes to the transport's sink, and hands the request
// to the same Dispatcher sessions use. So tools, resources, prompts, completions, limits, timeouts,
// progress with rate and ETA, and realtime://operations behave the same on both wires.
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { Errors, RpcError } from '../../errors.js';
import { errorResponse, type IncomingRequest } from '../../jsonrpc.js';
import { errorMessage, resultMessage, type OutMessage } from '../../outbox/messages.js';
import { SESSION_STREAM } from '../../outbox/event-log.js';
import type { OutboxSink } from '../../outbox/sink.js';
import type { OperationRunner } from '../../operations/runner.js';
import type { ResourceRegistry } from '../../resources/registry.js';
import type { ToolRegistry } from '../../tools/registry.js';
import type { TransportKind } from '../../sessions/session.js';
import { ANONYMOUS, principalKey, type Principal } from '../../sessions/principal.js';
import type { Dispatcher, ServerIdentity } from '../dispatcher.js';
import { META_SERVER_INFO, MODERN_VERSIONS, SUPPORTED_VERSIONS, isObject, readEnvelope, unsupportedVersion, type Envelope } from './envelope.js';
import { MRTR_METHODS, RequestStateCodec } from './mrtr.js';
import { RequestSession, type MrtrContext, type OutboxSettings } from './request-session.js';
import { ListenSession, parseListenFilter, type ListenFilter } from './listen.js';

/** Methods a session has that the stateless wire removed (→ -32601). */
const REMOVED: ReadonlySet<string> = new Set(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe', 'cancel']);
/** Results that carry caching hints (ttlMs, cacheScope). */
const LISTS: ReadonlySet<string> = new Set(['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list']);
/** How long a client may reuse a list (lists are registered at startup; listChanged is false). */
export const LIST_TTL_MS = 60_000;
export const DISCOVER_TTL_MS = 300_000;
/** Open subscriptions at most (each holds a response and registry entries). */
export const MAX_LISTENS = 1024;
/** Open subscriptions per principal (anonymous without auth): one client cannot take every slot. */
export const MAX_LISTENS_PER_PRINCIPAL = 32;

export interface ModernHost {
  readonly dispatcher: Dispatcher;
  readonly runner: OperationRunner;
  readonly resources: ResourceRegistry;
  readonly tools: ToolRegistry;
  readonly identity: ServerIdentity;
}

export interface ModernServerOptions {
  /** MRTR_SECRET: the requestState key; empty = random per process. */
  mrtrSecret?: string;
  outbox: OutboxSettings;
}

export type CheckOutcome = { ok: true; envelope: Envelope } | { ok: false; error: RpcError };

export class ModernServer {
  readonly codec: RequestStateCodec;
  private readonly host: ModernHost;
  private readonly outbox: OutboxSettings;
  private readonly listens = new Set<ListenSession>();
  private readonly listensByPrincipal = new Map<string, number>();
  private readonly serverInfo: { name: string; version: string };
  private nextId = 0;
  private closing = false;

  constructor(host: ModernHost, options: ModernServerOptions) {
    this.host = host;
    this.outbox = options.outbox;
    this.codec = new RequestStateCodec(options.mrtrSecret ?? '');
    this.serverInfo = { name: host.identity.name, version: host.identity.version };
  }

  /** Subscriptions open now. */
  get listenCount(): number {
    return this.listens.size;
  }

  /** The envelope of a request, or the error for it: malformed `_meta` (-32602), a version we do not speak (-32022). */
  check(params: Record<string, unknown> | undefined): CheckOutcome {
    const read = readEnvelope(params);
    if (!read.ok) return read;
    if (!MODERN_VERSIONS.includes(read.envelope.version)) return { ok: false, error: unsupportedVersion(read.envelope.version) };
    return read;
  }

  /** Whether the stateless wire has `method`. */
  hasMethod(method: string): boolean {
    if (method === 'server/discover' || method === 'subscriptions/listen') return true;
    return !REMOVED.has(method) && this.host.dispatcher.hasHandler(method);
  }

  methodNotFound(method: string): RpcError {
    return new RpcError(Errors.METHOD_NOT_FOUND, `Method not found: ${method}${REMOVED.has(method) ? ' (not part of MCP 2026-07-28)' : ''}`);
  }

  /** The `server/discover` result. */
  discover(): Record<string, unknown> {
    const { instructions } = this.host.identity;
    return {
      resultType: 'complete',
      supportedVersions: [...SUPPORTED_VERSIONS],
      capabilities: this.host.dispatcher.serverCapabilities,
      ...(instructions && { instructions }),
      ttlMs: DISCOVER_TTL_MS,
      cacheScope: 'public',
      _meta: { [META_SERVER_INFO]: this.serverInfo },
    };
  }

  /**
   * Serve a checked request other than discover and listen: its answer (and anything before it) goes
   * to `sink`, which must call `done(session)` once it has written the answer. Throws RpcError for a
   * request that cannot start (malformed inputResponses, a tampered requestState).
   */
  serve(request: IncomingRequest, envelope: Envelope, principal: Principal | undefined, kind: TransportKind, sink: OutboxSink): RequestSession {
    const mrtr = MRTR_METHODS.has(request.method) ? this.mrtrContext(request, principal) : undefined;
    const session = new RequestSession(this.newId(), kind, principal, request, envelope, this.outbox, this.finish, mrtr);
    session.outbox.attach(SESSION_STREAM, sink);
    this.host.dispatcher.handle(session, request);
    return session;
  }

  /** Answer a request now with a result (discover) on a sink of its own. */
  answerNow(request: IncomingRequest, envelope: Envelope, principal: Principal | undefined, kind: TransportKind, sink: OutboxSink, result: unknown): RequestSession {
    const session = new RequestSession(this.newId(), kind, principal, request, envelope, this.outbox, this.finish, undefined);
    session.outbox.attach(SESSION_STREAM, sink);
    session.answer(result);
    return session;
  }

  /**
   * Open a subscription: honors what the server's capabilities allow, subscribes the URIs that exist,
   * and sends the acknowledgment. Throws RpcError (-32602 bad filter, -32603 too many subscriptions).
   */
  listen(request: IncomingRequest, principal: Principal | undefined, kind: TransportKind, sink: OutboxSink): ListenSession {
    const filter = parseListenFilter(request.params);
    if (filter === undefined) throw new RpcError(Errors.INVALID_PARAMS, 'Invalid params: subscriptions/listen needs "notifications": { toolsListChanged?, promptsListChanged?, resourcesListChanged?, resourceSubscriptions?: string[] }');
    if (this.closing) throw new RpcError(Errors.SHUTTING_DOWN, 'Server shutting down: not accepting new subscriptions');
    if (this.listens.size >= MAX_LISTENS) throw new RpcError(Errors.LIMIT_REACHED, `Subscription limit reached: this server holds ${MAX_LISTENS} subscriptions; retry later`);
    const owner = principalKey(principal);
    // Without auth there is no caller to count by (everyone would share one key): only MAX_LISTENS applies.
    if (principal !== undefined && principal !== ANONYMOUS && (this.listensByPrincipal.get(owner) ?? 0) >= MAX_LISTENS_PER_PRINCIPAL) {
      throw new RpcError(Errors.LIMIT_REACHED, `Subscription limit reached: at most ${MAX_LISTENS_PER_PRINCIPAL} open subscriptions per caller; close one first`, { maxPerPrincipal: MAX_LISTENS_PER_PRINCIPAL });
    }
    const caps = this.host.dispatcher.serverCapabilities;
    const honored: ListenFilter = {};
    if (filter.toolsListChanged && caps.tools?.listChanged === true) honored.toolsListChanged = true;
    if (filter.promptsListChanged && caps.prompts?.listChanged === true) honored.promptsListChanged = true;
    if (filter.resourcesListChanged && caps.resources?.listChanged === true) honored.resourcesListChanged = true;
    const session = new ListenSession(this.newId(), kind, principal, request.id, honored, this.outbox);
    session.outbox.attach(SESSION_STREAM, sink);
    const uris: string[] = [];
    if (caps.resources?.subscribe === true) {
      for (const uri of filter.resourceSubscriptions ?? []) {
        try {
          this.host.resources.subscribe(session, uri);
          uris.push(uri);
        } catch {
          // A URI that names no resource is not honored (left out of the acknowledgment).
        }
      }
    }
    if (uris.length > 0) honored.resourceSubscriptions = uris;
    this.listens.add(session);
    this.listensByPrincipal.set(owner, (this.listensByPrincipal.get(owner) ?? 0) + 1);
    session.acknowledge();
    return session;
  }

  /** A subscription's stream closed, or the client cancelled it. */
  endListen(session: ListenSession): void {
    if (!this.listens.delete(session)) return;
    const owner = principalKey(session.principal);
    const left = (this.listensByPrincipal.get(owner) ?? 1) - 1;
    if (left > 0) this.listensByPrincipal.set(owner, left);
    else this.listensByPrincipal.delete(owner);
    this.host.resources.forget(session);
    session.dispose();
  }

  /** The client went away (closed the response, sent notifications/cancelled, closed the socket). */
  cancel(session: RequestSession, reason: string): void {
    for (const op of [...session.operations.values()]) this.host.runner.cancel(op, reason, { silent: true });
    this.dispose(session);
  }

  /** The request's answer was written (or it was cancelled): forget it. */
  dispose(session: RequestSession): void {
    session.dispose();
  }

  /** Graceful shutdown: every subscription gets its result, then its stream ends. */
  shutdown(): void {
    this.closing = true;
    for (const session of [...this.listens]) {
      session.complete(this.serverInfo);
      this.endListen(session);
    }
  }

  /** The error answer for a request that never reached a RequestSession. */
  errorBody(id: RequestId | undefined, err: RpcError): object {
    const body = errorResponse(id ?? null, err.code, err.message, err.data) as { id?: unknown };
    if (id === undefined) delete body.id; // 2026-07-28: omit an id that could not be read, never null
    return body;
  }

  private mrtrContext(request: IncomingRequest, principal: Principal | undefined): MrtrContext {
    const params = request.params ?? {};
    const responses = params.inputResponses;
    if (responses !== undefined && !isObject(responses)) throw new RpcError(Errors.INVALID_PARAMS, 'Invalid params: "inputResponses" must be an object keyed by the input request keys');
    const target = request.method === 'resources/read' ? params.uri : params.name;
    const binding = { method: request.method, target: typeof target === 'string' ? target : '', arguments: params.arguments, principal: principal ?? ANONYMOUS };
    const state = params.requestState === undefined ? { round: 1, answers: {} } : this.codec.open(params.requestState, binding);
    return { codec: this.codec, binding, round: state.round, answers: { ...state.answers, ...(responses ?? {}) } };
  }

  /** The final answer as the 2026-07-28 wire carries it. */
  private readonly finish = (session: RequestSession, message: OutMessage): OutMessage => {
    const id = session.requestId;
    const body = message.body as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
    if (message.kind === 'result') {
      const result = isObject(body.result) ? body.result : {};
      const meta = isObject(result._meta) ? result._meta : {};
      return resultMessage(id, {
        ...result,
        resultType: typeof result.resultType === 'string' ? result.resultType : 'complete',
        ...this.cacheHints(session),
        _meta: { ...meta, [META_SERVER_INFO]: this.serverInfo },
      });
    }
    const e = body.error!;
    // 2026-07-28: a resource that does not exist is invalid params (-32002 was the earlier spelling).
    if (e.code === Errors.RESOURCE_NOT_FOUND.rpc) {
      const uri = session.rpc.params?.uri;
      return errorMessage(errorResponse(id, Errors.INVALID_PARAMS.rpc, e.message, { ...(isObject(e.data) ? e.data : {}), uri }));
    }
    return errorMessage(errorResponse(id, e.code, e.message, e.data));
  };

  private cacheHints(session: RequestSession): { ttlMs: number; cacheScope: 'public' | 'private' } | undefined {
    const method = session.rpc.method;
    // What an authenticated caller sees may depend on its token (hidden tools, its own operations).
    const scope = session.principal === undefined || session.principal === ANONYMOUS ? 'public' : 'private';
    if (LISTS.has(method)) return { ttlMs: LIST_TTL_MS, cacheScope: scope };
    if (method === 'resources/read') return { ttlMs: 0, cacheScope: 'private' };
    return undefined;
  }

  private newId(): string {
    return `req-${(++this.nextId).toString(36)}`;
  }
}

