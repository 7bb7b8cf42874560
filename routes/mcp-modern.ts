// MCP 2026-07-28 on POST /mcp, beside the 2025-11-25 sessions (routes/mcp-streamable.ts hands every POST
// that claims the new revision here first). Chosen per request, in this order:
//   - a body whose params._meta carries "io.modelcontextprotocol/protocolVersion" is served statelessly;
//   - `initialize` without that claim is the old revision, unless MCP-Protocol-Version names a new one
//     (→ 400 -32020); any other request without the claim but with such a header → 400 -32602;
//   - everything else (a response, no claim, no new header) goes back to the session route unchanged.
// Then: envelope (400 -32602), MCP-Protocol-Version / Mcp-Method differing from the body (400 -32020),
// version (400 -32022), notifications (202), required headers incl. Mcp-Name (400 -32020), method
// (404 -32601), Mcp-Param-* of x-mcp-header arguments (400 -32020), the tool's scopes (403 with one
// challenge naming every scope the call needs); then discover, listen, or the dispatcher. Errors echo
// the request id. The response is JSON, or SSE once something comes before the answer; closing it
// cancels the call. No session, no Mcp-Session-Id, no event ids.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Errors, RpcError } from '../src/errors.js';
import { validateMessage, isRequestId, type IncomingRequest } from '../src/jsonrpc.js';
import { missingScopes } from '../src/auth/claims.js';
import { toolScopes } from '../src/auth/tool-scopes.js';
import { hasModernClaim, isModernHeaderVersion, META_PROTOCOL_VERSION } from '../src/protocol/modern/envelope.js';
import { checkDeclaredHeaders, checkParamHeaders, checkRequiredHeaders, headerValue, paramHeaders } from '../src/protocol/modern/headers.js';
import type { RequestSession } from '../src/protocol/modern/request-session.js';
import type { ListenSession } from '../src/protocol/modern/listen.js';
import { ModernResponseSink } from '../src/transports/http/modern-response-sink.js';
import type { OutMessage } from '../src/outbox/messages.js';
import { takeOver } from './take-over.js';
import { JSON_TYPE, SSE_TYPE, accepts, isJson } from './json-rpc-body.js';


/** Cheap first look (no parse): could this POST be a 2026-07-28 request? */
export function mayBeModern(request: FastifyRequest): boolean {
  return isModernHeaderVersion(headerValue(request.headers, 'mcp-protocol-version')) || (typeof request.body === 'string' && request.body.includes(META_PROTOCOL_VERSION));
}

/**
 * Serve a POST that may be a 2026-07-28 request. Returns false when it is not one after all (the caller
 * serves it as 2025-11-25); otherwise the reply has been answered or taken over.
 */
export function serveModernPost(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply): boolean {
  const core = app.mcp;
  const server = core.modern;
  const contentType = request.headers['content-type'];
  if (!isJson(contentType)) return false; // the session route answers 415
  let value: unknown;
  try {
    value = JSON.parse(typeof request.body === 'string' ? request.body : '');
  } catch {
    return false; // the session route answers 400 -32700
  }
  if (Array.isArray(value)) {
    if (!value.some((m) => isClaim(m))) return false;
    send(reply, 400, server.errorBody(undefined, new RpcError(Errors.INVALID_REQUEST, 'Invalid Request: batches are not allowed in MCP 2026-07-28')));
    return true;
  }
  const parsed = validateMessage(value);
  if (!parsed.ok) return false;
  const message = parsed.message;
  if (!('method' in message)) return false; // a response to a request of a session
  const id = 'id' in message && isRequestId(message.id) ? message.id : undefined;
  const fail = (err: RpcError, status = err.httpStatus) => {
    send(reply, status, server.errorBody(id, err));
    return true;
  };
  const modernHeader = isModernHeaderVersion(headerValue(request.headers, 'mcp-protocol-version'));
  if (!hasModernClaim(message.params)) {
    if (!modernHeader) return false;
    if (message.method === 'initialize') return fail(new RpcError(Errors.HEADER_MISMATCH, 'Header mismatch: initialize belongs to 2025-11-25 and earlier, but MCP-Protocol-Version names a later revision'));
    // A new revision's header without the per-request metadata: the envelope is what is missing.
    const checked = server.check(message.params);
    return fail(checked.ok ? new RpcError(Errors.INVALID_PARAMS, 'Invalid params: per-request _meta is missing') : checked.error);
  }
  if (!acceptsBoth(request.headers.accept)) {
    return fail(new RpcError(Errors.NOT_ACCEPTABLE, `Not Acceptable: the client must accept ${JSON_TYPE} and ${SSE_TYPE}`));
  }
  const checked = server.check(message.params);
  // The headers first: a header saying one version over a body saying another is a mismatch.
  const rawVersion = (message.params?._meta as Record<string, unknown>)[META_PROTOCOL_VERSION];
  const declared = checkDeclaredHeaders(request.headers, message.method, typeof rawVersion === 'string' ? rawVersion : '');
  if (!checked.ok && checked.error.code === Errors.INVALID_PARAMS.rpc) return fail(checked.error);
  if (declared !== undefined) return fail(declared);
  if (!checked.ok) return fail(checked.error);
  if (id === undefined) {
    // Notifications: none is defined for HTTP in 2026-07-28 (cancelling is closing the response).
    reply.code(202).send();
    return true;
  }
  const rpc = message as IncomingRequest;
  const required = checkRequiredHeaders(request.headers, rpc);
  if (required !== undefined) return fail(required);
  if (!server.hasMethod(rpc.method)) return fail(server.methodNotFound(rpc.method));
  if (rpc.method === 'tools/call' && typeof rpc.params?.name === 'string') {
    const tool = core.tools.get(rpc.params.name);
    if (tool !== undefined) {
      const headerError = checkParamHeaders(request.headers, paramHeaders(tool.listEntry.inputSchema), rpc.params.arguments);
      if (headerError !== undefined) return fail(headerError);
      // offline_access is about refresh tokens, not this resource: never required, never challenged.
      const required = toolScopes(core.tools, tool.definition.name);
      const missing = app.mcpAuth.mode === 'jwt' ? missingScopes(request.principal, required) : [];
      if (missing.length > 0) {
        // One challenge naming every scope this call needs (MCP 2026-07-28 authorization).
        const scopes = [...new Set([...app.mcpAuth.requiredScopes, ...(required ?? [])])];
        app.mcpAuth.challenge(reply, 403, { error: 'insufficient_scope', scopes, description: `tool ${tool.definition.name} needs scope: ${missing.join(' ')}` });
        return true;
      }
    }
  }
  const envelope = checked.envelope;
  const principal = request.principal;
  const res = takeOver(reply);
  const sink = new ModernResponseSink(res, app.mcpSseKeepalive, statusOf);
  if (rpc.method === 'server/discover') {
    const session = server.answerNow(rpc, envelope, principal, 'streamable', sink, server.discover());
    server.dispose(session);
    return true;
  }
  if (rpc.method === 'subscriptions/listen') {
    let listen: ListenSession;
    try {
      listen = server.listen(rpc, principal, 'streamable', sink);
    } catch (err) {
      sink.write('', 0, JSON.stringify(server.errorBody(id, asRpcError(err, request))), { kind: 'error', requestId: id, body: {} });
      return true;
    }
    sink.onDone = () => server.endListen(listen);
    res.on('close', () => server.endListen(listen));
    return true;
  }
  let session: RequestSession;
  try {
    session = server.serve(rpc, envelope, principal, 'streamable', sink);
  } catch (err) {
    sink.write('', 0, JSON.stringify(server.errorBody(id, asRpcError(err, request))), { kind: 'error', requestId: id, body: {} });
    return true;
  }
  if (sink.done) {
    server.dispose(session);
    return true;
  }
  sink.onDone = () => server.dispose(session);
  // Closing the response is how a 2026-07-28 client cancels: the call's signal aborts, it is recorded as cancelled.
  res.on('close', () => {
    if (!sink.done) server.cancel(session, 'the client closed the request');
  });
  if (rpc.method === 'tools/call') setImmediate(() => sink.streamIfUndecided());
  return true;
}

/** JSON answer status: a missing client capability is the one in-band error that is a 400. */
function statusOf(message: OutMessage): number {
  const code = (message.body as { error?: { code?: number } }).error?.code;
  return code === Errors.MISSING_CLIENT_CAPABILITY.rpc ? 400 : 200;
}

function send(reply: FastifyReply, status: number, body: object): void {
  reply.code(status).type('application/json').send(JSON.stringify(body));
}

function isClaim(m: unknown): boolean {
  return m !== null && typeof m === 'object' && hasModernClaim((m as { params?: unknown }).params);
}

function acceptsBoth(header: string | undefined): boolean {
  return accepts(header, JSON_TYPE) && accepts(header, SSE_TYPE);
}

/** The response is ours already (taken over): an unexpected failure is answered -32603, never rethrown into a hijacked reply. */
function asRpcError(err: unknown, request: FastifyRequest): RpcError {
  if (err instanceof RpcError) return err;
  request.log.error({ err }, 'modern request failed');
  return new RpcError(Errors.INTERNAL_ERROR, 'Internal error');
}
