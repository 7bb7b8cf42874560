// Our cheap histogram must read exactly like prom-client's own: same values in, same exposition out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, Registry } from 'prom-client';
import { PlainHistogram } from '../../src/metrics/plain-histogram.js';

const BOUNDS = [0.005, 0.1, 1, 60];
const VALUES = [0, 0.005, 0.0051, 0.09, 0.5, 1, 2, 59.9, 60, 61, 1e6];

test('PlainHistogram exposes the same text as prom-client Histogram for the same observations', async () => {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram({ name: 'h_seconds', help: 'help text', labelNames: ['tool', 'outcome'], buckets: BOUNDS, registers: [theirs] });
  const plain = new PlainHistogram('h_seconds', 'help text', BOUNDS, ours);
  const a = plain.seriesFor({ tool: 'echo', outcome: 'ok' });
  const b = plain.seriesFor({ tool: 'process_batch', outcome: 'cancelled' });
  for (const v of VALUES) {
    reference.observe({ tool: 'echo', outcome: 'ok' }, v);
    a.observe(v);
  }
  reference.observe({ tool: 'process_batch', outcome: 'cancelled' }, 3);
  b.observe(3);
  assert.equal(await ours.metrics(), await theirs.metrics());
});

test('a series without labels, and one with no observations yet', async () => {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram({ name: 'w_seconds', help: 'waits', buckets: BOUNDS, registers: [theirs] });
  const plain = new PlainHistogram('w_seconds', 'waits', BOUNDS, ours).seriesFor();
  reference.zero({});
  assert.equal(await ours.metrics(), await theirs.metrics());
  reference.observe(0.2);
  plain.observe(0.2);
  assert.equal(await ours.metrics(), await theirs.metrics());
});
