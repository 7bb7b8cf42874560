// The real standalone server (`plugins/server.ts`) as a child process, as `npm start` runs it but from
// source through tsx. Every setting is passed explicitly (defaults unless overridden) so a developer's
// `.env` or shell cannot change what a test sees (real environment variables win over `.env`).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { configDocs } from '../../src/config.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildServer {
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything printed so far. */
  output(): { stdout: string; stderr: string };
}

export interface RunningChildServer extends ChildServer {
  port: number;
  httpUrl: string;
  wsUrl: string;
}

/** Spawn the server with these settings (strings, as in the environment). */
export function spawnServer(settings: Record<string, string>): ChildServer {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // set by node --test for its children; the server is not a test
  for (const { name, default: value } of configDocs()) {
    if (value === undefined) delete env[name];
    else env[name] = String(value);
  }
  Object.assign(env, settings);
  const child = spawn(process.execPath, ['--import', 'tsx', 'plugins/server.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, exited, output: () => ({ stdout, stderr }) };
}

/** Spawn the server on a free loopback port and resolve once it prints its listening banner. */
export async function startChildServer(settings: Record<string, string> = {}): Promise<RunningChildServer> {
  // No token unless a test asks for auth (AUTH_MODE=jwt): the loopback child serves without one.
  const server = spawnServer({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', AUTH_MODE: 'none', ...settings });
  const port = await new Promise<number>((resolve, reject) => {
    const onData = () => {
      const match = /realtime-mcp listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.output().stdout);
      if (match) {
        server.child.stdout!.off('data', onData);
        resolve(Number(match[1]));
      }
    };
    server.child.stdout!.on('data', onData);
    void server.exited.then(({ code }) => reject(new Error(`server exited (code ${code}) before listening: ${server.output().stderr}`)));
  });
  return { ...server, port, httpUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/mcp/ws` };
}

/** Kill the child if it is still running (test cleanup). */
export async function stopChild(server: ChildServer): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await server.exited;
}
