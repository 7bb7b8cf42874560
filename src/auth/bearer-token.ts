// Where a client may put its token: `Authorization: Bearer <token>`, or, for browsers (whose WebSocket
// API cannot set headers), an offered WebSocket subprotocol `bearer.<token>` next to `mcp`. The server
// selects `mcp` and never echoes the token (plugins/websocket.ts). Never from the query string: URLs end
// up in logs, proxies and browser history.
import type { IncomingHttpHeaders } from 'node:http';

/** Prefix of the subprotocol that carries a token, e.g. `Sec-WebSocket-Protocol: mcp, bearer.eyJ…`. */
export const TOKEN_SUBPROTOCOL_PREFIX = 'bearer.';

export type TokenLookup =
  | { ok: true; token: string; source: 'header' | 'subprotocol' }
  /** missing: no credentials at all; malformed: something was sent but it is not a usable bearer token. */
  | { ok: false; reason: 'missing' | 'malformed'; description?: string };

const TOKEN_CHARS = /^[A-Za-z0-9\-._~+/]+=*$/; // RFC 6750 b64token

export function findBearerToken(headers: IncomingHttpHeaders): TokenLookup {
  const authorization = headers.authorization;
  if (authorization !== undefined && authorization !== '') {
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (match === null || !TOKEN_CHARS.test(match[1]!)) {
      return /^Bearer\b/i.test(authorization)
        ? { ok: false, reason: 'malformed', description: 'Authorization must be "Bearer <token>"' }
        : { ok: false, reason: 'missing' }; // another scheme (Basic, …): no bearer credentials
    }
    return { ok: true, token: match[1]!, source: 'header' };
  }
  if (headers.upgrade?.toLowerCase() === 'websocket') {
    const offered = headers['sec-websocket-protocol'];
    if (offered) {
      const tokens = offered
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p.toLowerCase().startsWith(TOKEN_SUBPROTOCOL_PREFIX));
      if (tokens.length > 1) return { ok: false, reason: 'malformed', description: 'more than one bearer subprotocol offered' };
      if (tokens.length === 1) {
        const token = tokens[0]!.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
        if (!TOKEN_CHARS.test(token)) return { ok: false, reason: 'malformed', description: 'bearer subprotocol carries no valid token' };
        return { ok: true, token, source: 'subprotocol' };
      }
    }
  }
  return { ok: false, reason: 'missing' };
}
