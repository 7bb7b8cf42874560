// @fastify/rate-limit's store with STORE=redis: the counters live in Redis, so a principal has one budget
// for the whole cluster however the load balancer spreads its requests. While Redis is unreachable they
// live in this node's memory instead (@fastify/rate-limit's own LocalStore): requests keep getting an
// answer (a route that needs Redis refuses with 503 STORE_UNAVAILABLE), and the limit still holds, per
// node, for the length of the outage. Without this, every request on a guarded route waited for Redis to
// come back (the command connection queues commands while it reconnects: see stores/redis/connection.ts).
import { createRequire } from 'node:module';
import type { FastifyRateLimitOptions, FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Stores } from '../src/stores/types.js';

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;
interface StoreLike {
  incr(key: string, callback: Callback, timeWindow: number, max: number): void;
  child(routeOptions: unknown): StoreLike;
}
type StoreConstructor = new (continueExceeding: boolean, exponentialBackoff: boolean, ...rest: unknown[]) => StoreLike;

// The plugin's own stores (CommonJS files without type declarations of their own).
const require = createRequire(import.meta.url);
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as StoreConstructor;
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as StoreConstructor;

/** Keys of the Redis counters: rmcp:rl:<route>-<principal>. */
export const RATE_LIMIT_KEY_PREFIX = 'rmcp:rl:';

class FallbackStore implements FastifyRateLimitStore {
  constructor(
    private readonly stores: Stores,
    private readonly shared: StoreLike,
    private readonly local: StoreLike,
  ) {}

  incr(key: string, callback: Callback, timeWindow: number, max: number): void {
    if (!this.stores.healthy) return this.local.incr(key, callback, timeWindow, max);
    // Redis went away after the check: the command errors (or waits for the reconnect, then answers).
    this.shared.incr(key, (err, result) => (err ? this.local.incr(key, callback, timeWindow, max) : callback(null, result)), timeWindow, max);
  }

  child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
    return new FallbackStore(this.stores, this.shared.child(routeOptions), this.local.child(routeOptions));
  }
}

/** The store constructor to pass to @fastify/rate-limit (`store`) for these stores (which must have `redis`). */
export function clusterRateLimitStore(stores: Stores): FastifyRateLimitStoreCtor {
  return class {
    constructor(options: FastifyRateLimitOptions) {
      const { continueExceeding = false, exponentialBackoff = false } = options as { continueExceeding?: boolean; exponentialBackoff?: boolean };
      const shared = new RedisStore(continueExceeding, exponentialBackoff, stores.redis, RATE_LIMIT_KEY_PREFIX);
      const local = new LocalStore(continueExceeding, exponentialBackoff);
      return new FallbackStore(stores, shared, local);
    }
  } as unknown as FastifyRateLimitStoreCtor;
}
