// The two retry loops every client transport runs: the first connection, and the resume after a drop.
// Both back off with jitter (../backoff.ts) and both retry only what another attempt can fix (a dropped
// or refused connection, 429/5xx): an auth refusal (401/403) or a session the server no longer has
// comes back as a non-retryable ConnectionError and ends the loop at once.
import { backoffDelay, sleep } from '../backoff.js';
import { ConnectionError, errorMessage } from '../errors.js';
import type { ResolvedOptions } from './options.js';

/**
 * The first connection: `open` is tried up to `o.connectAttempts` times while it fails retryably,
 * honouring Retry-After. Rejects with the last error; `signal` (close()) ends the waiting.
 */
export async function connectWithRetries(
  open: () => Promise<void>,
  o: Pick<ResolvedOptions, 'connectAttempts' | 'backoff' | 'log'>,
  signal: AbortSignal,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await open();
      return;
    } catch (err) {
      const e = asConnectionError(err);
      if (!e.retryable || attempt >= o.connectAttempts || signal.aborted) throw e;
      const delay = Math.max(e.retryAfterMs ?? 0, backoffDelay(attempt, o.backoff));
      o.log.warn(`${e.message}; retrying in ${(delay / 1000).toFixed(1)} s`);
      if (!(await sleep(delay, signal))) throw e;
    }
  }
}

export type ReconnectOutcome<T> =
  | { type: 'resumed'; value: T }
  /** Not retryable, or not back after `maxAttempts`: the transport gives up with `error`. */
  | { type: 'failed'; error: ConnectionError }
  /** The transport was closed (or failed elsewhere) meanwhile: nothing more to do. */
  | { type: 'stopped' };

/**
 * After a drop: report it, then `open` again with backoff until it succeeds, fails for good, runs out
 * of attempts or `signal` aborts. Every step is reported through `onstatus` (dropped, reconnecting…,
 * resumed); a Retry-After from the server is waited out on top of the backoff.
 */
export async function reconnectWithBackoff<T>(
  open: () => Promise<T>,
  why: string,
  o: Pick<ResolvedOptions, 'backoff' | 'onstatus'>,
  signal: AbortSignal,
): Promise<ReconnectOutcome<T>> {
  o.onstatus({ type: 'dropped', reason: why });
  let reason = why;
  for (let attempt = 1; attempt <= o.backoff.maxAttempts; attempt++) {
    const delay = backoffDelay(attempt, o.backoff);
    o.onstatus({ type: 'reconnecting', attempt, delayMs: delay, reason });
    if (!(await sleep(delay, signal))) return { type: 'stopped' };
    try {
      const value = await open();
      if (signal.aborted) return { type: 'stopped' };
      o.onstatus({ type: 'resumed', attempts: attempt });
      return { type: 'resumed', value };
    } catch (err) {
      if (signal.aborted) return { type: 'stopped' };
      const e = asConnectionError(err);
      if (!e.retryable) return { type: 'failed', error: e };
      reason = e.message;
      if (e.retryAfterMs !== undefined && !(await sleep(e.retryAfterMs, signal))) return { type: 'stopped' };
    }
  }
  return { type: 'failed', error: new ConnectionError(`connection lost and not back after ${o.backoff.maxAttempts} attempts (${reason})`, { kind: 'network' }) };
}

/**
 * Every failure an attempt can foresee (HTTP answers, a refused or dropped socket, another session) is
 * already a ConnectionError that says whether to retry. Anything else came from below us while
 * connecting and is treated like a dropped connection: retried.
 */
function asConnectionError(err: unknown): ConnectionError {
  return err instanceof ConnectionError ? err : new ConnectionError(errorMessage(err), { kind: 'network', retryable: true, cause: err });
}
