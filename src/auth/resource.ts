// This server as an OAuth protected resource (RFC 9728, RFC 8707): its canonical URL, which is the
// audience tokens must carry, and where its metadata lives.
import { isLoopbackHost } from '../config.js';

/** The MCP endpoint path when RESOURCE_URL is not set. */
export const DEFAULT_RESOURCE_PATH = '/mcp';

/** RESOURCE_URL, or http://HOST:PORT<prefix>/mcp with the port actually bound (PORT may be 0). */
export function resourceUrlFor(configured: string, host: string, port: number, prefix = '', tls = false): string {
  if (configured !== '') return configured.endsWith('/') ? configured.slice(0, -1) : configured;
  const h = host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'https' : 'http'}://${h}:${port}${prefix}${DEFAULT_RESOURCE_PATH}`;
}

/** The path part of the resource, used for the path-suffixed metadata URL (`/mcp` by default). */
export function resourcePath(configured: string): string {
  if (configured === '') return DEFAULT_RESOURCE_PATH;
  const path = new URL(configured).pathname.replace(/\/$/, '');
  return path;
}

/** RFC 9728's well-known path. */
export const WELL_KNOWN_PRM = '/.well-known/oauth-protected-resource';

/**
 * RFC 9728 §3.1: the metadata URL inserts `/.well-known/oauth-protected-resource` between the host and
 * the resource's path: https://h/mcp → https://h/.well-known/oauth-protected-resource/mcp. A plugin
 * mounted under a prefix serves it under that prefix (it cannot add routes outside it), so there the
 * prefix comes first: https://h/v1/mcp → https://h/v1/.well-known/oauth-protected-resource/mcp; the URL
 * is announced in every challenge's `resource_metadata`, which is where MCP clients look first.
 */
export function protectedResourceMetadataUrl(resourceUrl: string, prefix = ''): string {
  const url = new URL(resourceUrl);
  let path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  if (prefix !== '' && path.startsWith(prefix)) path = path.slice(prefix.length);
  return `${url.origin}${prefix}${WELL_KNOWN_PRM}${path}`;
}

/** The paths (relative to the plugin's prefix) where the metadata is served. */
export function protectedResourceMetadataPaths(resourceUrl: string, prefix = ''): string[] {
  const url = new URL(protectedResourceMetadataUrl(resourceUrl, prefix));
  const own = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname;
  return [...new Set([WELL_KNOWN_PRM, `${WELL_KNOWN_PRM}${DEFAULT_RESOURCE_PATH}`, own])];
}

/** Wildcard binds (0.0.0.0, ::) cannot name the server in a URL: the operator must set RESOURCE_URL. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

export { isLoopbackHost };
