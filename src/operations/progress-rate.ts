// Rate (items/s) and ETA for a stream of progress values. Cheap enough to run on every notification:
// the rate is re-measured at most every RATE_WINDOW_MS and smoothed, so a burst or a stall does not
// make the ETA jump about.

const RATE_WINDOW_MS = 500;
const SMOOTHING = 0.5;
/** Below this much elapsed time a rate would be noise. */
const MIN_ELAPSED_MS = 20;

export interface RateSnapshot {
  /** Items per second, or undefined before there is enough data. */
  rate: number | undefined;
  /** Milliseconds left, when the total and a rate are known. */
  etaMs: number | undefined;
  elapsedMs: number;
}

export class ProgressRate {
  private readonly startedAt: number;
  private windowStart: number;
  private windowProgress = 0;
  private smoothed: number | undefined;

  constructor(now: number) {
    this.startedAt = now;
    this.windowStart = now;
  }

  update(progress: number, total: number | undefined, now: number): RateSnapshot {
    const elapsedMs = now - this.startedAt;
    const windowMs = now - this.windowStart;
    if (windowMs >= RATE_WINDOW_MS) {
      const windowRate = ((progress - this.windowProgress) * 1000) / windowMs;
      this.smoothed = this.smoothed === undefined ? windowRate : SMOOTHING * windowRate + (1 - SMOOTHING) * this.smoothed;
      this.windowStart = now;
      this.windowProgress = progress;
    }
    const rate = this.smoothed ?? (elapsedMs >= MIN_ELAPSED_MS ? (progress * 1000) / elapsedMs : undefined);
    const etaMs = rate !== undefined && rate > 0 && total !== undefined && total >= progress
      ? Math.round(((total - progress) * 1000) / rate)
      : undefined;
    return { rate, etaMs, elapsedMs };
  }
}

/** `350/s`, `12.5/s`, `0.25/s`. */
export function formatRate(rate: number): string {
  if (rate >= 100) return `${Math.round(rate)}/s`;
  if (rate >= 10) return `${rate.toFixed(1)}/s`;
  return `${rate.toFixed(2)}/s`;
}

/** `ETA 16 s`, `ETA 2 min 5 s`, `ETA 1 h 3 min`. */
export function formatEta(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `ETA ${s} s`;
  if (s < 3600) return `ETA ${Math.floor(s / 60)} min ${s % 60} s`;
  return `ETA ${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
