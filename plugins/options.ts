// The plugin's options: camelCase, documented in the README's "Embedding" table. Every setting of the
// standalone server (src/config.ts, an environment variable there) is also an option here, named by
// camel-casing the variable (MAX_PAYLOAD_BYTES → maxPayloadBytes), except the authentication settings,
// which live under `auth` (AUTH_MODE → auth.mode, JWT_SECRET → auth.secret, …). Defaults are the
// config's, so the plugin and the standalone server cannot drift apart. The plugin never reads process.env.
import { ConfigSchema, loadConfig, type Config, type ConfigKey } from '../src/config.js';
import type { McpCore } from '../src/mcp-core.js';
import type { ServerIdentity } from '../src/protocol/dispatcher.js';
import type { ToolDefinition } from '../src/tools/define.js';
import type { Stores } from '../src/stores/types.js';

/** Settings that live under `auth`, with their option names. */
const AUTH_KEYS = {
  mode: 'AUTH_MODE',
  secret: 'JWT_SECRET',
  jwksUrl: 'JWKS_URL',
  issuer: 'JWT_ISSUER',
  audience: 'JWT_AUDIENCE',
  clockToleranceMs: 'JWT_CLOCK_TOLERANCE_MS',
  requiredScopes: 'REQUIRED_SCOPES',
  hideUnauthorizedTools: 'HIDE_UNAUTHORIZED_TOOLS',
  allowInsecureNoAuth: 'ALLOW_INSECURE_NO_AUTH',
  resourceUrl: 'RESOURCE_URL',
  authorizationServers: 'AUTHORIZATION_SERVERS',
} as const satisfies Record<string, ConfigKey>;

/** Settings that belong to the process, not to a plugin inside someone's app (the host's server decides them). */
const SERVER_ONLY_KEYS: readonly ConfigKey[] = ['PORT', 'LOG_LEVEL', 'HTTP_HEADERS_TIMEOUT_MS', 'HTTP_BODY_TIMEOUT_MS', 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 'TLS_CERT_FILE', 'TLS_KEY_FILE'];

type AuthKey = (typeof AUTH_KEYS)[keyof typeof AUTH_KEYS];
type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${Lowercase<H>}${Capitalize<Camel<T>>}` : Lowercase<S>;
type ListValue = string | string[];
type OptionValue<K extends ConfigKey> = Config[K] extends string ? Config[K] | (K extends ListKeys ? string[] : never) : Config[K];
type ListKeys = 'ALLOWED_ORIGINS' | 'ALLOWED_HOSTS' | 'TRUSTED_PROXIES' | 'REQUIRED_SCOPES' | 'AUTHORIZATION_SERVERS';

/** `auth` option: the contract is `mode`; the rest configures JWT verification. */
export type AuthOptions = { [K in keyof typeof AUTH_KEYS]?: OptionValue<(typeof AUTH_KEYS)[K]> };

/** The flat settings as options (maxPayloadBytes, allowedOrigins, …). */
export type SettingOptions = { [K in Exclude<ConfigKey, AuthKey> as Camel<K>]?: OptionValue<K> };

export interface RealtimeMcpOptions extends SettingOptions {
  /** Fastify's own: every route the plugin adds is under it, and so is every URL it sends. */
  prefix?: string;
  /** Your tools. */
  tools?: ToolDefinition<any>[];
  /** Register the built-in `echo`, `process_batch` and `process_images` (default false; on in the standalone server). */
  builtinTools?: boolean;
  /** Authentication (default `{ mode: 'jwt' }`, which needs `secret` or `jwksUrl`). */
  auth?: AuthOptions;
  /** Serve GET /metrics (Prometheus; needs the `metrics` or `admin` scope, or `metricsToken`). Default false. */
  metrics?: boolean;
  /** Serve POST /admin/notify (needs the `admin` scope). Default false. */
  admin?: boolean;
  /** Serve the live dashboard at GET /dashboard. Default false. */
  dashboard?: boolean;
  /** Server name/version/title/instructions announced in `initialize`. */
  identity?: Partial<ServerIdentity>;
  /** Settings by their environment-variable names (what the standalone server passes); camelCase options win. */
  config?: Partial<Config>;
  /** Bring your own core (advanced: to keep a handle on it, or share it); `tools`/`builtinTools`/`identity` then do not apply. */
  core?: McpCore;
  /** Where sessions, event logs and cluster state live (default: in memory; STORE=redis in the standalone server). */
  stores?: Stores;
}

const OWN_OPTIONS = new Set(['prefix', 'tools', 'builtinTools', 'auth', 'metrics', 'admin', 'dashboard', 'identity', 'config', 'core', 'stores', 'logLevel', 'logSerializers']);

function camel(key: string): string {
  return key.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Option name → config key, for every flat setting. */
const FLAT_KEYS = new Map<string, ConfigKey>(
  (Object.keys(ConfigSchema.properties) as ConfigKey[])
    .filter((k) => !(Object.values(AUTH_KEYS) as string[]).includes(k))
    .map((k) => [camel(k), k]),
);

/** The documented option names with their config keys (README "Embedding"). */
export function optionDocs(): Array<{ option: string; key: ConfigKey }> {
  const flat = [...FLAT_KEYS].filter(([, key]) => !SERVER_ONLY_KEYS.includes(key)).map(([option, key]) => ({ option, key }));
  const auth = Object.entries(AUTH_KEYS).map(([name, key]) => ({ option: `auth.${name}`, key: key as ConfigKey }));
  return [...auth, ...flat];
}

/** The settings these options stand for (defaults filled in, validated; a bad value throws ConfigError). */
export function resolveConfig(options: RealtimeMcpOptions): Config {
  const overrides: Record<string, unknown> = { ...options.config };
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || OWN_OPTIONS.has(name)) continue;
    const key = FLAT_KEYS.get(name);
    if (key === undefined) throw new TypeError(`realtime-mcp: unknown option "${name}" (see the README's "Embedding" table)`);
    if (SERVER_ONLY_KEYS.includes(key)) {
      throw new TypeError(`realtime-mcp: "${name}" is a setting of the standalone server (${key}); inside your app, configure your own Fastify server for it`);
    }
    overrides[key] = listValue(value as ListValue);
  }
  for (const [name, value] of Object.entries(options.auth ?? {})) {
    if (value === undefined) continue;
    const key = (AUTH_KEYS as Record<string, ConfigKey>)[name];
    if (key === undefined) throw new TypeError(`realtime-mcp: unknown option "auth.${name}" (see the README's "Embedding" table)`);
    overrides[key] = listValue(value as ListValue);
  }
  return loadConfig({}, overrides as Partial<Config>);
}

function listValue(value: unknown): unknown {
  return Array.isArray(value) ? value.join(',') : value;
}
