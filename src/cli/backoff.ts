// Reconnect delays: exponential backoff with jitter, so that many clients cut off by the same network
// event do not come back in lockstep (and hammer the server at the same instants).

export interface BackoffOptions {
  /** Delay ceiling of the first retry (ms). */
  baseMs: number;
  /** Largest delay (ms). */
  maxMs: number;
  /** Attempts before giving up (Infinity: never). */
  maxAttempts: number;
}

/**
 * Defaults: 250 ms, 500 ms, 1 s, … capped at 10 s; 12 attempts span about a minute, the server's
 * default RESUME_WINDOW_MS, after which a WebSocket session cannot be resumed anyway.
 */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 10_000, maxAttempts: 12 };

/**
 * Delay before attempt `attempt` (1-based): "equal jitter", half of the exponential step fixed and
 * half random, so the delay still grows (a server that is down is not polled fast) yet clients spread.
 */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const step = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/** Resolves after `ms`, or at once (false) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
