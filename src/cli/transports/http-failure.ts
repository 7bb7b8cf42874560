// Turn an HTTP answer we cannot use (on a WebSocket upgrade, an SSE GET or a POST) into a
// ConnectionError with a message a person can act on: which credential is missing or refused, which
// scope is lacking, whether the session is gone, and whether retrying makes sense.
import { ConnectionError } from '../errors.js';

export interface HttpFailure {
  status: number;
  /** Header lookup (lower-case names). */
  header(name: string): string | undefined;
  body: string;
}

export interface FailureContext {
  url: string;
  /** Whether a token was sent. */
  hadToken: boolean;
  /** The request tried to resume this session (a 404 then means the session is gone). */
  resumingSession?: string;
}

const TOKEN_HINT =
  'Set REALTIME_MCP_TOKEN (or pass --token); where the server\'s JWT_SECRET is known, `realtime-mcp token --sub <name>` mints one.';

export function httpFailure(f: HttpFailure, ctx: FailureContext): ConnectionError {
  const challenge = parseChallenge(f.header('www-authenticate'));
  const detail = bodyMessage(f.body);
  const status = f.status;
  if (status === 401) {
    const why = (challenge.error_description ?? challenge.error ?? detail)?.replace(/\.+$/, '');
    const message = ctx.hadToken
      ? `authentication failed (401): the server refused the token${why ? `: ${why}` : ''}. Check that it is not expired and was issued for this server (audience, issuer, secret).`
      : `authentication required (401): the server needs a Bearer token. ${TOKEN_HINT}`;
    return new ConnectionError(message, { kind: 'auth', status });
  }
  if (status === 403) {
    if (challenge.error === 'insufficient_scope') {
      return new ConnectionError(`forbidden (403): the token lacks the scope${challenge.scope?.includes(' ') ? 's' : ''} "${challenge.scope ?? '?'}"${challenge.error_description ? ` (${challenge.error_description})` : ''}`, { kind: 'forbidden', status });
    }
    return new ConnectionError(`forbidden (403)${detail ? `: ${detail}` : ''}`, { kind: 'forbidden', status });
  }
  if (status === 404 && ctx.resumingSession !== undefined) {
    return new ConnectionError(
      `the server no longer has session ${ctx.resumingSession.slice(0, 8)}… (it ended or its resume window passed): what it sent while we were away is lost`,
      { kind: 'session-lost', status },
    );
  }
  if (status === 404) {
    return new ConnectionError(`not found (404): no MCP endpoint at ${ctx.url}${detail ? ` (${detail})` : ''}; the server serves /mcp/ws, /mcp/sse and /mcp`, { kind: 'http', status });
  }
  if (status === 429 || status === 503 || status === 502 || status === 504 || status === 500) {
    return new ConnectionError(`server busy or unavailable (${status})${detail ? `: ${detail}` : ''}`, {
      kind: 'http',
      status,
      retryable: true,
      retryAfterMs: retryAfter(f.header('retry-after')),
    });
  }
  return new ConnectionError(`unexpected HTTP ${status} from ${ctx.url}${detail ? `: ${detail}` : ''}`, { kind: 'http', status });
}

/** The auth-params of a `Bearer` challenge (error, error_description, scope, …). */
export function parseChallenge(header: string | undefined): Record<string, string | undefined> & { error?: string; error_description?: string; scope?: string } {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const m of header.matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/** The human part of an error body: JSON-RPC error message, OAuth error_description, or short text. */
export function bodyMessage(body: string): string | undefined {
  const text = body.trim();
  if (text === '') return undefined;
  try {
    const json = JSON.parse(text) as { error?: unknown; error_description?: unknown; message?: unknown };
    if (json.error && typeof json.error === 'object' && typeof (json.error as { message?: unknown }).message === 'string') return (json.error as { message: string }).message;
    if (typeof json.error_description === 'string') return json.error_description;
    if (typeof json.error === 'string') return json.error;
    if (typeof json.message === 'string') return json.message;
  } catch {
    // not JSON
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function retryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 60) * 1000 : undefined;
}

/** A readable reason for a fetch / socket failure (undici hides the useful part in `cause`). */
export function networkReason(err: unknown): string {
  const e = err as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  const code = e?.cause?.code ?? e?.code;
  const message = e?.cause?.message ?? e?.message ?? String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Errors where nothing reached the server (safe to retry any message). */
export function nothingSent(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  const code = e?.cause?.code ?? e?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH';
}
