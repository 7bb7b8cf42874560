// Shared by the CLI tests: a realtime-mcp server with JWT auth on a free port, the CLI as a child
// process (from source through tsx), and waiting for conditions without sleeping blindly.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer, type TestServer } from '../helpers/server.js';
import { connectSdkClient, installWebSocketGlobal } from '../helpers/sdk-client.js';
import { hsToken, randomSecret } from '../helpers/tokens.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The CLI entry, run from source: `node --import tsx src/cli/run.ts …` (no build needed). */
export const CLI_ENTRY = join(ROOT, 'src/cli/run.ts');
/** tsx by absolute URL: the CLI runs in an empty directory, from which the bare name would not resolve. */
export const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
export const CLI_ARGS = ['--import', TSX_LOADER, CLI_ENTRY];
/** An empty working directory, so a developer's .env cannot leak into the CLI under test. */
export const CLEAN_CWD = mkdtempSync(join(tmpdir(), 'realtime-mcp-cli-'));

export type Kind = 'ws' | 'sse' | 'streamable';
export const KINDS: Kind[] = ['ws', 'sse', 'streamable'];

export function urlFor(kind: Kind, port: number): string {
  if (kind === 'ws') return `ws://127.0.0.1:${port}/mcp/ws`;
  return kind === 'sse' ? `http://127.0.0.1:${port}/mcp/sse` : `http://127.0.0.1:${port}/mcp`;
}

export interface AuthServer extends TestServer {
  secret: string;
  /** The audience the server checks (its resource URL). */
  audience: string;
  token(sub?: string, scope?: string): Promise<string>;
}

export async function startAuthServer(config: Record<string, unknown> = {}): Promise<AuthServer> {
  const secret = randomSecret();
  const server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret, ...config } });
  const audience = `${server.httpUrl}/mcp`;
  return {
    ...server,
    secret,
    audience,
    token: (sub = 'alice', scope) => hsToken(secret, { audience, claims: { sub, ...(scope && { scope }) } }),
  };
}

export interface CliRun {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (a signal death counts as 128 + n). */
  exited: Promise<number>;
  code: number | undefined;
}

/** Start the CLI (no TTY: stdio are pipes). */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, o: { stdin?: 'ignore' | 'pipe' } = {}): CliRun {
  const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
    cwd: CLEAN_CWD,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: [o.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  const run: CliRun = {
    child,
    stdout: '',
    stderr: '',
    code: undefined,
    exited: new Promise<number>((resolve) => {
      child.on('close', (code, signal) => {
        run.code = code ?? 128 + (signal === 'SIGINT' ? 2 : 15);
        resolve(run.code);
      });
    }),
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (run.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (run.stderr += d));
  return run;
}

/** Poll `predicate` every few ms until it holds; fail after `timeoutMs` naming `what`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Wait for the process to end, with a timeout (so a hung CLI fails the test instead of the run). */
export async function exitOf(run: CliRun, timeoutMs = 30_000): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      run.child.kill('SIGKILL');
      reject(new Error(`the CLI did not exit within ${timeoutMs} ms\nstdout: ${run.stdout.slice(-2000)}\nstderr: ${run.stderr.slice(-2000)}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([run.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The JSON lines of `--json` output. */
export function jsonLines(text: string): Array<Record<string, any>> {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, any>);
}

/** Highest progress value seen in --json output so far. */
export function lastProgress(text: string): number {
  let max = 0;
  for (const m of text.matchAll(/"type":"progress","progress":(\d+)/g)) max = Math.max(max, Number(m[1]));
  return max;
}


export interface OperationEntry {
  tool: string;
  session: string;
  transport: string;
  requestId: string | number;
  state: string;
  progress: number | null;
  total: number | null;
  reason?: string;
}

/** `realtime://operations` as the server reports it to `token`'s principal (read with the SDK client). */
export async function readOperations(server: TestServer, token: string): Promise<OperationEntry[]> {
  installWebSocketGlobal({ Authorization: `Bearer ${token}` });
  const client = await connectSdkClient(`${server.httpUrl}/mcp`, 'operations-reader');
  try {
    const read = await client.readResource({ uri: 'realtime://operations' });
    const first = read.contents[0] as { text: string };
    return (JSON.parse(first.text) as { operations: OperationEntry[] }).operations;
  } finally {
    await client.close();
  }
}
