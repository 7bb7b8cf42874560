// Waiting in tests without guessing durations: poll a condition until it holds, or bound a promise, and
// fail with an error that names what was awaited instead of hanging until the runner's own timeout.
//
// The timers are captured when this module loads, so a test that turns on `mock.timers` (which replaces
// the global setTimeout/setImmediate) still polls in real time; deadlines use performance.now(), which
// mock.timers does not fake.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realSetImmediate = globalThis.setImmediate;

/** Rounds polled on setImmediate (conditions that an in-process turn settles) before falling back to short timers. */
const IMMEDIATE_ROUNDS = 20;
/** Poll interval after those rounds (conditions that wait on sockets, child processes or timers). */
const POLL_MS = 5;

/**
 * Resolve once `predicate` returns true (it may be async); throw naming `what` after `timeoutMs`.
 * The predicate is checked first at once, then after each poll.
 */
export async function waitUntil(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (let round = 0; !(await predicate()); round++) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise<void>((resolve) => (round < IMMEDIATE_ROUNDS ? realSetImmediate(resolve) : realSetTimeout(resolve, POLL_MS)));
  }
}

/** What `promise` gives, or an error naming `what` after `timeoutMs` (a missing event must not hang the suite). */
export function within<T>(promise: Promise<T>, what: string, timeoutMs = 5000): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = realSetTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => realClearTimeout(timer));
}
