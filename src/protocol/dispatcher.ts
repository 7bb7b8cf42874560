// MCP semantics for one session, whatever the transport: a table of request handlers (initialize,
// ping, tools/*, logging/setLevel, cancel, and whatever features add), notifications, and responses
// to requests the server sent. We own this hot path instead of running an SDK `Server` per session:
// see "Why not the SDK's Server class" in the README for the measurements.
import {
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  type LoggingLevel,
  type RequestId,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { Errors, RpcError } from '../errors.js';
import { errorResponse, isRequestId, type IncomingMessage, type IncomingNotification, type IncomingRequest } from '../jsonrpc.js';
import { LOG_LEVELS, type Session } from '../sessions/session.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { OperationRunner } from '../operations/runner.js';
import { errorMessage, notificationMessage, resultMessage } from '../outbox/messages.js';
import { HookList } from '../hooks.js';
import type { SessionPatch } from '../stores/types.js';
import { toErrorResponse } from './render-error.js';

export interface ServerIdentity {
  name: string;
  version: string;
  title?: string;
  instructions?: string;
}

export interface RequestContext {
  session: Session;
  request: IncomingRequest;
  params: Record<string, unknown>;
}

/** Returns the result (or a promise of it); throw RpcError for a JSON-RPC error. */
export type RequestHandler = (ctx: RequestContext) => unknown;

type ToolList = ReturnType<ToolRegistry['list']>;

/** Hooks that features (auth scopes, metrics) add with `dispatcher.hooks.add(name, listener)`. */
export interface DispatchHooks {
  /** Before a tools/call of a registered tool is admitted; throw RpcError to refuse it. */
  preToolCall: (session: Session, toolName: string) => void;
  /** Filters `tools/list` for a session: gets the list so far, returns the list to show. */
  filterTools: (tools: ToolList, session: Session) => ToolList;
}

const EMPTY: Record<string, never> = Object.freeze({}) as Record<string, never>;
/** Where a WebSocket session's `initialize` result carries the session id (for `session/resume`). */
export const SESSION_ID_META = 'realtime-mcp/sessionId';
/** Answer to a `ping` notification (some WebSocket clients send one as a keep-alive). */
const PONG = notificationMessage('pong');

export class Dispatcher {
  private readonly handlers = new Map<string, RequestHandler>();
  private readonly capabilities: ServerCapabilities = { tools: { listChanged: false }, logging: {} };
  readonly hooks = new HookList<DispatchHooks>();
  /** Set during graceful shutdown: calls in flight finish, new ones are refused. */
  refusingCalls = false;
  /** Stores a change of session state; the answer leaves once it resolves (any node may serve the next request). */
  onSessionChange: ((session: Session, patch: SessionPatch) => Promise<void>) | undefined;
  /** A cancel for a call not running here (scale-out: it may run on another node). */
  cancelElsewhere: ((session: Session, requestId: RequestId, reason: string, silent: boolean) => Promise<boolean>) | undefined;
  /**
   * A client's response to a request this node did not send (scale-out: the client POSTed it to another
   * node than the one waiting for it); false when it answers nothing known anywhere.
   */
  responseElsewhere: ((session: Session, id: RequestId, result: unknown, error: { code: number; message: string; data?: unknown } | undefined) => boolean) | undefined;

  constructor(
    private readonly tools: ToolRegistry,
    private readonly runner: OperationRunner,
    private readonly identity: ServerIdentity,
  ) {
    this.handlers.set('initialize', (c) => this.initialize(c));
    this.handlers.set('ping', () => EMPTY);
    this.handlers.set('tools/list', ({ session }) => ({ tools: this.hooks.reduce('filterTools', this.tools.list(), session) }));
    this.handlers.set('logging/setLevel', (c) => this.setLogLevel(c));
    this.handlers.set('cancel', (c) => this.cancelRequest(c));
  }

  /** Add or replace a request handler (e.g. `resources/read`). */
  setRequestHandler(method: string, handler: RequestHandler): void {
    this.handlers.set(method, handler);
  }

  /** Whether a request handler is registered for `method` (tools/call is built in). */
  hasHandler(method: string): boolean {
    return method === 'tools/call' || this.handlers.has(method);
  }

  /** The capabilities announced in `initialize` (and `server/discover`); do not modify. */
  get serverCapabilities(): Readonly<ServerCapabilities> {
    return this.capabilities;
  }

  /** Merge capabilities announced in `initialize`. */
  addCapabilities(capabilities: ServerCapabilities): void {
    Object.assign(this.capabilities, capabilities);
  }

  /** Handle one structurally valid message from a session's client. Never throws. */
  handle(session: Session, message: IncomingMessage): void {
    if ('method' in message) {
      if ('id' in message) this.onRequest(session, message as IncomingRequest);
      else this.onNotification(session, message);
    } else if (!session.settleRequest(message.id, message.result, message.error)) {
      this.responseElsewhere?.(session, message.id, message.result, message.error);
    }
  }

  private onRequest(session: Session, request: IncomingRequest): void {
    if (request.method === 'tools/call') return this.callTool(session, request);
    const handler = this.handlers.get(request.method);
    if (handler === undefined) {
      session.send(errorMessage(errorResponse(request.id, Errors.METHOD_NOT_FOUND.rpc, `Method not found: ${request.method}`)));
      return;
    }
    let result: unknown;
    try {
      result = handler({ session, request, params: request.params ?? EMPTY });
    } catch (err) {
      session.send(errorMessage(toErrorResponse(request.id, err)));
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (r) => session.send(resultMessage(request.id, r)),
        (err) => session.send(errorMessage(toErrorResponse(request.id, err))),
      );
    } else {
      session.send(resultMessage(request.id, result));
    }
  }

  private onNotification(session: Session, n: IncomingNotification): void {
    switch (n.method) {
      case 'notifications/initialized':
        session.initialized = true;
        void this.onSessionChange?.(session, { initialized: true }).catch(() => {});
        return;
      case 'notifications/cancelled': {
        const id = n.params?.requestId;
        if (!isRequestId(id)) return;
        const reason = typeof n.params?.reason === 'string' ? n.params.reason : 'cancelled by the client';
        const op = session.operations.get(id);
        // Spec: no response for a request cancelled this way.
        if (op) this.runner.cancel(op, reason, { silent: true });
        else void this.cancelElsewhere?.(session, id, reason, true);
        return;
      }
      case 'ping':
        session.send(PONG);
        return;
      default:
      // Unknown notifications are ignored, as JSON-RPC requires (no response to a notification).
    }
  }

  private callTool(session: Session, request: IncomingRequest): void {
    const params = request.params ?? EMPTY;
    const name = params.name;
    const fail = (code: number, message: string) => session.send(errorMessage(errorResponse(request.id, code, message)));
    if (typeof name !== 'string') return fail(Errors.INVALID_PARAMS.rpc, 'Invalid params: tools/call needs a string "name"');
    const tool = this.tools.get(name);
    if (tool === undefined) return fail(Errors.INVALID_PARAMS.rpc, `Unknown tool: ${name}`);
    if (session.operations.has(request.id)) return fail(Errors.INVALID_REQUEST.rpc, `Invalid Request: request id ${JSON.stringify(request.id)} is already in flight`);
    const rawArgs = params.arguments;
    if (rawArgs !== undefined && (rawArgs === null || typeof rawArgs !== 'object' || Array.isArray(rawArgs))) {
      return fail(Errors.INVALID_PARAMS.rpc, 'Invalid params: "arguments" must be an object');
    }
    if (this.refusingCalls) {
      return fail(Errors.SHUTTING_DOWN.rpc, 'Server shutting down: not accepting new calls; retry on another instance or after restart');
    }
    try {
      this.hooks.call('preToolCall', session, name);
    } catch (err) {
      session.send(errorMessage(toErrorResponse(request.id, err)));
      return;
    }
    const checked = tool.validate(rawArgs);
    if (!checked.ok) {
      // 2026-07-28: an input validation failure is a tool execution error the model can see and fix.
      if (session.modern) return session.send(resultMessage(request.id, { content: [{ type: 'text', text: checked.message }], isError: true }));
      return fail(Errors.INVALID_PARAMS.rpc, checked.message);
    }
    const meta = params._meta as { progressToken?: unknown } | undefined;
    const token = meta !== undefined && meta !== null && typeof meta === 'object' ? meta.progressToken : undefined;
    this.runner.start(session, request.id, tool, checked.value, isRequestId(token) ? token : undefined);
  }

  private initialize({ session, params }: RequestContext): unknown {
    if (session.protocolVersion !== undefined) {
      throw new RpcError(Errors.INVALID_REQUEST, 'Invalid Request: this session is already initialized');
    }
    const requested = params.protocolVersion;
    if (typeof requested !== 'string') throw new RpcError(Errors.INVALID_PARAMS, 'Invalid params: initialize needs a string "protocolVersion"');
    const version = SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
    session.protocolVersion = version;
    session.clientCapabilities = isObject(params.capabilities) ? (params.capabilities as never) : {};
    session.clientInfo = isObject(params.clientInfo) ? (params.clientInfo as never) : undefined;
    const { name, version: serverVersion, title, instructions } = this.identity;
    const result = {
      protocolVersion: version,
      capabilities: this.capabilities,
      serverInfo: title ? { name, title, version: serverVersion } : { name, version: serverVersion },
      ...(instructions && { instructions }),
      // A browser cannot read the 101's Mcp-Session-Id header; it needs the id to resume (session/resume).
      ...(session.transportKind === 'ws' && { _meta: { [SESSION_ID_META]: session.id } }),
    };
    return this.persisted(session, { protocolVersion: version, clientCapabilities: session.clientCapabilities, clientInfo: session.clientInfo }, result, session.registered);
  }

  private setLogLevel({ session, params }: RequestContext): unknown {
    const level = params.level;
    if (typeof level !== 'string' || !LOG_LEVELS.includes(level as LoggingLevel)) {
      throw new RpcError(Errors.INVALID_PARAMS, `Invalid params: level must be one of ${LOG_LEVELS.join(', ')}`);
    }
    session.logLevel = level as LoggingLevel;
    return this.persisted(session, { logLevel: session.logLevel }, EMPTY);
  }

  /** `result`, once the session change is stored (at once when nothing stores it). */
  private persisted(session: Session, patch: SessionPatch, result: unknown, after?: Promise<void>): unknown {
    if (this.onSessionChange === undefined) return result;
    const stored = after === undefined ? this.onSessionChange(session, patch) : after.then(() => this.onSessionChange!(session, patch));
    return stored.then(() => result);
  }

  /** `cancel { requestId }`: the simpler form some clients send. The call itself then answers "Cancelled". */
  private cancelRequest({ session, params }: RequestContext): unknown {
    const id = params.requestId;
    if (!isRequestId(id)) throw new RpcError(Errors.INVALID_PARAMS, 'Invalid params: cancel needs "requestId" (string or integer)');
    const op = session.operations.get(id);
    if (op === undefined) {
      const notFound = { cancelled: false, reason: 'no such request in flight' };
      if (this.cancelElsewhere === undefined) return notFound;
      // Another node may run it: it answers the call itself ("Cancelled: …").
      return this.cancelElsewhere(session, id, typeof params.reason === 'string' ? params.reason : 'cancelled by the client', false)
        .then((found) => (found ? { cancelled: true } : notFound));
    }
    const reason = typeof params.reason === 'string' ? params.reason : 'cancelled by the client';
    // After this answer has been sent: `{ cancelled: true }` first, then the call's own "Cancelled" result.
    queueMicrotask(() => this.runner.cancel(op, reason, { silent: false }));
    return { cancelled: true };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
