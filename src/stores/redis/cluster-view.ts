// Every node's live snapshot in one Redis hash, for cluster-wide stats and operations.
//
// Shape, and why:
//   - a hash rmcp:cluster, field = node id, value = the node's newest snapshot as JSON: `read` is one
//     HGETALL, and a node replaces only its own field.
//   - `publish` is called whenever the node's state changes (often); it keeps the newest snapshot and
//     writes at most every 250 ms (the live-resource tick): the newest wins, nothing queues up.
//     While Redis is away nothing is written; the next publish after it is back writes the newest.
//   - `read` keeps the snapshots of live nodes only (NodeRegistry.alive) and removes the fields of dead
//     ones, so a crashed node disappears from the view within its liveness TTL. This node's own
//     newest snapshot is used even if it is not written yet (what a node just published, it reads).
import type { Redis } from 'ioredis';
import type { ClusterView, NodeRegistry, NodeSnapshot } from '../types.js';
import { retrying, type StoreLogger } from './connection.js';
import { CLUSTER_KEY } from './keys.js';
import { DEFAULTS } from '../../defaults.js';

/** The live tick: a node's snapshot changes no faster than the live resources read it. */
export const DEFAULT_CLUSTER_PUBLISH_MS = DEFAULTS.LIVE_TICK_MS;

export interface RedisClusterViewOptions {
  nodeId: string;
  redis: Redis;
  nodes: NodeRegistry;
  /** Shortest interval between two writes of this node's snapshot (default 250 ms). */
  publishIntervalMs?: number;
  logger?: StoreLogger;
}

export class RedisClusterView implements ClusterView {
  private readonly nodeId: string;
  private readonly redis: Redis;
  private readonly nodes: NodeRegistry;
  private readonly intervalMs: number;
  private readonly logger: StoreLogger | undefined;
  private latest: NodeSnapshot | undefined;
  private latestText: string | undefined;
  private lastWrite = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: RedisClusterViewOptions) {
    this.nodeId = options.nodeId;
    this.redis = options.redis;
    this.nodes = options.nodes;
    this.intervalMs = options.publishIntervalMs ?? DEFAULT_CLUSTER_PUBLISH_MS;
    this.logger = options.logger;
  }

  publish(snapshot: NodeSnapshot): void {
    if (this.closed) return;
    this.latest = snapshot;
    this.latestText = undefined;
    if (this.timer !== undefined) return; // the pending write takes the newest
    const wait = this.lastWrite + this.intervalMs - Date.now();
    if (wait <= 0) this.write();
    else this.timer = setTimeout(() => this.write(), wait).unref();
  }

  async read(): Promise<NodeSnapshot[]> {
    const [fields, alive] = await Promise.all([retrying(this.redis, () => this.redis.hgetall(CLUSTER_KEY)), this.nodes.alive()]);
    const live = new Set(alive);
    const snapshots: NodeSnapshot[] = [];
    const dead: string[] = [];
    for (const [node, text] of Object.entries(fields)) {
      if (node === this.nodeId) continue;
      if (!live.has(node)) {
        dead.push(node);
        continue;
      }
      try {
        snapshots.push(JSON.parse(text) as NodeSnapshot);
      } catch {
        dead.push(node);
      }
    }
    if (this.latest !== undefined) snapshots.push(JSON.parse(this.text()) as NodeSnapshot);
    else if (fields[this.nodeId] !== undefined) snapshots.push(JSON.parse(fields[this.nodeId]!) as NodeSnapshot);
    if (dead.length > 0) this.redis.hdel(CLUSTER_KEY, ...dead).catch(() => {});
    return snapshots.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  /** Stop writing and remove this node's snapshot. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.redis.status !== 'ready') return;
    await this.redis.hdel(CLUSTER_KEY, this.nodeId).catch((err) => this.logger?.warn({ err }, 'could not remove this node from the cluster view'));
  }

  private text(): string {
    return (this.latestText ??= JSON.stringify(this.latest));
  }

  private write(): void {
    this.timer = undefined;
    if (this.closed || this.latest === undefined) return;
    this.lastWrite = Date.now();
    if (this.redis.status !== 'ready') return; // the next publish after the reconnect writes the newest
    this.redis.hset(CLUSTER_KEY, this.nodeId, this.text()).catch((err: unknown) => this.logger?.warn({ err }, 'could not publish this node\'s snapshot'));
  }
}
