// Environment → typed, validated configuration. Every setting is declared once here with its type,
// bounds, default and one line of documentation; `.env.example` and the README list the same names
// (a test checks that they stay in step). A bad value stops startup with one line naming the variable.
import { existsSync } from 'node:fs';
import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { ConfigError } from './errors.js';

const int = (def: number, min: number, max: number, description: string) =>
  Type.Integer({ default: def, minimum: min, maximum: max, description });

/** The settings, in the order the README documents them. */
export const ConfigSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Address to bind. Loopback by default.' }),
  PORT: int(8080, 0, 65535, 'TCP port (0 = pick a free one).'),
  LOG_LEVEL: Type.Union(
    [Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')],
    { default: 'info', description: 'Server log level (pino).' },
  ),
  HEARTBEAT_INTERVAL_MS: int(30_000, 10, 3_600_000, 'WebSocket ping interval; a socket silent for a whole interval is terminated.'),
  MAX_PAYLOAD_BYTES: int(4 * 1024 * 1024, 1024, 256 * 1024 * 1024, 'Largest incoming message (WebSocket frame or HTTP body).'),
  SHUTDOWN_GRACE_MS: int(10_000, 0, 600_000, 'On SIGTERM/SIGINT, how long in-flight calls get to finish.'),
  MAX_SESSIONS: int(10_000, 1, 1_000_000, 'Most sessions open at once on this process.'),
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
    values[key] = schema.type === 'integer' ? Number(text) : text;
  }
  const config = compiled.Default({ ...values, ...overrides }) as Record<string, unknown>;
  if (!compiled.Check(config)) {
    const first = [...compiled.Errors(config)].find((e) => e.instancePath !== '');
    const key = first?.instancePath.slice(1).split('/')[0] ?? '(unknown)';
    const schema = (ConfigSchema.properties as Record<string, TSchema & { anyOf?: Array<{ const: unknown }> }>)[key];
    const why = schema?.anyOf ? `must be one of: ${schema.anyOf.map((l) => l.const).join(', ')}` : first?.message ?? 'is invalid';
    throw badValue(key, why, given[key] ?? String(config[key]));
  }
  return config as Config;
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
