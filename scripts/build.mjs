#!/usr/bin/env node
// `npm run build`: compile TypeScript to dist/ and stamp the build. With `--if-stale` (what `npm start`
// runs first) it compiles only when a source file changed since the last stamp, so a start with nothing
// changed costs a directory walk (milliseconds), not a compile (~20 s on a small machine).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const STAMP = join(root, 'dist', '.build-stamp');
const SOURCES = ['src', 'plugins', 'routes'];
const FILES = ['tsconfig.json', 'package.json'];

/** Newest modification time (ms) of the files under `dir`. */
function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

function stale() {
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  const changed = Math.max(...SOURCES.map((d) => newest(join(root, d))), ...FILES.map((f) => statSync(join(root, f)).mtimeMs));
  return changed > built;
}

if (process.argv.includes('--if-stale') && !stale()) process.exit(0);
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
writeFileSync(STAMP, `${new Date().toISOString()}\n`);
