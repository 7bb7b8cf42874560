// A real redis-server for tests, on a free loopback port, with no persistence of its own
// (`--save '' --appendonly no`), in a temporary directory.
//
// restart(): kills the server and starts it again on the same port (what clients see when Redis is
// restarted). By default the data survives, as on a production Redis with persistence: the server runs
// with `shutdown-on-sigterm save`, so SIGTERM writes one RDB snapshot that the new process loads.
// restart({ keepData: false }) uses SIGKILL instead: everything in Redis is gone, as after a crash of a
// Redis without persistence.
//
// Without redis-server on PATH, `redisServerMissing` is true: test files then skip with a message, or
// fail under CI (CI set), where .ci/run installs it (apt-get install -y redis-server).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const redisServerMissing = spawnSync('redis-server', ['--version']).error !== undefined;

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Kill and start again on the same port; resolves once it answers PING. `downMs`: how long it stays down. */
  restart(options?: { keepData?: boolean; downMs?: number }): Promise<void>;
  /** Kill it and stay down until `start()` (for "Redis is away" tests). */
  kill(options?: { keepData?: boolean }): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** What redis-server printed (for failure messages). */
  readonly output: string;
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'realtime-mcp-redis-'));
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--shutdown-on-sigterm', 'save', '--daemonize', 'no', '--loglevel', 'warning'];
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    child = proc;
    const deadline = Date.now() + 10_000;
    while (!(await ping(port))) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port} within 10 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  const kill = async (keepData = true) => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(keepData ? 'SIGTERM' : 'SIGKILL');
    await exited;
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get output() {
      return output;
    },
    async restart({ keepData = true, downMs = 0 } = {}) {
      await kill(keepData);
      if (!keepData) rmSync(join(dir, 'dump.rdb'), { force: true });
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    async kill({ keepData = true } = {}) {
      await kill(keepData);
      if (!keepData) rmSync(join(dir, 'dump.rdb'), { force: true });
    },
    start: launch,
    async stop() {
      await kill(false);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True when something on `port` answers PING with PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.setEncoding('utf8').on('data', (d: string) => {
      reply += d;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
