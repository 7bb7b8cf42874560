// MCP 2026-07-28 over our WebSocket (/mcp/ws), a custom transport binding (README "The WebSocket
// binding"): one JSON-RPC message per text frame, every request carrying its own `_meta` and checked on
// its own (no headers: all metadata travels in the body), no state kept between requests. A request's
// progress, logs and answer go back as frames on the socket, correlated by id and progress token;
// `notifications/cancelled { requestId }` cancels a call or ends a subscription; closing the socket
// cancels everything of it. The server never sends a JSON-RPC request here: questions to the client are
// input-required results, and the "progress before result" ordering barrier is a WebSocket ping frame.
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { Errors, RpcError } from '../../errors.js';
import type { IncomingMessage, IncomingRequest } from '../../jsonrpc.js';
import { isRequestId } from '../../jsonrpc.js';
import { isResponse, type OutMessage } from '../../outbox/messages.js';
import type { OutboxSink } from '../../outbox/sink.js';
import type { Principal } from '../../sessions/principal.js';
import { hasModernClaim } from '../../protocol/modern/envelope.js';
import type { ListenSession } from '../../protocol/modern/listen.js';
import type { RequestSession } from '../../protocol/modern/request-session.js';
import type { ModernServer } from '../../protocol/modern/server.js';
import type { WebSocketConnection } from './connection.js';

/** One request's (or subscription's) messages as frames on the shared socket. */
class SocketRequestSink implements OutboxSink {
  /** WebSocket clients may handle progress read together with the result after it: results wait for a ping frame's pong. */
  readonly needsOrderingBarrier = true;
  done = false;
  onDone: (() => void) | undefined;

  constructor(private readonly connection: WebSocketConnection) {}

  write(stream: string, seq: number, text: string, message: OutMessage | undefined): void {
    this.connection.write(stream, seq, text, message);
    if (message !== undefined && isResponse(message) && !this.done) {
      this.done = true;
      this.onDone?.();
    }
  }

  get bufferedAmount(): number {
    return this.connection.bufferedAmount;
  }

  whenDrained(): Promise<void> {
    return this.connection.whenDrained();
  }

  /** The barrier's round trip: a ping frame, never a JSON-RPC request (2026-07-28 servers send none). */
  barrierPing(): Promise<void> {
    return this.connection.barrierPing();
  }

  /** The socket is shared: a request's end is not the socket's. */
  end(): void {}

  dropSlowClient(): void {
    this.connection.dropSlowClient();
  }
}

export class ModernSocket {
  private readonly inflight = new Map<RequestId, RequestSession>();
  private readonly listens = new Map<RequestId, ListenSession>();
  private closed = false;

  constructor(
    private readonly server: ModernServer,
    private readonly connection: WebSocketConnection,
    private readonly principal: Principal | undefined,
  ) {}

  /** True when `message` selects the 2026-07-28 rules for a fresh socket (or is a discover probe). */
  static claims(message: IncomingMessage): boolean {
    return 'method' in message && 'id' in message && (message.method === 'server/discover' || hasModernClaim(message.params));
  }

  /** One structurally valid message from the client. */
  receive(message: IncomingMessage): void {
    if (this.closed) return;
    if (!('method' in message)) return; // a response: this server asks nothing on this wire
    if (!('id' in message)) return this.notification(message.method, message.params);
    const request = message as IncomingRequest;
    try {
      this.request(request);
    } catch (err) {
      // Never out of the socket's handler: an unexpected failure is this request's -32603, not a crash.
      this.sendError(request.id, err instanceof RpcError ? err : new RpcError(Errors.INTERNAL_ERROR, 'Internal error'));
    }
  }

  /** An unparseable frame: the error without an id (2026-07-28 never sends id null). */
  sendError(id: RequestId | undefined, err: RpcError): void {
    this.connection.write('', 0, JSON.stringify(this.server.errorBody(id, err)), undefined);
  }

  /** The socket closed: every call of it is cancelled, every subscription ends. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const session of this.inflight.values()) this.server.cancel(session, 'the client closed the connection');
    this.inflight.clear();
    for (const listen of this.listens.values()) this.server.endListen(listen);
    this.listens.clear();
  }

  private request(request: IncomingRequest): void {
    const { id, method } = request;
    // Every request on its own: a missing or malformed _meta is -32602, another version -32022.
    const checked = this.server.check(request.params);
    if (!checked.ok) throw checked.error;
    if (!this.server.hasMethod(method)) throw this.server.methodNotFound(method);
    if (this.inflight.has(id) || this.listens.has(id)) throw new RpcError(Errors.INVALID_REQUEST, `Invalid Request: request id ${JSON.stringify(id)} is already in flight on this connection`);
    const sink = new SocketRequestSink(this.connection);
    if (method === 'server/discover') {
      this.server.dispose(this.server.answerNow(request, checked.envelope, this.principal, 'ws', sink, this.server.discover()));
      return;
    }
    if (method === 'subscriptions/listen') {
      const listen = this.server.listen(request, this.principal, 'ws', sink);
      this.listens.set(id, listen);
      sink.onDone = () => this.endListen(id);
      return;
    }
    const session = this.server.serve(request, checked.envelope, this.principal, 'ws', sink);
    if (sink.done) return this.server.dispose(session);
    this.inflight.set(id, session);
    sink.onDone = () => {
      if (this.inflight.get(id) === session) this.inflight.delete(id);
      this.server.dispose(session);
    };
  }

  private notification(method: string, params: Record<string, unknown> | undefined): void {
    if (method !== 'notifications/cancelled') return; // nothing else is defined from the client
    const id = params?.requestId;
    if (!isRequestId(id)) return;
    const session = this.inflight.get(id);
    if (session !== undefined) {
      this.inflight.delete(id);
      this.server.cancel(session, typeof params?.reason === 'string' ? params.reason : 'cancelled by the client');
      return;
    }
    this.endListen(id);
  }

  private endListen(id: RequestId): void {
    const listen = this.listens.get(id);
    if (listen === undefined) return;
    this.listens.delete(id);
    this.server.endListen(listen);
  }
}
