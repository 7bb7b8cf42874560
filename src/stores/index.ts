// The stores the settings ask for: in memory (the default), or Redis (STORE=redis). The Redis client is
// loaded only when used, so a single-node server never loads it.
import type { Config } from '../config.js';
import { createMemoryStores } from './memory/memory-stores.js';
import type { Stores } from './types.js';

/** Where the Redis stores report trouble (the app's logger; default stderr). */
export interface StoresLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export async function createStores(config: Config, logger?: StoresLogger): Promise<Stores> {
  const eventLog = { maxEvents: config.EVENT_BUFFER_EVENTS, maxBytes: config.EVENT_BUFFER_BYTES };
  if (config.STORE === 'memory') return createMemoryStores({ eventLog });
  const { createRedisStores } = await import('./redis/index.js');
  return createRedisStores({
    url: config.REDIS_URL,
    eventLog,
    // A session's keys outlive its last use by the idle timeout (at least a minute).
    sessionTtlMs: Math.max(config.SESSION_IDLE_TIMEOUT_MS, 60_000),
    heartbeatMs: config.NODE_HEARTBEAT_MS,
    nodeTtlMs: config.NODE_TTL_MS,
    ...(logger !== undefined && { logger }),
  });
}
