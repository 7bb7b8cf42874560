// The layering rules (.dependency-cruiser.cjs) hold for the tree, and the check really fails when a
// core file imports Fastify: run it on a throwaway tree with such a file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const depcruise = join(root, 'node_modules', '.bin', 'depcruise');
const config = join(root, '.dependency-cruiser.cjs');

function cruise(cwd: string, paths: string[]) {
  return spawnSync(depcruise, [...paths, '--config', config], { cwd, encoding: 'utf8' });
}

test('the source tree follows the layering rules', () => {
  const run = cruise(root, ['src', 'plugins', 'routes']);
  assert.equal(run.status, 0, run.stdout + run.stderr);
});

test('a file in src/ that imports fastify fails the check', (t) => {
  mkdirSync(join(root, 'test', '.tmp'), { recursive: true });
  const dir = mkdtempSync(join(root, 'test', '.tmp', 'layers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }));
  writeFileSync(join(dir, 'src', 'ok.ts'), "export const ok = 1;\n");
  writeFileSync(join(dir, 'src', 'core.ts'), "import Fastify from 'fastify';\nexport const app = Fastify;\n");
  const bad = cruise(dir, ['src']);
  assert.notEqual(bad.status, 0, 'the check must fail');
  assert.match(bad.stdout, /core-without-fastify: src\/core\.ts/);
  writeFileSync(join(dir, 'src', 'core.ts'), "import { ok } from './ok.js';\nexport const app = ok;\n");
  assert.equal(cruise(dir, ['src']).status, 0, 'and pass once the import is gone');
});
