// Rate (items/s) and ETA for a stream of progress values, from a sliding window: the rate is the
// progress made over the last WINDOW_MS, so a slow start (a library warming up, a queue draining) is
// forgotten within seconds instead of skewing the ETA for the whole run. Neither is given until the
// window spans MIN_SPAN_MS: an estimate from the first few items is noise. Cheap enough for every
// notification: at most one sample per SAMPLE_MS is kept, in a fixed ring.

/** The rate covers the progress of (about) this much recent time. */
const WINDOW_MS = 5_000;
/** Samples closer together than this are merged. */
const SAMPLE_MS = 100;
/** No rate or ETA until the samples span this much time. */
const MIN_SPAN_MS = 1_000;
const SLOTS = Math.ceil(WINDOW_MS / SAMPLE_MS) + 1;

export interface RateSnapshot {
  /** Items per second over the window, or undefined before it means something. */
  rate: number | undefined;
  /** Milliseconds left, when the total and a rate are known. */
  etaMs: number | undefined;
  elapsedMs: number;
}

export class ProgressRate {
  private readonly startedAt: number;
  private readonly times = new Float64Array(SLOTS);
  private readonly values = new Float64Array(SLOTS);
  /** Index of the oldest sample and number of samples. */
  private head = 0;
  private size = 0;

  constructor(now: number) {
    this.startedAt = now;
    this.push(now, 0);
  }

  update(progress: number, total: number | undefined, now: number): RateSnapshot {
    const newest = (this.head + this.size - 1) % SLOTS;
    if (now - this.times[newest]! >= SAMPLE_MS) this.push(now, progress);
    else this.values[newest] = progress; // merge into the newest sample
    // Drop samples older than the window, keeping at least two.
    while (this.size > 2 && now - this.times[(this.head + 1) % SLOTS]! >= WINDOW_MS) {
      this.head = (this.head + 1) % SLOTS;
      this.size--;
    }
    const spanMs = now - this.times[this.head]!;
    const rate = spanMs >= MIN_SPAN_MS ? ((progress - this.values[this.head]!) * 1000) / spanMs : undefined;
    const etaMs = rate !== undefined && rate > 0 && total !== undefined && total >= progress
      ? Math.round(((total - progress) * 1000) / rate)
      : undefined;
    return { rate, etaMs, elapsedMs: now - this.startedAt };
  }

  private push(time: number, value: number): void {
    if (this.size === SLOTS) {
      this.head = (this.head + 1) % SLOTS;
      this.size--;
    }
    const slot = (this.head + this.size) % SLOTS;
    this.times[slot] = time;
    this.values[slot] = value;
    this.size++;
  }
}

/** `4,200`: counts with thousands separators (by hand: this runs for every progress notification). */
export function formatCount(n: number): string {
  if (!Number.isInteger(n)) return String(Math.round(n * 100) / 100);
  const digits = String(Math.abs(n));
  if (digits.length <= 3) return n < 0 ? `-${digits}` : digits;
  let out = digits.slice(0, digits.length % 3 || 3);
  for (let i = out.length; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return n < 0 ? `-${out}` : out;
}

/** `350/s`, `12.5/s`, `0.25/s`; with a unit, `350 images/s`. */
export function formatRate(rate: number, unit?: string): string {
  const n = rate >= 100 ? formatCount(Math.round(rate)) : rate >= 10 ? rate.toFixed(1) : rate.toFixed(2);
  return unit === undefined ? `${n}/s` : `${n} ${unit}/s`;
}

/** `ETA 16 s`, `ETA 2 min 5 s`, `ETA 1 h 3 min`. */
export function formatEta(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `ETA ${s} s`;
  if (s < 3600) return `ETA ${Math.floor(s / 60)} min ${s % 60} s`;
  return `ETA ${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
