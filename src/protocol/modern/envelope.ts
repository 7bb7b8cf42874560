// MCP 2026-07-28 per-request metadata: what a stateless request carries in `params._meta` instead of a
// session (protocol version, client capabilities, client info, log level), how it is checked, and which
// versions this server speaks. A request is "modern" exactly when its `_meta` claims a protocol version.
import { SUPPORTED_PROTOCOL_VERSIONS, type ClientCapabilities, type Implementation, type LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { Errors, RpcError } from '../../errors.js';
import { LOG_LEVELS } from '../../sessions/session.js';

/** The stateless revision this server speaks. */
export const MODERN_VERSION = '2026-07-28';
export const MODERN_VERSIONS: readonly string[] = [MODERN_VERSION];
/** Every version this server speaks, newest first: `server/discover`'s list and -32022's `supported`. */
export const SUPPORTED_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...SUPPORTED_PROTOCOL_VERSIONS.filter((v) => !MODERN_VERSIONS.includes(v))];

export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';
export const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
export const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
export const META_LOG_LEVEL = 'io.modelcontextprotocol/logLevel';
export const META_SERVER_INFO = 'io.modelcontextprotocol/serverInfo';
export const META_SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';

export interface Envelope {
  version: string;
  clientCapabilities: ClientCapabilities;
  clientInfo: Implementation | undefined;
  /** Absent: no `notifications/message` at all for this request. */
  logLevel: LoggingLevel | undefined;
}

/** True when `params._meta` claims a protocol version (the request is served by the 2026-07-28 rules). */
export function hasModernClaim(params: unknown): boolean {
  const meta = isObject(params) ? params._meta : undefined;
  return isObject(meta) && Object.prototype.hasOwnProperty.call(meta, META_PROTOCOL_VERSION);
}

/**
 * True when an `MCP-Protocol-Version` header names a stateless revision: this one or one that sorts
 * after it (a later or unknown one). Older unknown versions stay the session route's 400.
 */
export function isModernHeaderVersion(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim();
  return !SUPPORTED_PROTOCOL_VERSIONS.includes(v) && v >= MODERN_VERSION;
}

/** The request's envelope, or the -32602 error naming what is missing or malformed. */
export function readEnvelope(params: Record<string, unknown> | undefined): { ok: true; envelope: Envelope } | { ok: false; error: RpcError } {
  const meta = params?._meta;
  const missing: string[] = [];
  const invalid: string[] = [];
  if (!isObject(meta)) {
    missing.push('_meta');
    return { ok: false, error: envelopeError(missing, invalid) };
  }
  const version = meta[META_PROTOCOL_VERSION];
  if (version === undefined) missing.push(META_PROTOCOL_VERSION);
  else if (typeof version !== 'string' || version === '') invalid.push(META_PROTOCOL_VERSION);
  const caps = meta[META_CLIENT_CAPABILITIES];
  if (caps === undefined) missing.push(META_CLIENT_CAPABILITIES);
  else if (!isObject(caps)) invalid.push(META_CLIENT_CAPABILITIES);
  const info = meta[META_CLIENT_INFO];
  if (info !== undefined && !(isObject(info) && typeof info.name === 'string' && typeof info.version === 'string')) invalid.push(META_CLIENT_INFO);
  const level = meta[META_LOG_LEVEL];
  if (level !== undefined && !(typeof level === 'string' && LOG_LEVELS.includes(level as LoggingLevel))) invalid.push(META_LOG_LEVEL);
  if (missing.length + invalid.length > 0) return { ok: false, error: envelopeError(missing, invalid) };
  return {
    ok: true,
    envelope: {
      version: version as string,
      clientCapabilities: caps as ClientCapabilities,
      clientInfo: info as Implementation | undefined,
      logLevel: level as LoggingLevel | undefined,
    },
  };
}

/** -32022 with the versions we speak (a subset of discover's list, as the spec requires). */
export function unsupportedVersion(requested: string): RpcError {
  return new RpcError(Errors.UNSUPPORTED_PROTOCOL_VERSION, `Unsupported protocol version ${JSON.stringify(requested)}: this server speaks ${SUPPORTED_VERSIONS.join(', ')}`, {
    supported: [...SUPPORTED_VERSIONS],
    requested,
  });
}

function envelopeError(missing: string[], invalid: string[]): RpcError {
  const what = [...missing.map((k) => `${k} is missing`), ...invalid.map((k) => `${k} is invalid`)].join('; ');
  return new RpcError(Errors.INVALID_PARAMS, `Invalid params: per-request _meta: ${what}`, {
    envelope: { ...(missing.length > 0 && { missing }), ...(invalid.length > 0 && { invalid }) },
  });
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
