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
// keeps alive, fails with its name instead of holding CI until CI's own limit.
//   - each file's process gets TEST_TIMEOUT_MS (node's --test-timeout; `--test-timeout=N` overrides it);
//   - the whole run gets SUITE_TIMEOUT_MS: then the files still running are named and everything stops.
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
/** Longest a test file may take, in ms: the slowest takes about 70 s on a quiet 2-core machine. */
const TEST_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS) || 300_000;
/** Longest the whole run may take, in ms: it takes about 3 min on a quiet 2-core machine. */
const SUITE_TIMEOUT_MS = Number(process.env.SUITE_TIMEOUT_MS) || 20 * 60_000;
if (!flags.some((f) => f.startsWith('--test-timeout'))) flags.push(`--test-timeout=${TEST_TIMEOUT_MS}`);

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...flags, ...files], {
  cwd: root,
  stdio: 'inherit',
});
const watchdog = setTimeout(() => {
  const running = descendants(child.pid);
  const stillRunning = [...new Set(running.flatMap((p) => files.filter((f) => p.args.includes(f))))];
  console.error(`\n✖ the test run took longer than SUITE_TIMEOUT_MS (${SUITE_TIMEOUT_MS} ms); still running:\n` +
    (stillRunning.length > 0 ? stillRunning.map((f) => `  ${f}`).join('\n') : running.map((p) => `  ${p.args}`).join('\n') || '  (no test file)'));
  for (const p of running.reverse()) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  child.kill('SIGKILL');
  process.exitCode = 1;
}, SUITE_TIMEOUT_MS);
child.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  process.exit(process.exitCode || (code ?? (signal ? 1 : 0)));
});

/** Every process below `pid` (parents first), from /proc (Linux; elsewhere none are found and only the runner is stopped). */
function descendants(pid) {
  const rows = [];
  let entries = [];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  for (const name of entries) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      rows.push({ pid: Number(name), ppid, args });
    } catch {
      // gone meanwhile
    }
  }
  const found = [];
  const walk = (parent) => {
    for (const row of rows) if (row.ppid === parent) (found.push(row), walk(row.pid));
  };
  walk(pid);
  return found;
}
