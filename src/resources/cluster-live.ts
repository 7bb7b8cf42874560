// The live resources for a cluster (STORE=redis): each node publishes its snapshot (its own sessions
// and calls) to the ClusterView on every live tick where something changed; `realtime://server/stats`
// and `realtime://operations` read every live node's snapshot, so any node shows the whole cluster,
// with the node of each session count and call. Subscribers are told when their view of the cluster
// changed, as on one node.
import type { ClusterView, NodeSnapshot } from '../stores/types.js';
import { ALL_OPERATIONS, type OperationView } from './operation-tracker.js';
import type { ServerStats } from './server-stats.js';

/** An operation as published: its view, the node it runs on, and whose it is (for the per-principal filter). */
interface PublishedOperation extends OperationView {
  node: string;
  viewerKey: string;
}

/** What one node publishes besides its operations. */
type NodeStats = ServerStats & { node: string };

/** Republish an unchanged snapshot this often, so readers can tell a live node from a stale entry. */
const REPUBLISH_MS = 2_000;

export class ClusterLive {
  private lastPublished = '';
  private lastPublishedAt = 0;

  constructor(readonly node: string, private readonly view: ClusterView) {}

  /** Publish this node's state if it changed (or is getting old). */
  publish(stats: ServerStats, operations: Array<{ key: string; view: OperationView }>): void {
    const ops: PublishedOperation[] = operations.map(({ key, view }) => ({ ...view, node: this.node, viewerKey: key }));
    const fingerprint = `${statsKey(stats)}|${ops.map((o) => `${o.requestId}:${o.state}:${o.progress}`).join(',')}`;
    const now = Date.now();
    if (fingerprint === this.lastPublished && now - this.lastPublishedAt < REPUBLISH_MS) return;
    this.lastPublished = fingerprint;
    this.lastPublishedAt = now;
    const snapshot: NodeSnapshot = { node: this.node, at: now, stats: { ...stats, node: this.node }, operations: ops };
    this.view.publish(snapshot);
  }

  /** Sessions and calls of the whole cluster, with a row per node. */
  async stats(local: ServerStats): Promise<ServerStats & { node: string; nodes: NodeStats[] }> {
    const nodes = (await this.snapshots()).map((s) => s.stats as NodeStats);
    if (!nodes.some((n) => n.node === this.node)) nodes.push({ ...local, node: this.node });
    const total = { ...local, node: this.node, nodes: nodes.sort((a, b) => a.node.localeCompare(b.node)) };
    const sessions = { ...local.sessions };
    const calls = { ...local.calls };
    for (const key of Object.keys(sessions) as Array<keyof typeof sessions>) sessions[key] = 0;
    for (const key of Object.keys(calls) as Array<keyof typeof calls>) calls[key] = 0;
    for (const n of nodes) {
      for (const key of Object.keys(sessions) as Array<keyof typeof sessions>) sessions[key] += n.sessions[key] ?? 0;
      for (const key of Object.keys(calls) as Array<keyof typeof calls>) calls[key] += n.calls[key] ?? 0;
    }
    return { ...total, sessions, calls };
  }

  /** The calls a viewer may see, on every node: running first, then the most recent. */
  async operations(viewer: string): Promise<Array<OperationView & { node: string }>> {
    const out: Array<OperationView & { node: string }> = [];
    for (const snapshot of await this.snapshots()) {
      for (const op of snapshot.operations as PublishedOperation[]) {
        if (viewer !== ALL_OPERATIONS && op.viewerKey !== viewer) continue;
        const { viewerKey: _key, ...view } = op;
        out.push(view);
      }
    }
    const rank = (o: OperationView) => (o.state === 'running' ? 0 : o.state === 'queued' ? 1 : 2);
    return out.sort((a, b) => rank(a) - rank(b) || (b.endedAt ?? b.startedAt).localeCompare(a.endedAt ?? a.startedAt));
  }

  /** What a subscriber is told about: changes when sessions, calls or progress change anywhere. */
  async fingerprints(viewers: Set<string>): Promise<{ stats: string; operations: Map<string, string> }> {
    const snapshots = await this.snapshots();
    const stats = snapshots.map((s) => `${s.node}:${statsKey(s.stats as ServerStats)}`).sort().join('|');
    const operations = new Map<string, string>();
    for (const viewer of viewers) {
      const parts: string[] = [];
      for (const s of snapshots) {
        for (const op of s.operations as PublishedOperation[]) {
          if (viewer === ALL_OPERATIONS || op.viewerKey === viewer) parts.push(`${op.node}/${op.requestId}:${op.state}:${op.progress}`);
        }
      }
      operations.set(viewer, parts.sort().join(','));
    }
    return { stats, operations };
  }

  private snapshots(): Promise<NodeSnapshot[]> {
    return this.view.read();
  }
}

function statsKey(stats: ServerStats): string {
  const { sessions: s, calls: c } = stats;
  return `${s.ws}/${s.sse}/${s.streamable}/${s.stdio}/${s.detached}|${c.running}/${c.queued}`;
}
