// The two Redis connections every Redis store shares, and how they behave when Redis goes away.
//
// Why these options (ioredis):
//   - lazyConnect off: a node connects at startup, so a wrong REDIS_URL fails the start, not the first request.
//   - enableAutoPipelining: every command issued in one tick leaves in one write, and ioredis keeps one
//     pipeline in flight at a time, so commands queue behind it and batch themselves under load. The
//     stores add their own batching on top (event log, calls, touch), so a busy node issues a handful of
//     writes per tick, not one per message.
//   - reconnect with exponential backoff capped at 2 s (retryStrategy): Redis restarts and failovers are
//     seconds long; waiting longer between tries only stretches the outage.
//   - maxRetriesPerRequest: null (commands wait for the connection as long as it takes) with the offline
//     queue on: a write issued while Redis restarts is sent after the reconnect instead of failing. A
//     bounded value would flush the queue with MaxRetriesPerRequestError after N failed reconnects, and
//     an event the outbox already numbered (and maybe wrote to a client) would never reach the log: the
//     acknowledged-message guarantee is worth more than failing fast. The price: an awaited read waits
//     while Redis is down. So callers must not wait on it blindly: `Stores.healthy` is false meanwhile
//     (for /readyz), and work that needs Redis should be refused with a clear error while it is.
//     What is not sent again by ioredis (a pipeline cut half-way through is rejected with AbortError)
//     is retried by `retrying()` below; the stores make every retried write harmless twice (idempotent
//     writes, and the event log drops duplicate sequence numbers on replay).
//   - RESP2 (protocol: 2): the stores use no RESP3 feature, and RESP2 is what every Redis and every
//     managed Redis speaks; ioredis 6 defaults to RESP3 with a downgrade on failure.
//   - one connection for commands, one for pub/sub: a subscribed connection can run no other command.
//   - Redis Cluster is not supported (scripts touch keys of different slots); a single primary with
//     replicas (Sentinel or a managed service) is.
import { Redis, type RedisOptions } from 'ioredis';

/** Where the stores report what goes wrong in the background (the core's logger fits). */
export interface StoreLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** The longest wait between two reconnect attempts. */
export const RECONNECT_CAP_MS = 2_000;

/** Reconnect delay after `times` failed attempts: 50 ms, 100 ms, 200 ms, … capped at RECONNECT_CAP_MS. */
export function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times - 1, 10), RECONNECT_CAP_MS);
}

export function redisOptions(role: 'commands' | 'subscriber', nodeId: string): RedisOptions {
  return {
    lazyConnect: false,
    enableAutoPipelining: role === 'commands',
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: reconnectDelay,
    protocol: 2,
    connectTimeout: 5_000,
    connectionName: `rmcp-${nodeId}-${role === 'commands' ? 'cmd' : 'sub'}`,
    // Resubscribe after a reconnect (the bus relies on it) and resend commands cut off by a disconnect.
    autoResubscribe: true,
    autoResendUnfulfilledCommands: true,
  };
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** A logger that writes to stderr, at most one line per message text every 10 s (a down Redis repeats itself). */
export function stderrStoreLogger(): StoreLogger {
  const last = new Map<string, number>();
  const write = (level: string, obj: object, msg: string) => {
    const now = Date.now();
    if ((last.get(msg) ?? 0) > now - 10_000) return;
    last.set(msg, now);
    if (last.size > 100) last.delete(last.keys().next().value!);
    const err = (obj as { err?: unknown }).err;
    process.stderr.write(`[realtime-mcp redis ${level}] ${msg}${err instanceof Error ? `: ${err.message}` : ''}\n`);
  };
  return { warn: (obj, msg) => write('warn', obj, msg), error: (obj, msg) => write('error', obj, msg) };
}

/** Errors after which the same command may simply be sent again. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'AbortError') return true; // a pipeline cut by a disconnect: not sent again by ioredis
  return /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|READONLY|CLUSTERDOWN|NOREPLICAS)\b/.test(err.message);
}

/**
 * Runs `op` until it succeeds or fails for good: a command cut by a disconnect, or refused while Redis
 * loads or fails over, is sent again (after a backoff; ioredis itself queues it until the reconnect).
 * Stops retrying once `client` has been closed on purpose.
 */
export async function retrying<T>(client: Redis, op: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      // 'end' only: 'close' is also the passing state of a reconnect.
      if (!isTransient(err) || client.status === 'end') throw err;
      await new Promise((r) => setTimeout(r, attempt === 0 ? 0 : reconnectDelay(attempt)));
    }
  }
}

/** A Lua script bound to a connection: EVALSHA, with ioredis loading it on first use and after a Redis restart. */
export type ScriptCall = (keys: readonly string[], args: ReadonlyArray<string | number>) => Promise<unknown>;

export function defineScript(client: Redis, name: string, numberOfKeys: number, lua: string): ScriptCall {
  if (!(name in client)) client.defineCommand(name, { numberOfKeys, lua });
  const fn = (client as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>)[name]!;
  return (keys, args) => fn.call(client, ...keys, ...args);
}

/** A Lua script whose number of keys varies from call to call (ioredis then takes the count first). */
export function defineVariadicScript(client: Redis, name: string, lua: string): ScriptCall {
  if (!(name in client)) client.defineCommand(name, { lua });
  const fn = (client as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>)[name]!;
  return (keys, args) => fn.call(client, keys.length, ...keys, ...args);
}

/** Resolves once `client` is ready; rejects after `timeoutMs` with the last connection error. */
export function whenReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (err: Error) => (lastError = err);
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('end', onEnd);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onEnd = () => {
      cleanup();
      reject(lastError ?? new Error('the connection was closed'));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(lastError ?? new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('end', onEnd);
  });
}
