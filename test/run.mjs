// Runs every test/**/*.test.ts with node's built-in runner (TypeScript through tsx).
// Node 20's `--test` does not expand globs, hence this file. Extra args are passed to node --test,
// e.g. `npm test -- --test-name-pattern=echo` or a file path to run just that file.
//
// Files run concurrently, each in its own process: most of their time is spent waiting on sockets,
// child servers and timers, not on the CPU, so several at once finish far sooner than one after the
// other (Node's default is availableParallelism - 1: one file at a time on a 2-core machine).
// `--test-concurrency=N` (or TEST_CONCURRENCY=N) overrides it; 1 runs them one by one.
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
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...flags, ...files], {
  cwd: root,
  stdio: 'inherit',
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
