// MCP semantics for one session, whatever the transport: a table of request handlers (initialize,
// ping, tools/*, logging/setLevel, cancel, and whatever features add), notifications, and responses
// to requests the server sent. We own this hot path instead of running an SDK `Server` per session:
// see "Why not the SDK's Server class" in the README for the measurements.
import {
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type LoggingLevel,
  type RequestId,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { RpcCode, RpcError } from '../errors.js';
import {
  errorResponse,
  isRequestId,
  resultResponse,
  type IncomingMessage,
  type IncomingNotification,
  type IncomingRequest,
} from '../jsonrpc.js';
import { LOG_LEVELS, type Session } from '../sessions/session.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { OperationRunner } from '../operations/runner.js';

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

/** Hooks that features (auth scopes, resources, limits) use to take part without touching the core. */
export interface DispatchHooks {
  /** Called before a tools/call starts; throw RpcError to refuse it. */
  beforeToolCall?(session: Session, toolName: string): void;
  /** Filters `tools/list` for a session. */
  visibleTools?(session: Session, tools: ReturnType<ToolRegistry['list']>): ReturnType<ToolRegistry['list']>;
}

const EMPTY: Record<string, never> = Object.freeze({}) as Record<string, never>;
const PONG = { jsonrpc: '2.0', method: 'pong' } as unknown as JSONRPCMessage;

export class Dispatcher {
  private readonly handlers = new Map<string, RequestHandler>();
  private readonly capabilities: ServerCapabilities = { tools: { listChanged: false }, logging: {} };
  readonly hooks: DispatchHooks = {};

  constructor(
    private readonly tools: ToolRegistry,
    private readonly runner: OperationRunner,
    private readonly identity: ServerIdentity,
  ) {
    this.handlers.set('initialize', (c) => this.initialize(c));
    this.handlers.set('ping', () => EMPTY);
    this.handlers.set('tools/list', ({ session }) => ({ tools: this.hooks.visibleTools?.(session, this.tools.list()) ?? this.tools.list() }));
    this.handlers.set('logging/setLevel', (c) => this.setLogLevel(c));
    this.handlers.set('cancel', (c) => this.cancelRequest(c));
  }

  /** Add or replace a request handler (e.g. `resources/read`). */
  setRequestHandler(method: string, handler: RequestHandler): void {
    this.handlers.set(method, handler);
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
    } else {
      session.settleRequest(message.id, message.result, message.error);
    }
  }

  private onRequest(session: Session, request: IncomingRequest): void {
    if (request.method === 'tools/call') return this.callTool(session, request);
    const handler = this.handlers.get(request.method);
    if (handler === undefined) {
      session.send(errorResponse(request.id, RpcCode.METHOD_NOT_FOUND, `Method not found: ${request.method}`) as JSONRPCMessage);
      return;
    }
    let result: unknown;
    try {
      result = handler({ session, request, params: request.params ?? EMPTY });
    } catch (err) {
      session.send(toErrorResponse(request.id, err));
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (r) => session.send(resultResponse(request.id, r)),
        (err) => session.send(toErrorResponse(request.id, err)),
      );
    } else {
      session.send(resultResponse(request.id, result));
    }
  }

  private onNotification(session: Session, n: IncomingNotification): void {
    switch (n.method) {
      case 'notifications/initialized':
        session.initialized = true;
        return;
      case 'notifications/cancelled': {
        const id = n.params?.requestId;
        const op = isRequestId(id) ? session.operations.get(id) : undefined;
        if (op) {
          op.silent = true; // spec: no response for a request cancelled this way
          op.abort('cancelled', typeof n.params?.reason === 'string' ? n.params.reason : 'cancelled by the client');
        }
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
    const fail = (code: number, message: string) => session.send(errorResponse(request.id, code, message) as JSONRPCMessage);
    if (typeof name !== 'string') return fail(RpcCode.INVALID_PARAMS, 'Invalid params: tools/call needs a string "name"');
    const tool = this.tools.get(name);
    if (tool === undefined) return fail(RpcCode.INVALID_PARAMS, `Unknown tool: ${name}`);
    if (session.operations.has(request.id)) return fail(RpcCode.INVALID_REQUEST, `Invalid Request: request id ${JSON.stringify(request.id)} is already in flight`);
    const rawArgs = params.arguments;
    if (rawArgs !== undefined && (rawArgs === null || typeof rawArgs !== 'object' || Array.isArray(rawArgs))) {
      return fail(RpcCode.INVALID_PARAMS, 'Invalid params: "arguments" must be an object');
    }
    try {
      this.hooks.beforeToolCall?.(session, name);
    } catch (err) {
      session.send(toErrorResponse(request.id, err));
      return;
    }
    const checked = tool.validate(rawArgs);
    if (!checked.ok) return fail(RpcCode.INVALID_PARAMS, checked.message);
    const meta = params._meta as { progressToken?: unknown } | undefined;
    const token = meta !== undefined && meta !== null && typeof meta === 'object' ? meta.progressToken : undefined;
    this.runner.start(session, request.id, tool, checked.value, isRequestId(token) ? token : undefined);
  }

  private initialize({ session, params }: RequestContext): unknown {
    if (session.protocolVersion !== undefined) {
      throw new RpcError(RpcCode.INVALID_REQUEST, 'Invalid Request: this session is already initialized');
    }
    const requested = params.protocolVersion;
    if (typeof requested !== 'string') throw new RpcError(RpcCode.INVALID_PARAMS, 'Invalid params: initialize needs a string "protocolVersion"');
    const version = SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
    session.protocolVersion = version;
    session.clientCapabilities = isObject(params.capabilities) ? (params.capabilities as never) : {};
    session.clientInfo = isObject(params.clientInfo) ? (params.clientInfo as never) : undefined;
    const { name, version: serverVersion, title, instructions } = this.identity;
    return {
      protocolVersion: version,
      capabilities: this.capabilities,
      serverInfo: title ? { name, title, version: serverVersion } : { name, version: serverVersion },
      ...(instructions && { instructions }),
    };
  }

  private setLogLevel({ session, params }: RequestContext): unknown {
    const level = params.level;
    if (typeof level !== 'string' || !LOG_LEVELS.includes(level as LoggingLevel)) {
      throw new RpcError(RpcCode.INVALID_PARAMS, `Invalid params: level must be one of ${LOG_LEVELS.join(', ')}`);
    }
    session.logLevel = level as LoggingLevel;
    return EMPTY;
  }

  /** `cancel { requestId }`: the simpler form some clients send. The call itself then answers "Cancelled". */
  private cancelRequest({ session, params }: RequestContext): unknown {
    const id = params.requestId;
    if (!isRequestId(id)) throw new RpcError(RpcCode.INVALID_PARAMS, 'Invalid params: cancel needs "requestId" (string or integer)');
    const op = session.operations.get(id);
    if (op === undefined) return { cancelled: false, reason: 'no such request in flight' };
    const reason = typeof params.reason === 'string' ? params.reason : 'cancelled by the client';
    // After this answer has been sent: `{ cancelled: true }` first, then the call's own "Cancelled" result.
    queueMicrotask(() => op.abort('cancelled', reason));
    return { cancelled: true };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function toErrorResponse(id: RequestId, err: unknown): JSONRPCMessage {
  if (err instanceof RpcError) return errorResponse(id, err.code, err.message, err.data) as JSONRPCMessage;
  return errorResponse(id, RpcCode.INTERNAL_ERROR, 'Internal error') as JSONRPCMessage;
}
