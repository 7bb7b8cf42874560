// `realtime-mcp token`: mint an HS256 token the server will accept, from the same settings it reads
// (environment, then `.env` of the working directory): JWT_SECRET signs it; the audience is what the
// server checks (JWT_AUDIENCE, else RESOURCE_URL, else http://HOST:PORT/mcp); JWT_ISSUER when set.
import { SignJWT } from 'jose';
import { parse, parseDuration } from '../args.js';
import { Exit, UsageError } from '../errors.js';
import { envValue, type CliIO } from '../cli-env.js';

export const TOKEN_HELP = `Usage: realtime-mcp token --sub NAME [--scope "SCOPES"] [--ttl 1h] [options]

Mint a Bearer token (HS256 JWT) for a realtime-mcp server whose JWT_SECRET you have. Reads the
server's settings from the environment and from .env in the current directory, as the server does.
Prints the token alone on stdout:  export REALTIME_MCP_TOKEN=$(realtime-mcp token --sub alice)

Options:
      --sub NAME         subject: who the token speaks for (required)
      --scope SCOPES     space- or comma-separated scopes, e.g. "tools:call admin" (default: none)
      --ttl DURATION     lifetime: 90s, 30m, 1h (default), 7d; a bare number is seconds
      --audience URL     override the audience (default: JWT_AUDIENCE, else RESOURCE_URL,
                         else http://HOST:PORT/mcp from HOST and PORT, as the server computes it)
      --issuer ISS       override the issuer (default: JWT_ISSUER; none when unset)
      --json             print {"token", "claims"} instead of the bare token
  -h, --help             this help

Exit codes: 0 printed, 2 no usable JWT_SECRET or bad arguments.`;

/** Shortest HS256 secret the server accepts (it refuses to start with less). */
const MIN_SECRET_LENGTH = 32;

export async function tokenCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(argv, {
    sub: { type: 'string' },
    scope: { type: 'string' },
    ttl: { type: 'string' },
    audience: { type: 'string' },
    issuer: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(`${TOKEN_HELP}\n`);
    return Exit.OK;
  }
  if (positionals.length > 0) throw new UsageError(`token takes no arguments (got ${positionals.join(' ')})`);
  if (!values.sub) throw new UsageError('token needs --sub NAME (the subject the token speaks for)');
  const env = io.env;
  const secret = envValue(env, 'JWT_SECRET');
  if (secret === undefined) {
    const jwks = envValue(env, 'JWKS_URL');
    throw new UsageError(
      jwks !== undefined
        ? `JWT_SECRET is not set: this server checks tokens against JWKS_URL (${jwks}), so get one from that authorization server`
        : 'JWT_SECRET is not set: set it in the environment or in .env (the same value the server uses, at least 32 characters), e.g. JWT_SECRET=$(openssl rand -base64 32)',
    );
  }
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new UsageError(`JWT_SECRET is ${secret.length} characters; the server needs at least ${MIN_SECRET_LENGTH}, so it would not run with it`);
  }
  const ttlMs = parseDuration(values.ttl ?? '1h', '--ttl');
  if (ttlMs < 1000) throw new UsageError('--ttl must be at least 1s');
  const audience = values.audience ?? serverAudience(env);
  const issuer = values.issuer ?? envValue(env, 'JWT_ISSUER');
  const scopes = (values.scope ?? '').split(/[\s,]+/).filter(Boolean);

  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = { sub: values.sub, aud: audience, iat: now, exp: now + Math.round(ttlMs / 1000) };
  if (scopes.length > 0) claims.scope = scopes.join(' ');
  if (issuer !== undefined) claims.iss = issuer;
  const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
  io.stdout.write(values.json ? `${JSON.stringify({ token, claims })}\n` : `${token}\n`);
  return Exit.OK;
}

/** The audience the server checks: JWT_AUDIENCE, else RESOURCE_URL (no trailing slash), else http://HOST:PORT/mcp. */
export function serverAudience(env: Record<string, string | undefined>): string {
  const audience = envValue(env, 'JWT_AUDIENCE');
  if (audience !== undefined) return audience;
  const resource = envValue(env, 'RESOURCE_URL');
  if (resource !== undefined) return resource.endsWith('/') ? resource.slice(0, -1) : resource;
  const host = envValue(env, 'HOST') ?? '127.0.0.1';
  const port = envValue(env, 'PORT') ?? '8080';
  if (host === '0.0.0.0' || host === '::' || host === '[::]') {
    throw new UsageError(`HOST=${host} does not name the server: set RESOURCE_URL (or JWT_AUDIENCE) as the server requires, or pass --audience`);
  }
  if (port === '0') throw new UsageError('PORT=0: the server picks its port at startup, so its audience is not known here; pass --audience http://HOST:PORT/mcp');
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}/mcp`;
}
