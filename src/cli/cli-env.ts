// What a command gets from its surroundings: environment (with `.env` of the working directory under
// it, as the server reads it), output streams, and whether stderr is a terminal. Passed in, so tests
// and embedders can run `main()` without touching the real process.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream;
  /** process.env over `.env` (real environment variables win, as in the server). */
  env: Record<string, string | undefined>;
  /** Installs a SIGINT handler; returns a function that removes it. */
  onInterrupt(handler: () => void): () => void;
}

/** `.env` of `cwd` (if any) under `environment`. A malformed file is ignored rather than fatal. */
export function readEnv(environment: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Record<string, string | undefined> {
  const file = join(cwd, '.env');
  let fromFile: Record<string, string | undefined> = {};
  if (existsSync(file)) {
    try {
      fromFile = parseEnv(readFileSync(file, 'utf8'));
    } catch {
      fromFile = {};
    }
  }
  const out: Record<string, string | undefined> = { ...fromFile };
  for (const [k, v] of Object.entries(environment)) if (v !== undefined) out[k] = v;
  return out;
}

export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: readEnv(),
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}

/** A non-empty environment value (empty counts as unset, as in the server's config). */
export function envValue(env: Record<string, string | undefined>, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}
