// STORE=redis: the stores of a node that shares sessions, logs and messages with other nodes through
// one Redis (REDIS_URL). This file only wires the parts together and owns the two connections:
//   commands   everything but pub/sub (auto-pipelined; see connection.ts for every option and why)
//   subscriber the bus's SUBSCRIBE
// `createRedisStores` resolves once both connections are up and this node's first heartbeat is in
// Redis (other nodes see it alive), and rejects with an error naming REDIS_URL when Redis cannot be
// reached within `connectTimeoutMs`. `healthy` is false whenever either connection is down; commands
// issued meanwhile wait for the reconnect (writes are not lost), so callers that must answer quickly
// check `healthy` first.
import { Redis } from 'ioredis';
import { newNodeId } from '../memory/memory-stores.js';
import type { Stores } from '../types.js';
import { RedisBus } from './bus.js';
import { RedisClusterView } from './cluster-view.js';
import { redactUrl, redisOptions, stderrStoreLogger, whenReady, type StoreLogger } from './connection.js';
import { RedisEventLogFactory, type RedisEventLogOptions } from './event-log.js';
import { RedisNodeRegistry } from './node-registry.js';
import { RedisSessionStore } from './session-store.js';

export { RedisBus } from './bus.js';
export { RedisClusterView } from './cluster-view.js';
export { RedisEventLog, RedisEventLogFactory } from './event-log.js';
export { RedisNodeRegistry } from './node-registry.js';
export { RedisSessionStore, DEFAULT_SESSION_TTL_MS } from './session-store.js';
export type { StoreLogger } from './connection.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** The longest close() waits for Redis at each step (final writes and goodbye, then QUIT), in ms. */
const CLOSE_WAIT_MS = 5_000;

export interface RedisStoresOptions {
  /** redis://[user:password@]host:port[/db] or rediss:// (TLS). Default: REDIS_URL, else redis://127.0.0.1:6379. */
  url?: string;
  /** This node's id (default: 8 random hex characters). */
  nodeId?: string;
  /** How long to wait for Redis at startup before failing (default 5 s): for the connections, then for the first heartbeat. */
  connectTimeoutMs?: number;
  /** Lifetime of a session's keys after its last use (SESSION_TTL, default 10 min). */
  sessionTtlMs?: number;
  /** How often touched sessions have their expiry pushed back (default 1 s). */
  touchIntervalMs?: number;
  /** Event log bounds and tuning (EVENT_BUFFER_EVENTS, EVENT_BUFFER_BYTES, …). */
  eventLog?: Omit<RedisEventLogOptions, 'redis' | 'logger' | 'sessionTtlMs'>;
  /** Liveness: heartbeat interval (default 1 s) and key lifetime (default 3 s). */
  heartbeatMs?: number;
  nodeTtlMs?: number;
  /** Shortest interval between two writes of this node's cluster snapshot (default 250 ms). */
  clusterPublishMs?: number;
  /** Where background errors go (default: stderr, rate-limited). */
  logger?: StoreLogger;
}

/** The Redis stores, with what tests need beyond `Stores`. */
export interface RedisStores extends Stores {
  readonly kind: 'redis';
  readonly sessions: RedisSessionStore;
  readonly eventLogs: RedisEventLogFactory;
  readonly nodes: RedisNodeRegistry;
  /** The command connection (for diagnostics and tests). */
  readonly redis: Redis;
  /** Drop everything as if the process had died: no goodbye, no final writes (tests of node failure). */
  crash(): void;
}

export async function createRedisStores(options: RedisStoresOptions = {}): Promise<RedisStores> {
  const url = options.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const nodeId = options.nodeId ?? newNodeId();
  const logger = options.logger ?? stderrStoreLogger();
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let redis: Redis;
  let subscriber: Redis;
  try {
    redis = new Redis(url, redisOptions('commands', nodeId));
    subscriber = new Redis(url, redisOptions('subscriber', nodeId));
  } catch (err) {
    throw new Error(`REDIS_URL is not a valid Redis URL (${redactUrl(url)}): ${(err as Error).message}`);
  }
  // Every error also goes through the reconnect logic; without a listener ioredis would print each one.
  let closing = false;
  let wasDown = false;
  for (const [client, role] of [[redis, 'commands'], [subscriber, 'subscriber']] as const) {
    client.on('error', (err: Error) => logger.warn({ err, role }, `Redis connection error (${redactUrl(url)})`));
    client.on('close', () => {
      if (!closing && !wasDown) logger.warn({ role }, `lost the Redis connection (${redactUrl(url)}); reconnecting`);
      wasDown = true;
    });
    client.on('ready', () => {
      if (wasDown && redis.status === 'ready' && subscriber.status === 'ready') {
        wasDown = false;
        logger.warn({ role }, 'reconnected to Redis');
      }
    });
  }
  try {
    await Promise.all([whenReady(redis, timeoutMs), whenReady(subscriber, timeoutMs)]);
  } catch (err) {
    closing = true;
    redis.disconnect();
    subscriber.disconnect();
    throw new Error(`Could not connect to Redis at ${redactUrl(url)} (REDIS_URL) within ${timeoutMs} ms: ${(err as Error).message}`);
  }

  const sessionTtlMs = options.sessionTtlMs;
  const nodes = new RedisNodeRegistry({ id: nodeId, redis, heartbeatMs: options.heartbeatMs, nodeTtlMs: options.nodeTtlMs, logger });
  const sessions = new RedisSessionStore({ redis, ttlMs: sessionTtlMs, touchIntervalMs: options.touchIntervalMs, logger });
  const eventLogs = new RedisEventLogFactory({ ...options.eventLog, redis, sessionTtlMs: sessions.ttlMs, logger });
  const bus = new RedisBus({ nodeId, redis, subscriber, logger });
  const cluster = new RedisClusterView({ nodeId, redis, nodes, publishIntervalMs: options.clusterPublishMs, logger });
  try {
    // Bounded like the connection: a Redis that took the connections but then stops answering (a
    // failover pausing writes, a restart right now) must fail the start, not hang it.
    await orTimeout(nodes.start(), timeoutMs, `no answer within ${timeoutMs} ms`);
  } catch (err) {
    nodes.stopHeartbeat();
    closing = true;
    redis.disconnect();
    subscriber.disconnect();
    throw new Error(`Redis at ${redactUrl(url)} (REDIS_URL) did not take this node's heartbeat: ${(err as Error).message}`);
  }

  let closed: Promise<void> | undefined;
  return {
    kind: 'redis',
    sessions,
    eventLogs,
    bus,
    nodes,
    cluster,
    redis,
    get healthy() {
      return redis.status === 'ready' && subscriber.status === 'ready';
    },
    close() {
      return (closed ??= (async () => {
        // What was appended goes to Redis first, then this node's goodbye (whose timers stop at once). Both
        // within CLOSE_WAIT_MS: a Redis that is away must not hold the shutdown (commands wait for a
        // reconnect); what did not make it expires by itself.
        const deadline = Date.now() + CLOSE_WAIT_MS;
        await bounded(eventLogs.flushed(), CLOSE_WAIT_MS);
        await bounded(Promise.all([sessions.close(), cluster.close(), nodes.close()]), deadline - Date.now());
        closing = true;
        await Promise.all([quit(redis), quit(subscriber)]);
      })());
    },
    crash() {
      closing = true;
      closed ??= Promise.resolve();
      nodes.stopHeartbeat();
      sessions.abandon();
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}

/** Ends a connection: QUIT when connected (Redis answers what was sent before it), else drop it. */
async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  if (client.status === 'ready') await bounded(client.quit().catch(() => {}), CLOSE_WAIT_MS);
  client.disconnect();
  // Between two reconnect attempts there is no connection to close: disconnect() only cancels the next
  // attempt, and ioredis emits no 'end' (it stays 'reconnecting'; no attempt follows). Waiting for 'end'
  // there hung a shutdown during a Redis restart forever.
  if (client.status === 'reconnecting') return;
  await bounded(ended, CLOSE_WAIT_MS);
}

/** What `promise` gives, or an error saying `what` once `ms` have passed (the timer does not keep the process alive). */
function orTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(what)), Math.max(ms, 0)).unref()));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits for `promise` (best effort: its failure is ignored), for `ms` at most. */
async function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  await orTimeout(promise, ms, 'timed out').catch(() => {});
}
