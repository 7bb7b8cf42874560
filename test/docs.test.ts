// The README documents what the code has: every plugin option, every error of the table, every metric
// family. (Settings are checked in test/config.test.ts.) A name added to the code without a line in the
// README fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { optionDocs } from '../plugins/options.js';
import { Errors } from '../src/errors.js';
import { METRIC_FAMILIES } from '../src/metrics/prometheus-metrics.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('every plugin option is in the README\'s Embedding table', () => {
  const missing = optionDocs().filter(({ option }) => !readme.includes(`| \`${option}\` |`)).map((o) => o.option);
  assert.deepEqual(missing, []);
});

test('every error of the table is in the README with its codes', () => {
  const missing = Object.values(Errors).filter((k) => !readme.includes(`| \`${k.name}\` | ${k.rpc} | ${k.http} |`)).map((k) => k.name);
  assert.deepEqual(missing, []);
});

test('every metric family is in the README with its line', () => {
  const missing = Object.entries(METRIC_FAMILIES).filter(([name, help]) => !readme.includes(`| \`${name}\` | ${help} |`)).map(([name]) => name);
  assert.deepEqual(missing, []);
});
