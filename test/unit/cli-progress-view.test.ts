// How the CLI prints a progress notification from realtime-mcp (whose message already carries the
// count, rate and ETA) and from a server that sends a bare one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { messageText, progressLine, RateEstimator } from '../../src/cli/progress-view.js';

const fromServer = {
  progress: 4200,
  total: 10_000,
  message: '4,200/10,000 · batch 42 · 350 images/s · ETA 16 s',
  rate: 350,
  etaMs: 16_000,
  unit: 'images',
};

test('a realtime-mcp message: the count, rate and ETA are shown once, the rest of the message after them', () => {
  assert.equal(messageText(fromServer), 'batch 42');
  assert.equal(progressLine(fromServer), 'progress 4,200/10,000 42% · 350 images/s · ETA 16 s · batch 42');
});

test('another server: a bare count and free text are kept as they are', () => {
  const bare = { progress: 3, total: 8, message: 'resizing a.jpg' };
  assert.equal(progressLine(bare), 'progress 3/8 37% · resizing a.jpg');
  assert.equal(messageText({ progress: 3, message: '3 · 12/s' }), '');
  // A rate in another unit is the tool's own text, not ours.
  assert.equal(messageText({ progress: 3, message: 'downloading · 12 MB/s · 3 files left', unit: 'files' }), 'downloading · 12 MB/s · 3 files left');
});

test('the local estimate stays silent until its window spans a second, then follows the recent rate', () => {
  const rates = new RateEstimator();
  const t0 = performance.now();
  assert.equal(rates.update(10, 100, t0 + 200).rate, undefined);
  const later = rates.update(60, 100, t0 + 2_000);
  assert.ok(later.rate !== undefined && Math.abs(later.rate - 30) < 1, String(later.rate));
  assert.ok(later.etaMs !== undefined && Math.abs(later.etaMs - 1_333) < 50, String(later.etaMs));
});
