// This server as an OAuth protected resource (RFC 9728, RFC 8707): its canonical URL, which is the
// audience tokens must carry, and where its metadata lives.
import { isLoopbackHost } from '../config.js';

/** The MCP endpoint path when RESOURCE_URL is not set. */
export const DEFAULT_RESOURCE_PATH = '/mcp';

/** RESOURCE_URL, or http://HOST:PORT/mcp with the port actually bound (PORT may be 0). */
export function resourceUrlFor(configured: string, host: string, port: number): string {
  if (configured !== '') return configured.endsWith('/') ? configured.slice(0, -1) : configured;
  const h = host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}${DEFAULT_RESOURCE_PATH}`;
}

/** The path part of the resource, used for the path-suffixed metadata URL (`/mcp` by default). */
export function resourcePath(configured: string): string {
  if (configured === '') return DEFAULT_RESOURCE_PATH;
  const path = new URL(configured).pathname.replace(/\/$/, '');
  return path;
}

/**
 * RFC 9728 §3.1: the metadata URL inserts `/.well-known/oauth-protected-resource` between the host and
 * the resource's path: https://h/mcp → https://h/.well-known/oauth-protected-resource/mcp.
 */
export function protectedResourceMetadataUrl(resourceUrl: string): string {
  const url = new URL(resourceUrl);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

/** Wildcard binds (0.0.0.0, ::) cannot name the server in a URL: the operator must set RESOURCE_URL. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

export { isLoopbackHost };
