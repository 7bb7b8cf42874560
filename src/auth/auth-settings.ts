// The authentication settings, checked once at startup: a combination that would leave the server
// open (no auth on a public address) or unusable (jwt with no key) stops it with one clear line.
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { parseList } from './lists.js';
import { isLoopbackHost, isWildcardHost } from './resource.js';

/** HS256 keys shorter than the hash output are brute-forceable (RFC 7518 §3.2). */
export const MIN_SECRET_LENGTH = 32;

export interface AuthSettings {
  mode: 'jwt' | 'none';
  secret: string | undefined;
  jwksUrl: string | undefined;
  issuer: string | undefined;
  /** Fixed audience, or undefined = the resource URL (known once the server listens). */
  audience: string | undefined;
  clockToleranceMs: number;
  requiredScopes: string[];
  hideUnauthorizedTools: boolean;
}

export function authSettings(config: Config): AuthSettings {
  checkAuthConfig(config);
  return {
    mode: config.AUTH_MODE,
    secret: config.JWT_SECRET || undefined,
    jwksUrl: config.JWKS_URL || undefined,
    issuer: config.JWT_ISSUER || undefined,
    audience: config.JWT_AUDIENCE || undefined,
    clockToleranceMs: config.JWT_CLOCK_TOLERANCE_MS,
    requiredScopes: parseList(config.REQUIRED_SCOPES, true),
    hideUnauthorizedTools: config.HIDE_UNAUTHORIZED_TOOLS,
  };
}

/** Throws ConfigError (one line, naming the settings) for unsafe or incomplete auth configuration. */
export function checkAuthConfig(config: Config): void {
  const loopback = isLoopbackHost(config.HOST);
  if (config.AUTH_MODE === 'none') {
    if (!loopback && !config.ALLOW_INSECURE_NO_AUTH) {
      throw new ConfigError(
        `Refusing to start: AUTH_MODE=none on HOST=${config.HOST} would let anyone who reaches the port call every tool. ` +
          'Configure JWT_SECRET or JWKS_URL, bind to 127.0.0.1, or set ALLOW_INSECURE_NO_AUTH=true if something in front of this server authenticates.',
      );
    }
    return;
  }
  if (config.JWT_SECRET !== '' && config.JWKS_URL !== '') {
    throw new ConfigError('Invalid configuration: set JWT_SECRET or JWKS_URL, not both');
  }
  if (config.JWT_SECRET === '' && config.JWKS_URL === '') {
    throw new ConfigError(
      loopback
        ? 'Invalid configuration: AUTH_MODE=jwt needs JWT_SECRET or JWKS_URL (`npm start` makes a dev secret on loopback; AUTH_MODE=none turns auth off on loopback)'
        : `Refusing to start: HOST=${config.HOST} is not loopback and neither JWT_SECRET nor JWKS_URL is set, so no token could be checked. Set JWKS_URL (and JWT_ISSUER, RESOURCE_URL) to your authorization server, or JWT_SECRET.`,
    );
  }
  if (config.JWT_SECRET !== '' && config.JWT_SECRET.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`Invalid configuration: JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters (got ${config.JWT_SECRET.length})`);
  }
  if (config.JWKS_URL !== '' && !/^https?:\/\//.test(config.JWKS_URL)) {
    throw new ConfigError(`Invalid configuration: JWKS_URL must be an http(s) URL (got ${JSON.stringify(config.JWKS_URL)})`);
  }
  if (config.RESOURCE_URL !== '' && !isHttpUrl(config.RESOURCE_URL)) {
    throw new ConfigError(`Invalid configuration: RESOURCE_URL must be an absolute http(s) URL (got ${JSON.stringify(config.RESOURCE_URL)})`);
  }
  if (config.RESOURCE_URL === '' && config.JWT_AUDIENCE === '' && isWildcardHost(config.HOST)) {
    throw new ConfigError(
      `Invalid configuration: with HOST=${config.HOST}, set RESOURCE_URL to the URL clients use (e.g. https://mcp.example.com/mcp); it is the audience tokens must carry`,
    );
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
