// Runs every test/**/*.test.ts with node's built-in runner (TypeScript through tsx).
// Node 20's `--test` does not expand globs, hence this file. Extra args are passed to node --test,
// e.g. `npm test -- --test-name-pattern=echo` or a file path to run just that file.
//
// Files run concurrently, each in its own process: most of their time is spent waiting on sockets,
// child servers and timers, not on the CPU, so several at once finish far sooner than one after the
// other (Node's default is availableParallelism - 1: one file at a time on a 2-core machine).
// `--test-concurrency=N` (or TEST_CONCURRENCY=N) overrides it; 1 runs them one by one.
//
// Nothing may hang the suite: a test that waits forever, or a file whose process a forgotten handle
// keeps alive, fails with its name instead of holding CI until CI's own limit. This file watches the
// files' processes itself (node's --test-timeout means per file on Node 20 but per test later, and its
// SIGTERM leaves what the file started running):
//   - a file's process that runs longer than TEST_TIMEOUT_MS is named and stopped, with every process
//     it started (servers, nginx, browsers), and the run fails;
//   - a run longer than SUITE_TIMEOUT_MS names the files still running and stops everything.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const explicit = args.filter((a) => a.endsWith('.ts'));
const flags = args.filter((a) => !a.endsWith('.ts'));

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'helpers' || name.startsWith('.') ? [] : find(path);
    return name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

/**
 * Files that start the standalone server as child processes take longest (each start costs seconds):
 * they go first, so they are not the last ones still running when everything else is done.
 */
const spawnsServers = (file) => readFileSync(join(root, file), 'utf8').includes('helpers/child-server');
const byDuration = (files) => [...files.filter(spawnsServers), ...files.filter((f) => !spawnsServers(f))];

const files = explicit.length > 0 ? explicit : byDuration(find(join(root, 'test')).sort());
if (!flags.some((f) => f.startsWith('--test-concurrency'))) {
  const concurrency = Number(process.env.TEST_CONCURRENCY) || Math.max(4, 2 * availableParallelism());
  flags.push(`--test-concurrency=${concurrency}`);
}
/** Longest a test file may run, in ms: the slowest takes about 70 s on a quiet 2-core machine. */
const TEST_TIMEOUT_MS = limitFromEnv('TEST_TIMEOUT_MS', 300_000);
/** Longest the whole run may take, in ms: about 3 min on a quiet 2-core machine. */
const SUITE_TIMEOUT_MS = limitFromEnv('SUITE_TIMEOUT_MS', 20 * 60_000);
/** How often the files' processes are looked at, in ms. */
const WATCH_INTERVAL_MS = 2_000;

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...flags, ...files], {
  cwd: root,
  stdio: 'inherit',
});
const startedAt = Date.now();
/** pid of a file's process → when it was first seen. */
const firstSeen = new Map();
const watch = setInterval(() => {
  if (child.exitCode !== null || child.signalCode !== null) return; // ended: the exit handler reports
  const now = Date.now();
  const tree = processTree();
  const fileProcesses = tree.filter((p) => p.ppid === child.pid).map((p) => ({ ...p, file: files.find((f) => p.args.includes(f)) }));
  if (now - startedAt > SUITE_TIMEOUT_MS) {
    const running = fileProcesses.map((p) => `  ${p.file ?? p.args}`).join('\n') || '  (no test file)';
    console.error(`\n✖ the test run took longer than SUITE_TIMEOUT_MS (${SUITE_TIMEOUT_MS} ms); still running:\n${running}`);
    stop(below(tree, child.pid));
    child.kill('SIGKILL');
    process.exitCode = 1;
    return;
  }
  for (const p of fileProcesses) {
    if (!firstSeen.has(p.pid)) firstSeen.set(p.pid, now);
    if (now - firstSeen.get(p.pid) <= TEST_TIMEOUT_MS) continue;
    const started = below(tree, p.pid);
    console.error(`\n✖ ${p.file ?? p.args} ran longer than TEST_TIMEOUT_MS (${TEST_TIMEOUT_MS} ms): stopped, with the ${started.length} process(es) it started`);
    stop([p, ...started]);
    firstSeen.delete(p.pid);
    process.exitCode = 1;
  }
}, WATCH_INTERVAL_MS);
child.on('exit', (code, signal) => {
  clearInterval(watch);
  process.exit(process.exitCode || (code ?? (signal ? 1 : 0)));
});

/** A limit in ms from the environment, or `fallback`; anything but a positive number is refused. */
function limitFromEnv(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!(value > 0)) {
    console.error(`${name} must be a positive number of milliseconds, not ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

/** SIGKILL to every process given, the last ones first (children before their parents). */
function stop(processes) {
  for (const p of [...processes].reverse()) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/** Every process below `pid` in `tree` (parents before their children). */
function below(tree, pid) {
  const found = [];
  const walk = (parent) => {
    for (const p of tree) if (p.ppid === parent) (found.push(p), walk(p.pid));
  };
  walk(pid);
  return found;
}

/** Every process of the machine with its parent and command line, from /proc (Linux; elsewhere none, and only SUITE_TIMEOUT_MS applies). */
function processTree() {
  let names = [];
  try {
    names = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const tree = [];
  for (const name of names) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      tree.push({ pid: Number(name), ppid, args });
    } catch {
      // gone meanwhile
    }
  }
  return tree;
}
