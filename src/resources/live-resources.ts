// Live data as MCP resources (issue 6 item 7): `realtime://operations` (calls in flight and recently
// finished) and `realtime://server/stats` (sessions per transport, calls running/queued, uptime, RSS).
// `resources/read` returns the current state as JSON; subscribers get `notifications/resources/updated`
// when what they would read changes, at most once per tick (250 ms, so ≤ 4/s per resource).
//
// One unref'd timer drives the updates. It runs only while something can change: calls are in flight
// (a starting call wakes it through the runner's onCallAdmitted hook), or someone subscribes to the
// stats (sessions come and go without an event to hook, so they are counted on the tick).
//
// Who sees what: a principal sees the calls of its own sessions; one with the `admin` scope sees all.
// Without auth every session is the anonymous principal, so everyone sees everything. A subscriber is
// notified only when its own view changed, so another principal's activity leaks not even as timing.
import type { Dispatcher } from '../protocol/dispatcher.js';
import type { OperationRunner } from '../operations/runner.js';
import type { SessionManager } from '../sessions/session-manager.js';
import type { Session } from '../sessions/session.js';
import type { Principal } from '../sessions/principal.js';
import { ADMIN_SCOPE } from '../auth/tool-scopes.js';
import { notificationMessage } from '../outbox/messages.js';
import type { ResourceRegistry } from './registry.js';
import { ALL_OPERATIONS, OperationTracker, viewerKeyOf } from './operation-tracker.js';
import { collectServerStats, statsFingerprint } from './server-stats.js';
import type { ClusterLive } from './cluster-live.js';
import { DEFAULTS } from '../defaults.js';

export const OPERATIONS_URI = 'realtime://operations';
export const STATS_URI = 'realtime://server/stats';
/** Throttle of `notifications/resources/updated`: one check per tick, so at most 4 per second. */
export const LIVE_TICK_MS = DEFAULTS.LIVE_TICK_MS;

export interface LiveResourcesSources {
  sessions: SessionManager;
  runner: OperationRunner;
  resources: ResourceRegistry;
  dispatcher: Dispatcher;
}

export interface LiveResourcesOptions {
  /** Finished calls kept in `realtime://operations` (default 50). */
  recentOperations?: number;
  /** Date.now() when the server started (default: now). */
  startedAtMs?: number;
}

export class LiveResources {
  readonly tracker: OperationTracker;
  readonly startedAtMs: number;
  private readonly sources: LiveResourcesSources;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The operations fingerprint each subscriber was last told about. */
  private readonly told = new WeakMap<Session, string>();
  private lastStats = '';
  /** Sessions that just started a call, to adopt it right after the runner admitted it. */
  private readonly starting = new Set<Session>();
  /** With several nodes: the whole cluster's view (undefined on one node). */
  private cluster: ClusterLive | undefined;
  private clusterTold = '';
  private clusterTick: Promise<void> | undefined;

  constructor(sources: LiveResourcesSources, options: LiveResourcesOptions = {}) {
    this.sources = sources;
    this.startedAtMs = options.startedAtMs ?? Date.now();
    this.tracker = new OperationTracker(sources.runner, { recentLimit: options.recentOperations });
  }

  /** Register both resources and the hook that notices starting calls. */
  install(): this {
    const { resources } = this.sources;
    resources.add({
      uri: OPERATIONS_URI,
      name: 'operations',
      title: 'Tool calls',
      description: `Tool calls in flight and the last ${this.tracker.recentLimit} finished: tool, session, state, progress, rate, ETA. Your own sessions' calls; every call with the admin scope.`,
      mimeType: 'application/json',
      read: (_uri, session) => (this.cluster ? this.readClusterOperations(session) : this.readOperations(session)),
      onSubscribe: (session) => {
        this.refresh();
        this.told.set(session, this.tracker.fingerprint(viewerOf(session.principal)));
      },
    });
    resources.add({
      uri: STATS_URI,
      name: 'server-stats',
      title: 'Server stats',
      description: 'Sessions per transport, calls running and queued, uptime and memory of this server process.',
      mimeType: 'application/json',
      read: async () => JSON.stringify(this.cluster ? await this.cluster.stats(this.stats()) : this.stats()),
      onSubscribe: () => {
        if (this.timer === undefined) this.lastStats = statsFingerprint(this.stats());
        this.ensureTicking();
      },
    });
    this.sources.runner.hooks.add('onCallAdmitted', (op) => this.callStarting(op.session));
    return this;
  }

  stats(): ReturnType<typeof collectServerStats> {
    const { sessions, runner } = this.sources;
    return collectServerStats({ sessions, runner, startedAtMs: this.startedAtMs });
  }

  /** Show the whole cluster (several nodes): publish this node's snapshot, read everyone's. */
  useCluster(cluster: ClusterLive): void {
    this.cluster = cluster;
    this.ensureTicking(); // other nodes' changes wake nothing here: keep ticking while anyone could care
  }

  /** True while the update timer runs (it stops once nothing can change). */
  get ticking(): boolean {
    return this.timer !== undefined;
  }

  /** Stop the timer (server shutdown). */
  close(): void {
    this.closed = true;
    this.stopTicking();
  }

  private readOperations(session: Session): string {
    this.refresh();
    const viewer = viewerOf(session.principal);
    return JSON.stringify({ scope: viewer === ALL_OPERATIONS ? 'all' : 'own', operations: this.tracker.view(viewer) });
  }

  /**
   * Adopt the call in a microtask, after the runner finished admitting it, so that even a call shorter
   * than a tick is listed. A synchronous tool (echo) is done by then and is not listed.
   */
  private callStarting(session: Session): void {
    if (this.starting.size === 0) queueMicrotask(this.adoptStarting);
    this.starting.add(session);
    this.ensureTicking();
  }

  private readonly adoptStarting = (): void => {
    for (const session of this.starting) for (const op of session.operations.values()) this.tracker.adopt(op);
    this.starting.clear();
  };

  private refresh(): void {
    this.tracker.sync();
    if (this.needsTicking()) this.ensureTicking();
  }

  private readonly tick = (): void => {
    this.tracker.sync();
    if (this.cluster !== undefined) {
      this.cluster.publish(this.stats(), this.tracker.keyed());
      this.clusterTick ??= this.notifyCluster().finally(() => (this.clusterTick = undefined));
      return;
    }
    this.notifyOperations();
    this.notifyStats();
    if (!this.needsTicking()) this.stopTicking();
  };

  private async readClusterOperations(session: Session): Promise<string> {
    this.refresh();
    const viewer = viewerOf(session.principal);
    return JSON.stringify({ scope: viewer === ALL_OPERATIONS ? 'all' : 'own', operations: await this.cluster!.operations(viewer) });
  }

  /** Tell subscribers here about changes anywhere in the cluster. */
  private async notifyCluster(): Promise<void> {
    const { resources } = this.sources;
    const opSubscribers = resources.subscribersOf(OPERATIONS_URI);
    const statsSubscribers = resources.subscribersOf(STATS_URI).size;
    if (opSubscribers.size === 0 && statsSubscribers === 0) return;
    const viewers = new Set([...opSubscribers].map((s) => viewerOf(s.principal)));
    let prints;
    try {
      prints = await this.cluster!.fingerprints(viewers);
    } catch {
      return; // the store is unreachable: try again next tick
    }
    if (statsSubscribers > 0 && prints.stats !== this.clusterTold) {
      this.clusterTold = prints.stats;
      resources.notifyUpdated(STATS_URI);
    }
    const message = notificationMessage('notifications/resources/updated', { uri: OPERATIONS_URI });
    for (const session of opSubscribers) {
      if (session.closed) continue;
      const fingerprint = prints.operations.get(viewerOf(session.principal)) ?? '';
      if (this.told.get(session) === fingerprint) continue;
      this.told.set(session, fingerprint);
      session.send(message);
    }
  }

  private notifyOperations(): void {
    const subscribers = this.sources.resources.subscribersOf(OPERATIONS_URI);
    if (subscribers.size === 0) return;
    const message = notificationMessage('notifications/resources/updated', { uri: OPERATIONS_URI });
    for (const session of subscribers) {
      if (session.closed) continue;
      const fingerprint = this.tracker.fingerprint(viewerOf(session.principal));
      if (this.told.get(session) === fingerprint) continue;
      this.told.set(session, fingerprint);
      session.send(message);
    }
  }

  private notifyStats(): void {
    if (this.sources.resources.subscribersOf(STATS_URI).size === 0) return;
    const fingerprint = statsFingerprint(this.stats());
    if (fingerprint === this.lastStats) return;
    this.lastStats = fingerprint;
    this.sources.resources.notifyUpdated(STATS_URI);
  }

  private needsTicking(): boolean {
    return this.tracker.activeCount > 0 || this.starting.size > 0 || this.sources.resources.subscribersOf(STATS_URI).size > 0;
  }

  private ensureTicking(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setInterval(this.tick, LIVE_TICK_MS);
    this.timer.unref(); // never what keeps the process alive
  }

  private stopTicking(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Whose calls a principal may see: everyone's with the admin scope, else its own. */
function viewerOf(principal: Principal | undefined): string {
  return principal?.scopes.includes(ADMIN_SCOPE) ? ALL_OPERATIONS : viewerKeyOf(principal);
}
