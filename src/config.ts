// Environment → typed, validated configuration. Every setting is declared once here with its type,
// bounds, default and one line of documentation; `.env.example` and the README list the same names
// (a test checks that they stay in step). A bad value stops startup with one line naming the variable.
import { existsSync } from 'node:fs';
import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { ConfigError } from './errors.js';
import { DEFAULTS as D } from './defaults.js';

const int = (def: number, min: number, max: number, description: string) =>
  Type.Integer({ default: def, minimum: min, maximum: max, description });
const bool = (def: boolean, description: string) => Type.Boolean({ default: def, description });

/** The settings, in the order the README documents them. */
export const ConfigSchema = Type.Object({
  HOST: Type.String({ default: D.HOST, minLength: 1, description: 'Address to bind. Loopback by default.' }),
  PORT: int(D.PORT, 0, 65535, 'TCP port (0 = pick a free one).'),
  LOG_LEVEL: Type.Union(
    [Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')],
    { default: 'info', description: 'Server log level (pino).' },
  ),
  // HTTP server (README "Timeouts"): explicit limits on how long a client may take to send a request.
  HTTP_HEADERS_TIMEOUT_MS: int(D.HTTP_HEADERS_TIMEOUT_MS, 1000, 600_000, 'Time a client has to send complete request headers; slower (dribbled) headers → connection closed (408).'),
  HTTP_BODY_TIMEOUT_MS: int(D.HTTP_BODY_TIMEOUT_MS, 1000, 3_600_000, 'Time a client has to send a complete request, body included; a stalled body → connection closed (408). At least HTTP_HEADERS_TIMEOUT_MS.'),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(D.HTTP_KEEP_ALIVE_TIMEOUT_MS, 1000, 3_600_000, 'Idle time allowed between requests on a keep-alive connection (above your load balancer\'s idle timeout).'),
  TLS_CERT_FILE: Type.String({ default: '', description: 'PEM certificate (chain) file: with TLS_KEY_FILE, serve https:// and wss:// directly (empty = plain HTTP, e.g. behind a TLS-terminating proxy).' }),
  TLS_KEY_FILE: Type.String({ default: '', description: 'PEM private key file for TLS_CERT_FILE.' }),
  WS_COMPRESSION: bool(false, 'Offer permessage-deflate on WebSocket (off by default: it costs CPU per message; see README "Performance").'),
  HEARTBEAT_INTERVAL_MS: int(D.HEARTBEAT_INTERVAL_MS, 10, 3_600_000, 'WebSocket ping interval; a socket silent for a whole interval is terminated.'),
  MAX_PAYLOAD_BYTES: int(D.MAX_PAYLOAD_BYTES, 1024, 256 * 1024 * 1024, 'Largest incoming message (WebSocket frame or HTTP body).'),
  SHUTDOWN_GRACE_MS: int(D.SHUTDOWN_GRACE_MS, 0, 600_000, 'On SIGTERM/SIGINT, how long in-flight calls get to finish.'),
  MAX_SESSIONS: int(D.MAX_SESSIONS, 1, 1_000_000, 'Most sessions open at once on this process.'),
  SSE_KEEPALIVE_MS: int(D.SSE_KEEPALIVE_MS, 10, 3_600_000, 'Interval of `: keepalive` comments on idle SSE streams (GET /mcp, /mcp/sse, long POST streams), below proxy idle timeouts.'),
  EVENT_BUFFER_EVENTS: int(D.EVENT_BUFFER_EVENTS, 0, 1_000_000, 'Events each session keeps for replay after a reconnect with Last-Event-ID (0 = no replay).'),
  EVENT_BUFFER_BYTES: int(D.EVENT_BUFFER_BYTES, 0, 1024 * 1024 * 1024, 'Most bytes of events each session keeps for replay; the oldest go first (results pushed out are reported on resume).'),
  RESUME_WINDOW_MS: int(D.RESUME_WINDOW_MS, 0, 86_400_000, 'A WebSocket session whose connection dropped (no close frame) lives this long: its calls keep running and it can be resumed (0 = end it at once).'),
  SEND_HIGH_WATER_BYTES: int(D.SEND_HIGH_WATER_BYTES, 16 * 1024, 256 * 1024 * 1024, 'Bytes queued for one client above which progress is coalesced, logs are counted instead of sent, and ctx.checkpoint() waits.'),
  SLOW_CLIENT_TIMEOUT_MS: int(D.SLOW_CLIENT_TIMEOUT_MS, 100, 3_600_000, 'A WebSocket client that stays above SEND_HIGH_WATER_BYTES this long is disconnected (it may resume).'),
  SESSION_IDLE_TIMEOUT_MS: int(D.SESSION_IDLE_TIMEOUT_MS, 100, 86_400_000, 'An SSE or Streamable HTTP session with no open stream and no request for this long is ended (later use → 404).'),
  // Scale-out (README "Scale-out on Redis").
  STORE: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
    default: 'memory',
    description: 'Where sessions, event logs and limits live: memory (one node, nothing to run) or redis (several nodes behind a load balancer; needs REDIS_URL).',
  }),
  REDIS_URL: Type.String({ default: '', description: 'Redis for STORE=redis, e.g. redis://127.0.0.1:6379/0 (rediss:// for TLS).' }),
  NODE_HEARTBEAT_MS: int(D.NODE_HEARTBEAT_MS, 100, 60_000, 'STORE=redis: how often this node renews its liveness key; another node claims its sessions once it has missed NODE_TTL_MS.'),
  NODE_TTL_MS: int(D.NODE_TTL_MS, 300, 600_000, 'STORE=redis: a node silent this long is dead: its sessions can be claimed and its calls are reported lost. At least 2 × NODE_HEARTBEAT_MS.'),
  MCP_FIXTURES: Type.Union([Type.Literal('none'), Type.Literal('conformance')], {
    default: 'none',
    description: 'Extra fixture tools, resources and prompts: none, or conformance (what the official conformance suite expects).',
  }),
  DATA_DIR: Type.String({ default: D.DATA_DIR, minLength: 1, description: 'Folder that process_images reads and writes; its inputDir/outputDir must stay inside it. Relative to the working directory.' }),
  IMAGE_CONCURRENCY: int(D.IMAGE_CONCURRENCY, 1, 64, 'Images process_images converts at once per call (its `concurrency` argument overrides it).'),
  // Security (README "Security"): authentication, metadata, browser checks and limits.
  AUTH_MODE: Type.Union([Type.Literal('jwt'), Type.Literal('none')], {
    default: 'jwt',
    description: 'jwt: every MCP request needs a Bearer JWT; none: no authentication (loopback HOST only, unless ALLOW_INSECURE_NO_AUTH).',
  }),
  JWT_SECRET: Type.String({ default: '', description: 'HS256 secret, at least 32 characters. Set this or JWKS_URL; with neither, `npm start` on loopback makes a dev secret and prints a token.' }),
  MRTR_SECRET: Type.String({ default: '', description: 'Key (32+ random characters) that signs the `requestState` of MCP 2026-07-28 input-required results; set the same on every instance behind one URL. Empty = a random key per process (a retry must then reach the same process).' }),
  JWKS_URL: Type.String({ default: '', description: 'URL of the authorization server\'s JWKS (RS/PS/ES/EdDSA keys; cached, unknown key ids refetched at most every 30 s).' }),
  JWT_ISSUER: Type.String({ default: '', description: 'Required `iss` of tokens (empty = not checked); also the default authorization server in the metadata.' }),
  JWT_AUDIENCE: Type.String({ default: '', description: 'Required `aud` of tokens (RFC 8707); empty = RESOURCE_URL.' }),
  JWT_CLOCK_TOLERANCE_MS: int(D.JWT_CLOCK_TOLERANCE_MS, 0, 300_000, 'Clock skew allowed when checking a token\'s exp and nbf.'),
  REQUIRED_SCOPES: Type.String({ default: '', description: 'Scopes every token needs to use the MCP endpoints (space or comma separated); missing → 403 insufficient_scope.' }),
  HIDE_UNAUTHORIZED_TOOLS: bool(true, 'Leave out of tools/list the tools whose scopes the caller\'s token lacks.'),
  ALLOW_INSECURE_NO_AUTH: bool(false, 'Allow AUTH_MODE=none on a non-loopback HOST (anyone who reaches the port can call every tool).'),
  RESOURCE_URL: Type.String({ default: '', description: 'Canonical URL of this MCP server (e.g. https://mcp.example.com/mcp): token audience and `resource` in the metadata; empty = http://HOST:PORT/mcp.' }),
  AUTHORIZATION_SERVERS: Type.String({ default: '', description: 'Issuer URLs of the OAuth authorization servers (comma separated) for the RFC 9728 metadata; empty = JWT_ISSUER.' }),
  ALLOWED_ORIGINS: Type.String({ default: '', description: 'Browser origins allowed on MCP routes (comma separated; * = any); requests without Origin pass. Empty = loopback origins when HOST is loopback, else none.' }),
  ALLOWED_HOSTS: Type.String({ default: '', description: 'Host header values accepted on MCP routes (comma separated host or host:port; DNS-rebinding protection). Empty = loopback names when HOST is loopback, else any.' }),
  TRUSTED_PROXIES: Type.String({ default: '', description: 'Reverse proxy addresses or CIDRs (comma separated) whose X-Forwarded-For gives the client IP; empty = none.' }),
  RATE_LIMIT_MAX: int(D.RATE_LIMIT_MAX, 0, 10_000_000, 'HTTP requests on MCP routes (upgrades, SSE opens, POSTs) per principal (client IP without auth) per window; over it → 429. 0 = no limit.'),
  RATE_LIMIT_WINDOW_MS: int(D.RATE_LIMIT_WINDOW_MS, 1000, 86_400_000, 'Window of RATE_LIMIT_MAX.'),
  WS_MESSAGES_PER_SECOND: int(D.WS_MESSAGES_PER_SECOND, 0, 1_000_000, 'Messages per second one WebSocket session may send (token bucket); over it, requests get -32029. 0 = no limit.'),
  WS_MESSAGE_BURST: int(D.WS_MESSAGE_BURST, 1, 10_000_000, 'Messages a WebSocket session may send at once before WS_MESSAGES_PER_SECOND applies.'),
  WS_RATE_LIMIT_STRIKES: int(D.WS_RATE_LIMIT_STRIKES, 1, 1_000_000, 'Over-limit messages within 10 s after which the WebSocket is closed with 1008.'),
  MAX_CONNECTIONS_PER_PRINCIPAL: int(D.MAX_CONNECTIONS_PER_PRINCIPAL, 0, 1_000_000, 'Open WebSockets and SSE streams per authenticated principal; more → 429. 0 = no limit.'),
  // Long-running operations (README "Queuing, timeouts, streaming and broadcast").
  MAX_CONCURRENT_PER_SESSION: int(D.MAX_CONCURRENT_PER_SESSION, 1, 10_000, 'Tool calls one session runs at once; more wait in its queue (sessions are served round-robin).'),
  MAX_CONCURRENT_OPERATIONS: int(D.MAX_CONCURRENT_OPERATIONS, 1, 1_000_000, 'Tool calls running at once in the whole server; more wait in their sessions\' queues.'),
  MAX_QUEUED_PER_SESSION: int(D.MAX_QUEUED_PER_SESSION, 0, 1_000_000, 'Tool calls one session may have waiting; one more is refused with -32030.'),
  TOOL_TIMEOUT_MS: int(D.TOOL_TIMEOUT_MS, 0, 86_400_000, 'Timeout of tools that declare no timeoutMs (0 = none); on expiry the call ends with -32001. Time queued is not counted.'),
  METRICS_TOKEN: Type.String({ default: '', description: 'If set, GET /metrics also accepts `Authorization: Bearer <METRICS_TOKEN>` (a static scrape token, at least 32 characters), besides a JWT with the metrics or admin scope.' }),
  ADMIN_ROUTES_WITHOUT_AUTH: bool(false, 'Allow /admin/* from loopback clients without a token when there is no principal (AUTH_MODE=none); otherwise the admin scope is required.'),
});
export type Config = Static<typeof ConfigSchema>;
export type ConfigKey = keyof Config;

const compiled = Compile(ConfigSchema);

/** The documented settings with their defaults, for .env.example and the README. */
export function configDocs(): Array<{ name: string; default: unknown; description: string }> {
  return Object.entries(ConfigSchema.properties).map(([name, s]) => {
    const schema = s as TSchema & { default?: unknown; description?: string };
    return { name, default: schema.default, description: schema.description ?? '' };
  });
}

/**
 * Build the config from an environment (default: process.env, after loading `.env` if present).
 * Unknown variables are ignored; empty strings count as unset. Throws ConfigError naming the variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = readProcessEnv(), overrides: Partial<Config> = {}): Config {
  const given: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(ConfigSchema.properties)) {
    const text = env[key]?.trim();
    if (text === undefined || text === '') continue;
    given[key] = text;
    const schema = s as TSchema & { type?: string };
    if (schema.type === 'integer' && !/^-?\d+$/.test(text)) throw badValue(key, 'must be an integer', text);
    if (schema.type === 'boolean' && !/^(true|false)$/i.test(text)) throw badValue(key, 'must be true or false', text);
    values[key] = schema.type === 'integer' ? Number(text) : schema.type === 'boolean' ? text.toLowerCase() === 'true' : text;
  }
  const config = compiled.Default({ ...values, ...overrides }) as Record<string, unknown>;
  if (!compiled.Check(config)) {
    const first = [...compiled.Errors(config)].find((e) => e.instancePath !== '');
    const key = first?.instancePath.slice(1).split('/')[0] ?? '(unknown)';
    const schema = (ConfigSchema.properties as Record<string, TSchema & { anyOf?: Array<{ const: unknown }> }>)[key];
    const why = schema?.anyOf ? `must be one of: ${schema.anyOf.map((l) => l.const).join(', ')}` : first?.message ?? 'is invalid';
    throw badValue(key, why, given[key] ?? String(config[key]));
  }
  checkPairs(config as Config);
  return config as Config;
}

/** Settings that only make sense together, or need a minimum. */
function checkPairs(config: Config): void {
  if ((config.TLS_CERT_FILE === '') !== (config.TLS_KEY_FILE === '')) {
    throw new ConfigError('Invalid configuration: set both TLS_CERT_FILE and TLS_KEY_FILE (or neither)');
  }
  for (const key of ['TLS_CERT_FILE', 'TLS_KEY_FILE'] as const) {
    if (config[key] !== '' && !existsSync(config[key])) throw badValue(key, 'must name a readable file', config[key]);
  }
  if (config.STORE === 'redis' && config.REDIS_URL === '') {
    throw new ConfigError('Invalid configuration: STORE=redis needs REDIS_URL (e.g. redis://127.0.0.1:6379)');
  }
  if (config.REDIS_URL !== '' && !/^rediss?:\/\//.test(config.REDIS_URL)) throw badValue('REDIS_URL', 'must be a redis:// or rediss:// URL', config.REDIS_URL);
  if (config.NODE_TTL_MS < 2 * config.NODE_HEARTBEAT_MS) {
    throw new ConfigError(`Invalid configuration: NODE_TTL_MS (${config.NODE_TTL_MS}) must be at least 2 × NODE_HEARTBEAT_MS (${config.NODE_HEARTBEAT_MS})`);
  }
  if (config.METRICS_TOKEN !== '' && config.METRICS_TOKEN.length < 32) {
    throw new ConfigError(`Invalid configuration: METRICS_TOKEN must be at least 32 characters (got ${config.METRICS_TOKEN.length})`);
  }
}

function badValue(key: string, why: string, got: string): ConfigError {
  return new ConfigError(`Invalid configuration: ${key} ${why} (got ${JSON.stringify(got)})`);
}

/** process.env, after `.env` in the working directory has been loaded (values already set win). */
function readProcessEnv(): NodeJS.ProcessEnv {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return process.env;
}

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}
