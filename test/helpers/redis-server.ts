// A real redis-server for tests, on a free loopback port, with no persistence of its own
// (`--save '' --appendonly no`), in a temporary directory.
//
// restart(): kills the server and starts it again on the same port (what clients see when Redis is
// restarted). By default the data survives, as on a production Redis with persistence: the server runs
// with `shutdown-on-sigterm save`, so SIGTERM writes one RDB snapshot that the new process loads.
// restart({ keepData: false }) uses SIGKILL instead: everything in Redis is gone, as after a crash of a
// Redis without persistence.
//
// redis-server runs under a small sh guard that kills it when the test process goes away, even by
// SIGKILL (a test runner's timeout): the guard waits on its stdin, a pipe from this process, and its
// end means the test process is gone. No orphaned servers.
//
// Without redis-server on PATH, `redisServerMissing` is true: test files then skip with a message, or
// fail under CI (CI set), where .ci/run installs it (apt-get install -y redis-server).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

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
  /** The guard shell (exits when redis-server does) and redis-server's pid. */
  let child: { guard: ChildProcess; pid: number } | undefined;
  let output = '';

  const launch = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--shutdown-on-sigterm', 'save', '--daemonize', 'no', '--loglevel', 'warning'];
    // Prints redis-server's pid, kills it once stdin ends, and exits when it exits. (A background job's
    // stdin is /dev/null in a non-interactive shell, hence the pipe passed on as fd 3.)
    const script = 'exec 3<&0; redis-server "$@" </dev/null & pid=$!; echo "pid $pid"; (read _ <&3; kill $pid 2>/dev/null) & wait $pid';
    const guard = spawn('sh', ['-c', script, 'sh', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let mine = '';
    guard.stdout!.setEncoding('utf8').on('data', (d: string) => ((mine += d), (output += d)));
    guard.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    const pid = await new Promise<number>((resolve, reject) => {
      guard.stdout!.on('data', () => {
        const found = /^pid (\d+)$/m.exec(mine);
        if (found) resolve(Number(found[1]));
      });
      guard.once('exit', () => reject(new Error(`redis-server did not start:\n${output}`)));
    });
    child = { guard, pid };
    const deadline = Date.now() + 10_000;
    // Answered by this redis-server, not by another test's that took the port in the meantime.
    while ((await pidOnPort(port)) !== pid) {
      if (guard.exitCode !== null) throw new Error(`redis-server exited with ${guard.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`redis-server (pid ${pid}) did not answer on port ${port} within 10 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  const kill = async (keepData = true) => {
    const current = child;
    child = undefined;
    if (current === undefined) return;
    const { guard, pid } = current;
    if (guard.exitCode === null && guard.signalCode === null) {
      const exited = new Promise((r) => guard.once('exit', r));
      try {
        process.kill(pid, keepData ? 'SIGTERM' : 'SIGKILL');
      } catch {
        // already gone: the guard exits by itself
      }
      await exited;
    }
    guard.stdin!.end(); // lets the guard's reader go
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

/** The process id of the redis-server answering PING with PONG on `port` (from INFO server); undefined when none does (yet). */
function pidOnPort(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (pid: number | undefined) => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(500, () => done(undefined));
    socket.on('error', () => done(undefined));
    // A Redis still loading its snapshot answers PING with -LOADING.
    socket.on('connect', () => socket.write('PING\r\nINFO server\r\n'));
    socket.setEncoding('utf8').on('data', (d: string) => {
      reply += d;
      if (!'+PONG\r\n$'.startsWith(reply.slice(0, 8))) return done(undefined); // an error, or not Redis
      const found = /\r\nprocess_id:(\d+)\r\n/.exec(reply);
      if (found) done(Number(found[1]));
    });
  });
}
