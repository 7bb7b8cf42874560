// Which URLs the security plugins (Origin/Host, auth, rate limits) guard: every MCP endpoint
// (/mcp, /mcp/ws, /mcp/sse, /mcp/messages, and anything added under /mcp later), /admin and /metrics
// (so a scrape with a token is authenticated like any other request; routes/metrics.ts then asks for
// the `metrics` or `admin` scope). Health checks and the .well-known metadata stay open.

const GUARDED_PREFIXES = ['/mcp', '/admin', '/metrics'];

/** True when `path` (no query string) is one of the guarded prefixes or below one. */
export function isGuardedPath(path: string): boolean {
  for (const prefix of GUARDED_PREFIXES) {
    if (path === prefix || path.startsWith(`${prefix}/`)) return true;
  }
  return false;
}

/**
 * Decide from the route that matched (its declared pattern, e.g. `/mcp/ws`), so percent-encoding or
 * other spellings of a path cannot route to an MCP handler while dodging the guard; when no route
 * matched (404), from the request path itself, so a guarded prefix answers 401 before 404.
 */
export function isGuardedRequest(routeUrl: string | undefined, rawUrl: string): boolean {
  if (routeUrl !== undefined) return isGuardedPath(routeUrl);
  const q = rawUrl.indexOf('?');
  return isGuardedPath(q === -1 ? rawUrl : rawUrl.slice(0, q));
}
