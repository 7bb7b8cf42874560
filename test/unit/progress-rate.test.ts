// ProgressRate with explicit clock values (no waiting): no rate before a second of data, the window
// that forgets a slow start, the ETA; and the formatting of counts, rates and ETAs.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressRate, formatCount, formatEta, formatRate } from '../../src/operations/progress-rate.js';

describe('ProgressRate', () => {
  test('no rate and no ETA until the samples span 1 s; elapsed counts from the start', () => {
    const rate = new ProgressRate(1000);
    assert.deepEqual(rate.update(10, 100, 1500), { rate: undefined, etaMs: undefined, elapsedMs: 500 });
    assert.deepEqual(rate.update(19, 100, 1999), { rate: undefined, etaMs: undefined, elapsedMs: 999 });
    // 20 items in the first second: 20/s, 80 left → 4 s.
    assert.deepEqual(rate.update(20, 100, 2000), { rate: 20, etaMs: 4000, elapsedMs: 1000 });
  });

  test('the ETA needs a total at or above the progress and a rate above 0', () => {
    const rate = new ProgressRate(0);
    assert.equal(rate.update(50, undefined, 2000).etaMs, undefined);
    assert.equal(rate.update(60, 50, 2200).etaMs, undefined, 'total below progress');
    assert.equal(rate.update(60, 60, 2400).etaMs, 0, 'done: 0 ms left');
    const idle = new ProgressRate(0);
    const snap = idle.update(0, 10, 3000);
    assert.equal(snap.rate, 0);
    assert.equal(snap.etaMs, undefined, 'no progress, no estimate');
  });

  test('a slow start is forgotten once it leaves the 5 s window', () => {
    const rate = new ProgressRate(0);
    // 5 s of warm-up with 1 item, then 100 items/s for 5 s; a sample every 100 ms.
    const at = (t: number) => (t <= 5000 ? 1 : 1 + (t - 5000) / 10);
    let snap = rate.update(at(100), 1001, 100);
    for (let t = 200; t <= 10_000; t += 100) snap = rate.update(at(t), 1001, t);
    assert.equal(at(10_000), 501);
    assert.equal(snap.rate, 100, 'the last 5 s, not the 50/s average since the start');
    assert.equal(snap.etaMs, 5000, '500 left at 100/s');
    assert.equal(snap.elapsedMs, 10_000);
  });

  test('while the window still holds the slow start, the rate includes it', () => {
    const rate = new ProgressRate(0);
    rate.update(1, undefined, 2000);
    // 2 s in: 1 item so far, then a burst of 99 items by 4 s.
    const snap = rate.update(100, undefined, 4000);
    assert.equal(snap.rate, 25, '100 items over 4 s');
  });

  test('updates closer than 100 ms merge into one sample, so frequent updates still cover the whole window', () => {
    const rate = new ProgressRate(0);
    // An update every 10 ms at 100 items/s for 10 s: 1000 updates. Kept one per update, the ring
    // (5 s / 100 ms + 1 slots) would span only half a second and give no rate at all.
    let snap = rate.update(1, 1000, 10);
    for (let t = 20; t <= 10_000; t += 10) snap = rate.update(t / 10, 1000, t);
    assert.ok(snap.rate !== undefined && snap.rate > 95 && snap.rate <= 100, `rate ${snap.rate}`);
    assert.equal(snap.etaMs, 0);
  });
});

describe('formatting', () => {
  test('formatCount: thousands separators, negatives, fractions to two decimals', () => {
    const cases: Array<[number, string]> = [
      [0, '0'], [7, '7'], [999, '999'], [1000, '1,000'], [4200, '4,200'], [10_000, '10,000'], [999_999, '999,999'],
      [1_234_567, '1,234,567'], [-1234, '-1,234'], [-12, '-12'], [2.5, '2.5'], [1.2345, '1.23'], [1234.5, '1234.5'],
    ];
    for (const [n, text] of cases) assert.equal(formatCount(n), text, String(n));
  });

  test('formatRate: whole numbers from 100, one decimal from 10, two below; with a unit', () => {
    assert.equal(formatRate(350), '350/s');
    assert.equal(formatRate(1234.4), '1,234/s');
    assert.equal(formatRate(99.96), '100.0/s');
    assert.equal(formatRate(12.5), '12.5/s');
    assert.equal(formatRate(10), '10.0/s');
    assert.equal(formatRate(9.999), '10.00/s');
    assert.equal(formatRate(0.25), '0.25/s');
    assert.equal(formatRate(0), '0.00/s');
    assert.equal(formatRate(350, 'images'), '350 images/s');
  });

  test('formatEta: seconds (rounded up), minutes and seconds, hours and minutes', () => {
    const cases: Array<[number, string]> = [
      [0, 'ETA 0 s'], [1, 'ETA 1 s'], [15_001, 'ETA 16 s'], [16_000, 'ETA 16 s'], [59_000, 'ETA 59 s'], [59_001, 'ETA 1 min 0 s'],
      [60_000, 'ETA 1 min 0 s'], [125_000, 'ETA 2 min 5 s'], [3_599_000, 'ETA 59 min 59 s'], [3_600_000, 'ETA 1 h 0 min'],
      [3_780_000, 'ETA 1 h 3 min'], [90_000_000, 'ETA 25 h 0 min'],
    ];
    for (const [ms, text] of cases) assert.equal(formatEta(ms), text, String(ms));
  });
});
