// Which nodes are alive, in Redis.
//
// Shape, and why:
//   - each node SETs its liveness key rmcp:node:<id> with PX nodeTtlMs (3 s) every heartbeatMs (1 s):
//     a node that dies (kill -9) is seen dead within nodeTtlMs, one that only missed a beat or two is
//     not. `isAlive` is EXISTS on that key — and the session store's claim script checks the same key
//     inside Lua, so "dead" means the same thing everywhere.
//   - `alive()` reads a sorted set rmcp:nodes scored by each node's last heartbeat, pruned of entries
//     older than the TTL in the same script. The alternative, SCAN rmcp:node:*, walks the whole
//     keyspace (every session's keys too: tens of thousands) on every call; the sorted set costs
//     O(log N + nodes). Scores are Redis's own clock (TIME inside the script), so clock skew between
//     nodes cannot make a live node look dead.
//   - the heartbeat is one script call (SET PX + ZADD). A heartbeat that fails (Redis away) is not
//     retried: the next one comes a beat later, and the key outlives a couple of missed beats.
//   - `close()` deletes the key and the set entry at once: the node's sessions can be claimed without
//     waiting for the TTL after a graceful shutdown.
import type { Redis } from 'ioredis';
import type { NodeRegistry } from '../types.js';
import { defineScript, retrying, type ScriptCall, type StoreLogger } from './connection.js';
import { NODES_KEY, nodeKey } from './keys.js';
import { DEFAULTS } from '../../defaults.js';

export const DEFAULT_HEARTBEAT_MS = DEFAULTS.NODE_HEARTBEAT_MS;
export const DEFAULT_NODE_TTL_MS = DEFAULTS.NODE_TTL_MS;

// KEYS[1] liveness key, KEYS[2] nodes set; ARGV[1] node id, ARGV[2] ttl ms.
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[1], now, 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
return now`;

// KEYS[1] nodes set; ARGV[1] ttl ms. The nodes that heartbeat within the ttl.
const ALIVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[1])))
return redis.call('ZRANGE', KEYS[1], 0, -1)`;

export interface RedisNodeRegistryOptions {
  id: string;
  redis: Redis;
  /** How often this node renews its liveness key (default 1 s). */
  heartbeatMs?: number;
  /** How long the key lives without a renewal: a node is dead this long after its last beat (default 3 s). */
  nodeTtlMs?: number;
  logger?: StoreLogger;
}

export class RedisNodeRegistry implements NodeRegistry {
  readonly id: string;
  readonly heartbeatMs: number;
  readonly nodeTtlMs: number;
  private readonly redis: Redis;
  private readonly logger: StoreLogger | undefined;
  private readonly heartbeatScript: ScriptCall;
  private readonly aliveScript: ScriptCall;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: RedisNodeRegistryOptions) {
    this.id = options.id;
    this.redis = options.redis;
    this.logger = options.logger;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.nodeTtlMs = options.nodeTtlMs ?? DEFAULT_NODE_TTL_MS;
    if (this.nodeTtlMs <= this.heartbeatMs) throw new Error(`nodeTtlMs (${this.nodeTtlMs}) must be longer than heartbeatMs (${this.heartbeatMs})`);
    this.heartbeatScript = defineScript(this.redis, 'rmcpNodeHeartbeat', 2, HEARTBEAT);
    this.aliveScript = defineScript(this.redis, 'rmcpNodeAlive', 1, ALIVE);
  }

  /** Beats once (resolves when this node is alive for everyone), then every heartbeatMs. */
  async start(): Promise<void> {
    await this.beat();
    this.schedule();
  }

  async isAlive(node: string): Promise<boolean> {
    return (await retrying(this.redis, () => this.redis.exists(nodeKey(node)))) === 1;
  }

  async alive(): Promise<string[]> {
    return (await retrying(this.redis, () => this.aliveScript([NODES_KEY], [this.nodeTtlMs]))) as string[];
  }

  /** Stop beating without saying goodbye: the node looks dead once its key expires (a crash, for tests). */
  stopHeartbeat(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Stop beating and leave at once (graceful shutdown). */
  async close(): Promise<void> {
    this.stopHeartbeat();
    if (this.redis.status !== 'ready') return; // nothing to wait for: the key expires by itself
    await Promise.all([this.redis.del(nodeKey(this.id)), this.redis.zrem(NODES_KEY, this.id)]).catch((err) =>
      this.logger?.warn({ err }, 'could not remove this node from Redis; it expires by itself'),
    );
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.beat().then(
        () => this.schedule(),
        (err) => {
          this.logger?.warn({ err, node: this.id }, 'heartbeat failed');
          this.schedule();
        },
      );
    }, this.heartbeatMs).unref();
  }

  private async beat(): Promise<void> {
    await this.heartbeatScript([nodeKey(this.id), NODES_KEY], [this.id, this.nodeTtlMs]);
  }
}
