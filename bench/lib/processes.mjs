// Starting and stopping the processes of a measurement (servers, redis-server, nginx), pinned to a CPU
// with `taskset -c` when taskset exists (taskset execs its command, so the pid is the process's own).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import net from 'node:net';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every child still running, so an interrupted bench can end them (by pid, nothing else). */
const live = new Set();
export function killAll(signal = 'SIGTERM') {
  for (const child of live) { try { child.kill(signal); } catch { /* gone */ } }
}

export const hasTaskset = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;

/** argv prefixed with `taskset -c cpu` when possible. */
export const pinned = (cpu, argv) => (hasTaskset && cpu !== undefined && cpu !== '' ? ['taskset', '-c', String(cpu), ...argv] : argv);

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** True when a program is on PATH. */
export const onPath = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/**
 * Starts argv (pinned to cpu) and waits until its output matches `ready` (RegExp, tested on stdout and
 * stderr together) or, with readyPort, until that TCP port accepts connections.
 * Returns { pid, child, match, stop(), exited }: match is ready's match (servers print their port).
 * stop() sends SIGTERM (graceful: profiles get written, exit 0) and SIGKILL after 15 s. logFile
 * receives stdout and stderr.
 */
export async function startProcess({ name, argv, cpu, env, cwd, ready, readyPort, logFile, timeoutMs = 30_000 }) {
  const [cmd, ...rest] = pinned(cpu, argv);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(cmd, rest, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let match = null;
  let exited = null;
  live.add(child);
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => { live.delete(child); exited = { code, signal }; resolve(exited); }));
  const spawnError = new Promise((_, reject) => child.once('error', reject));
  const seen = new Promise((resolve) => {
    const onData = (d) => {
      log.write(d);
      if (output === null) return;
      output += d;
      const m = ready ? output.match(ready) : null;
      if (m) { match = m; output = null; resolve(); }
      else if (output.length > 65536) output = output.slice(-8192);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  const tail = () => (typeof output === 'string' ? output.trim().split('\n').slice(-3).join(' | ') : '');
  let timer;
  try {
    await Promise.race([
      readyPort ? waitForPort(readyPort, timeoutMs) : seen,
      spawnError,
      exit.then((e) => { throw new Error(`${name} exited (${e.code ?? e.signal}) before it was ready: ${tail()}`); }),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${name}: not ready in ${timeoutMs / 1000} s: ${tail()}`)), timeoutMs); }),
    ]);
    // A port that answers may belong to someone else while our process dies on EADDRINUSE.
    if (readyPort) await sleep(150);
    if (exited !== null) throw new Error(`${name} exited (${exited.code ?? exited.signal}) right after start: ${tail()}`);
  } catch (e) {
    child.kill('SIGKILL');
    log.end();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return {
    pid: child.pid,
    child,
    match,
    get exited() { return exited; },
    stop: async () => {
      if (exited === null) {
        child.kill('SIGTERM');
        if ((await Promise.race([exit, sleep(15_000).then(() => null)])) === null) { child.kill('SIGKILL'); await exit; }
      }
      log.end();
      return exited;
    },
  };
}

async function waitForPort(port, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`port ${port} not open in ${timeoutMs / 1000} s`);
}

/** Runs start(port) with a free port, again with another one if that port was taken meanwhile. */
export async function withFreePort(start, tries = 3) {
  for (let i = 1; ; i++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (e) {
      if (i >= tries || !/EADDRINUSE|Address already in use|not open in/.test(e.message)) throw e;
    }
  }
}

/** Children of a pid (nginx workers), from /proc. */
export function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch { return []; }
}
